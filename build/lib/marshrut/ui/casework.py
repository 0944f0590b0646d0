"""A case's documents and comments in the pages: upload, download, remove, comment.

The same engine use cases as the API (``engine.documents``, ``engine.comments``); each form
posts here and comes back to the page it was sent from (the case or one of its steps).
"""

from typing import Any

from flask import flash, g, redirect, request, url_for
from sqlalchemy import select

from marshrut.api.deps import operation, request_session
from marshrut.api.documents import attachment, limit_bytes, read_upload, storage
from marshrut.engine import comments, documents, users
from marshrut.engine.access import Actor
from marshrut.engine.errors import EngineError, InvalidInput
from marshrut.engine.models import User
from marshrut.engine.store import UnitOfWork
from marshrut.ui import bp
from marshrut.ui.auth import login_required
from marshrut.ui.cases import error_page


def casework(uow: UnitOfWork, actor: Actor, ctx: Any, instance: Any, task_id: int | None = None) -> dict[str, Any]:
    """What the case and task pages show of documents and comments (the caller has checked the case is visible)."""
    found = documents.listed(uow, actor, instance.id)
    notes = comments.listed(uow, actor, instance.id)
    names = users.names_of(uow, {d.uploaded_by for d in found} | {c.author for c in notes})
    return {
        "documents": [documents.view(d, ctx, names) for d in found],
        "checklist": documents.checklist((instance.data or {}).get("documents"), found),
        "comments": [comments.view(c, ctx, names) for c in notes],
        "may_upload": instance.status == "running" and documents.may_upload(uow, actor, instance),
        "max_document_mb": limit_bytes() // (1024 * 1024), "accepted": documents.ACCEPTED,
        "here_task_id": task_id, "login": actor.login, "running": instance.status == "running",
    }


def _back(instance_id: int) -> Any:
    task_id = request.form.get("task_id", type=int)
    anchor = request.form.get("anchor") or ""
    target = url_for("ui.task", task_id=task_id) if task_id else url_for("ui.case", instance_id=instance_id)
    return redirect(f"{target}#{anchor}" if anchor else target)


@bp.app_template_filter("person")
def person(login: str | None) -> str:
    """A user's name for a login (pages show people by name); the login when no such user."""
    if not login:
        return "—"
    known = g.setdefault("person_names", {})
    if login not in known:
        name = request_session().scalar(select(User.name).where(User.login == login))
        known[login] = name or login
    return known[login]


@bp.route("/cases/<int:instance_id>/documents", methods=["POST"])
@login_required()
def upload_document(instance_id: int, actor: Actor):
    """Додати документ до справи"""
    try:
        sent = read_upload()
        with operation() as (uow, ctx):
            document = documents.upload(uow, actor, ctx, storage(), instance_id, sent, limit_bytes())
            uow.commit()
            flash(f"Документ «{document.name}» додано", "success")
    except InvalidInput as error:
        flash(f"{error.message}: {'; '.join(e.message for e in error.errors)}", "error")
    except EngineError as error:
        if error.code in ("not_found", "forbidden"):
            return error_page(error)
        flash(error.message, "error")
    return _back(instance_id)


@bp.route("/documents/<int:document_id>")
@login_required()
def download_document(document_id: int, actor: Actor):
    """Завантажити документ (кожне завантаження — у журналі)"""
    with operation() as (uow, ctx):
        try:
            document, content = documents.download(uow, actor, ctx, storage(), document_id)
        except EngineError as error:
            return error_page(error)
        uow.commit()
        return attachment(document, content)


@bp.route("/documents/<int:document_id>/remove", methods=["POST"])
@login_required()
def remove_document(document_id: int, actor: Actor):
    """Вилучити документ зі списку справи"""
    with operation() as (uow, ctx):
        try:
            instance_id = documents.remove(uow, actor, ctx, document_id)
            uow.commit()
        except EngineError as error:
            return error_page(error)
    flash("Документ вилучено зі списку справи (його збережено для журналу)", "success")
    return _back(instance_id)


@bp.route("/cases/<int:instance_id>/comments", methods=["POST"])
@login_required()
def add_comment(instance_id: int, actor: Actor):
    """Додати коментар до справи або кроку"""
    with operation() as (uow, ctx):
        try:
            comments.add(uow, actor, ctx, instance_id, request.form.get("text", ""), request.form.get("task_id", type=int))
            uow.commit()
            flash("Коментар додано", "success")
        except InvalidInput as error:
            flash(f"{error.message}: {'; '.join(e.message for e in error.errors)}", "error")
        except EngineError as error:
            return error_page(error)
    return _back(instance_id)
