"""Managers' actions in the pages: cancel a case with a reason, give a held step to someone else,
and everyone's notifications inbox (its unread count is in the header)."""

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from marshrut.api.deps import operation, operation_attempts, request_session
from marshrut.engine import alerts, assignments, cases
from marshrut.engine.access import Actor
from marshrut.engine.errors import EngineError, InvalidInput
from marshrut.engine.models import Notification
from marshrut.ui import bp
from marshrut.ui.auth import current_user, login_required
from marshrut.ui.cases import error_page


@bp.route("/cases/<int:instance_id>/cancel", methods=["POST"])
@login_required("manager", "admin")
def cancel_case(instance_id: int, actor: Actor):
    """Скасувати справу з причиною"""
    reason = (request.form.get("reason") or "").strip()[:2000]
    try:
        for attempt in operation_attempts():
            with attempt as (uow, ctx):
                cases.cancel_case(uow, actor, ctx, instance_id, reason)
                uow.commit()
                break
        flash("Справу скасовано", "success")
    except InvalidInput as error:
        flash(f"{error.message}", "error")
    except EngineError as error:
        return error_page(error)
    return redirect(url_for("ui.case", instance_id=instance_id))


@bp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@login_required("manager", "admin")
def reassign_task(task_id: int, actor: Actor):
    """Передати завдання іншому працівнику або повернути в чергу ролі"""
    to_login = request.form.get("assignee") or None
    with operation() as (uow, ctx):
        try:
            task = assignments.reassign(uow, actor, ctx, task_id, to_login)
            uow.commit()
        except InvalidInput as error:
            flash("; ".join(e.message for e in error.errors) or error.message, "error")
            return redirect(url_for("ui.task", task_id=task_id))
        except EngineError as error:
            return error_page(error)
    flash("Завдання передано" if task.assignee else "Завдання повернуто в чергу ролі", "success")
    return redirect(url_for("ui.task", task_id=task_id))


def reassign_choices(uow: Any, actor: Actor, task: dict[str, Any]) -> list[tuple[str, str]]:
    """Whom a manager may give this step to (people of its role), or nothing for others."""
    if not actor.has("manager", "admin") or task["state"] != "ready":
        return []
    return [(u.login, u.name) for u in assignments.candidates(uow, task["role"])]


@bp.route("/notifications")
@login_required()
def notifications(actor: Actor):
    """Сповіщення"""
    with operation() as (uow, ctx):
        items = alerts.notifications_of(uow, actor.login)
        rows = [{"id": n.id, "subject": n.subject, "body": n.body, "instance_id": n.instance_id, "task_id": n.task_id or None,
                 "created_at": n.created_at.astimezone(ctx.calendar.tz), "read": n.read_at is not None} for n in items]
    return render_template("notifications.html", items=rows)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required()
def read_notification(notification_id: int, actor: Actor):
    """Позначити сповіщення прочитаним"""
    with operation() as (uow, ctx):
        try:
            alerts.mark_read(uow, actor.login, notification_id, ctx.now())
            uow.commit()
        except EngineError as error:
            return error_page(error)
    return redirect(url_for("ui.notifications"))


def unread_count() -> dict[str, Any]:
    """``unread_notifications`` for the header of every page (one count per page, for the signed-in user)."""
    actor = current_user()
    if actor is None:
        return {"unread_notifications": 0}
    if "unread_notifications" not in g:
        query = select(func.count()).select_from(Notification).where(Notification.recipient == actor.login,
                                                                      Notification.read_at.is_(None))
        g.unread_notifications = request_session().scalar(query) or 0
    return {"unread_notifications": g.unread_notifications}
