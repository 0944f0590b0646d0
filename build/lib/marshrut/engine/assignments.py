"""Managers' hand in who works on a step: give a held step to another person of its role, or back to the queue."""

from sqlalchemy import select

from marshrut.engine import audit
from marshrut.engine.access import Actor
from marshrut.engine.cases import READY, _task_for_update
from marshrut.engine.context import Context
from marshrut.engine.errors import Conflict, FieldError, Forbidden, InvalidInput
from marshrut.engine.models import Task, User
from marshrut.engine.store import UnitOfWork


def candidates(uow: UnitOfWork, role: str) -> list[User]:
    """The people who hold ``role`` (to whom its step may be given), by name."""
    people = uow.session.scalars(select(User).order_by(User.name))
    return [u for u in people if role in (u.roles or [])]


def reassign(uow: UnitOfWork, actor: Actor, ctx: Context, task_id: int, to_login: str | None) -> Task:
    """Give a ready step to ``to_login`` (a person of its role), or back to the role's queue (None).

    :raise Forbidden: not a manager or an admin. :raise Conflict: the step is no longer ready.
    :raise InvalidInput: no such person, or not of the step's role.
    """
    if not actor.has("manager", "admin"):
        raise Forbidden("Передати завдання іншому виконавцю може лише керівництво або адміністратор")
    task = _task_for_update(uow, actor, task_id)
    if task.state != READY:
        raise Conflict("Завдання вже не очікує виконання")
    if to_login is not None and to_login not in {u.login for u in candidates(uow, task.role)}:
        raise InvalidInput("Неправильний виконавець", [FieldError("/assignee", f"Оберіть працівника з роллю {task.role}")])
    if task.assignee != to_login:
        audit.record(uow, "task_reassigned", actor.login, ctx.now(), task.instance_id, task.id,
                     {"element_id": task.element_id, "from": task.assignee, "to": to_login})
        task.assignee = to_login
    return task
