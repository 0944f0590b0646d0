"""Comments on a case or one of its steps, by everyone who may see the case (participants included)."""

from typing import Any

from sqlalchemy import select

from marshrut.engine import audit, queries
from marshrut.engine.access import Actor
from marshrut.engine.context import Context
from marshrut.engine.errors import FieldError, Forbidden, InvalidInput
from marshrut.engine.models import Comment, Instance, Task
from marshrut.engine.store import UnitOfWork

MAX_LENGTH = 4000


def _visible_case(uow: UnitOfWork, actor: Actor, instance_id: int) -> Instance:
    instance = queries.get_instance(uow, actor, instance_id)
    if not queries.can_see(uow, actor, instance):
        raise Forbidden("Коментарі справи доступні лише ролям, залученим до неї, та керівництву")
    return instance


def add(uow: UnitOfWork, actor: Actor, ctx: Context, instance_id: int, text: Any, task_id: int | None = None) -> Comment:
    """Add a comment to a case (or to its step ``task_id``).

    :raise NotFound: no such case. :raise Forbidden: the actor may not see the case.
    :raise InvalidInput: empty or too long text, text with control characters, a step of another case.
    """
    instance = _visible_case(uow, actor, instance_id)
    errors = []
    if not isinstance(text, str) or not text.strip():
        errors.append(FieldError("/text", "Напишіть текст коментаря"))
    elif len(text) > MAX_LENGTH:
        errors.append(FieldError("/text", f"Коментар — не довше {MAX_LENGTH} знаків"))
    elif any((ord(c) < 32 and c not in "\n\r\t") or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        errors.append(FieldError("/text", "Коментар містить недопустимі символи"))
    if task_id is not None:
        task = uow.session.get(Task, task_id)
        if task is None or task.instance_id != instance.id:
            errors.append(FieldError("/task_id", "Такого кроку в цій справі немає"))
    if errors:
        raise InvalidInput("Коментар не додано", errors)
    comment = Comment(instance_id=instance.id, task_id=task_id, author=actor.login, text=text, created_at=ctx.now())
    uow.session.add(comment)
    uow.flush()
    audit.record(uow, "comment_added", actor.login, comment.created_at, instance.id, task_id, {"comment_id": comment.id})
    return comment


def listed(uow: UnitOfWork, actor: Actor, instance_id: int, task_id: int | None = None) -> list[Comment]:
    """The case's comments (or one step's), oldest first."""
    _visible_case(uow, actor, instance_id)
    query = select(Comment).where(Comment.instance_id == instance_id)
    if task_id is not None:
        query = query.where(Comment.task_id == task_id)
    return list(uow.session.scalars(query.order_by(Comment.id)))


def view(comment: Comment, ctx: Context, names: dict[str, str] | None = None) -> dict[str, Any]:
    return {"id": comment.id, "author": comment.author, "author_name": (names or {}).get(comment.author),
            "text": comment.text, "task_id": comment.task_id,
            "created_at": comment.created_at.astimezone(ctx.calendar.tz).isoformat()}
