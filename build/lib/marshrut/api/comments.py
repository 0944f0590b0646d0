"""Comments on a case or a step (SPEC §6.1), for every role that may see the case, participants included."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from marshrut.api.auth import require
from marshrut.api.deps import operation
from marshrut.api.schemas import MAX_INT
from marshrut.engine import comments, users
from marshrut.engine.access import Actor

bp = Blueprint("comments", __name__, description="Коментарі справи")


class NewCommentSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=comments.MAX_LENGTH))
    task_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_INT))


class CommentSchema(Schema):
    id = fields.Integer()
    author = fields.String()
    author_name = fields.String(allow_none=True)
    text = fields.String()
    task_id = fields.Integer(allow_none=True)
    created_at = fields.String()


class CommentArgs(Schema):
    task_id = fields.Integer(validate=validate.Range(min=1, max=MAX_INT))


class CommentListSchema(Schema):
    items = fields.List(fields.Nested(CommentSchema))
    total = fields.Integer()


@bp.route("/process-instances/<int:instance_id>/comments", methods=["POST"])
@require()
@bp.arguments(NewCommentSchema)
@bp.response(201, CommentSchema)
def add(body: dict, instance_id: int, actor: Actor):
    """Comment on the case, or on one of its steps (``task_id``)"""
    with operation() as (uow, ctx):
        comment = comments.add(uow, actor, ctx, instance_id, body["text"], body.get("task_id"))
        uow.commit()
        return comments.view(comment, ctx, users.names_of(uow, {actor.login}))


@bp.route("/process-instances/<int:instance_id>/comments")
@require()
@bp.arguments(CommentArgs, location="query")
@bp.response(200, CommentListSchema)
def index(args: dict, instance_id: int, actor: Actor):
    """The case's comments, oldest first (``task_id``: one step's)"""
    with operation() as (uow, ctx):
        found = comments.listed(uow, actor, instance_id, args.get("task_id"))
        names = users.names_of(uow, {c.author for c in found})
        items = [comments.view(c, ctx, names) for c in found]
    return {"items": items, "total": len(items)}
