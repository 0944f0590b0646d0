"""Completing many steps together (SPEC §6.1 ``complete-batch``): the commission's and the
committee's work on all the cases ready for one meeting.

Each step is completed by :func:`engine.cases.complete_task` in a unit of work of its own,
run again like a single completion when another user changed its case meanwhile
(:func:`engine.operation.attempts`): one step's failure neither stops nor undoes the others,
and a race with a single completion of the same step ends as two single completions would
(one wins, the other is told the step is done). Every audit event of the batch carries its
``batch_id``.
"""

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from marshrut.engine import audit, cases
from marshrut.engine.access import Actor, may_view_task
from marshrut.engine.config import Settings
from marshrut.engine.errors import EngineError, FieldError, InvalidInput
from marshrut.engine.models import Task
from marshrut.engine.operation import attempts, operation
from marshrut.engine.store import Database

log = logging.getLogger(__name__)

#: The most steps one batch may name (a meeting's cases are tens, not thousands).
MAX_TASKS = 500
#: The largest id an id column holds (PostgreSQL's int4): larger ones are bad input, not a database error.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Outcome:
    """What became of one step of a batch.

    :param error: why it was not completed (``None``: completed).
    :param unexpected: it failed for a reason nobody foresaw (logged; the others went on).
    :param instance_id: its case, when the actor may see the step.
    """

    task_id: int
    instance_id: int | None
    error: EngineError | None = None
    unexpected: bool = False

    @property
    def completed(self) -> bool:
        return self.error is None and not self.unexpected


@dataclass(frozen=True)
class Batch:
    batch_id: str
    outcomes: list[Outcome]


def check_request(task_ids: list[int], data: dict[str, Any], per_task: dict[str, Any]) -> None:
    """The shape of a batch: 1…:data:`MAX_TASKS` distinct ids, ``per_task`` only for those ids.

    :raise InvalidInput: with the paths of what is wrong; nothing is completed then.
    """
    errors = []
    if not task_ids:
        errors.append(FieldError("/task_ids", "Вкажіть щонайменше одне завдання"))
    if len(task_ids) > MAX_TASKS:
        errors.append(FieldError("/task_ids", f"Не більше {MAX_TASKS} завдань за один раз"))
    if any(not 0 < t <= MAX_ID for t in task_ids):
        errors.append(FieldError("/task_ids", "Ідентифікатор завдання — ціле число від 1 до 2147483647"))
    if len(set(task_ids)) != len(task_ids):
        errors.append(FieldError("/task_ids", "Кожне завдання можна вказати лише один раз"))
    if not isinstance(data, dict):
        errors.append(FieldError("/data", "Має бути об'єкт"))
    named = {str(t) for t in task_ids}
    for key, entry in per_task.items():
        if key not in named:
            errors.append(FieldError(f"/per_task/{key}", "Це завдання не входить до task_ids"))
        elif not isinstance(entry, dict):
            errors.append(FieldError(f"/per_task/{key}", "Має бути об'єкт"))
    if errors:
        raise InvalidInput("Пакет завдань не пройшов перевірку", errors)


def complete_batch(
    db: Database, settings: Settings, actor: Actor, task_ids: list[int], data: dict[str, Any],
    per_task: dict[str, Any] | None = None, session: Session | None = None,
) -> Batch:
    """Complete each step with ``data`` merged with its ``per_task`` entry, each in its own unit of work.

    ``session``: the caller's session to run the units of work on (a web request's); each
    one is committed before the next step starts.

    :raise InvalidInput: the request's shape is wrong (:func:`check_request`); nothing done.
    """
    per_task = per_task or {}
    check_request(task_ids, data, per_task)
    batch_id = uuid.uuid4().hex
    cases_of = _cases_of(db, settings, actor, task_ids, session)
    outcomes = []
    for task_id in task_ids:
        merged = {**data, **per_task.get(str(task_id), {})}
        try:
            for attempt in attempts(db, settings, session):
                with attempt as (uow, ctx), audit.batch(uow, batch_id):
                    cases.complete_task(uow, actor, ctx, task_id, merged)
                    uow.commit()
        except EngineError as error:
            outcomes.append(Outcome(task_id, cases_of.get(task_id), error))
        except Exception:  # one step's surprise must not cost the others their answer
            log.exception("batch %s: completing task %s failed", batch_id, task_id)
            outcomes.append(Outcome(task_id, cases_of.get(task_id), unexpected=True))
        else:
            outcomes.append(Outcome(task_id, cases_of.get(task_id)))
    return Batch(batch_id, outcomes)


def _cases_of(db: Database, settings: Settings, actor: Actor, task_ids: list[int], session: Session | None) -> dict[int, int]:
    """The case of each named step the actor may see (one read, before any change)."""
    query = select(Task.id, Task.instance_id, Task.role, Task.participants).where(Task.id.in_(task_ids))
    with operation(db, settings, session) as (uow, _ctx):
        rows = uow.session.execute(query).all()
        uow.commit()
    return {row.id: row.instance_id for row in rows if may_view_task(actor, row.role, row.participants)}
