"""A user's notifications about breaches."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from marshrut.api.auth import require
from marshrut.api.deps import operation
from marshrut.engine import alerts
from marshrut.engine.access import Actor
from marshrut.engine.models import Notification

bp = Blueprint("notifications", __name__, description="Сповіщення")


class NotificationSchema(Schema):
    id = fields.Integer()
    breach = fields.String()
    instance_id = fields.Integer()
    task_id = fields.Integer(allow_none=True)
    subject = fields.String()
    body = fields.String()
    created_at = fields.String()
    read_at = fields.String(allow_none=True)
    emailed_at = fields.String(allow_none=True)


class NotificationArgs(Schema):
    unread = fields.Boolean(load_default=False)


def _body(item: Notification) -> dict:
    iso = lambda moment: moment.isoformat() if moment else None  # noqa: E731
    return {"id": item.id, "breach": item.breach, "instance_id": item.instance_id, "task_id": item.task_id or None,
            "subject": item.subject, "body": item.body, "created_at": iso(item.created_at),
            "read_at": iso(item.read_at), "emailed_at": iso(item.emailed_at)}


@bp.route("/notifications")
@require()
@bp.arguments(NotificationArgs, location="query")
@bp.response(200, NotificationSchema(many=True))
def index(args: dict, actor: Actor):
    """My notifications, newest first (?unread=true for the unread ones)"""
    with operation() as (uow, _ctx):
        return [_body(n) for n in alerts.notifications_of(uow, actor.login, args["unread"])]


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@require()
@bp.response(200, NotificationSchema)
def read(notification_id: int, actor: Actor):
    """Mark a notification read"""
    with operation() as (uow, ctx):
        item = alerts.mark_read(uow, actor.login, notification_id, ctx.now())
        uow.commit()
        return _body(item)
