"""Use cases on cases (process instances): register, complete a step, claim, cancel.

Each takes a unit of work, the acting user and a context, changes rows and the workflow
state together, writes the audit log, and leaves the commit to the caller.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text

from marshrut.engine import audit, case_sync, definitions, incidents, queries, runtime, search
from marshrut.engine.access import Actor, may_complete, may_view_task
from marshrut.engine.context import Context
from marshrut.engine.deadlines import case_dates
from marshrut.engine.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from marshrut.engine.evaluator import engine_functions, evaluate
from marshrut.engine.forms import validate_form
from marshrut.engine.input_limits import check_moment
from marshrut.engine.models import Definition, Instance, Task, Timer
from marshrut.engine.numbering import next_number, number_prefix
from marshrut.engine.roles import INTAKE_ROLES
from marshrut.engine.store import UnitOfWork

RUNNING, CANCELLED = case_sync.RUNNING, "cancelled"
READY, DONE = case_sync.READY, case_sync.DONE


@dataclass(frozen=True)
class Completed:
    """A completed step and where its case now stands (the rows the use case already holds)."""

    task: Task
    instance: Instance
    open_tasks: list[Task]
    timers: list[Timer]


def start_case(
    uow: UnitOfWork, actor: Actor, ctx: Context, process_key: str, data: dict[str, Any],
    received_at: datetime | None = None,
) -> Instance:
    """Register a case from its start form and run it to the first step.

    :raise Forbidden: the actor may not register cases.
    :raise InvalidInput: the data breaks the start form (field paths in ``errors``).
    """
    if not actor.has(*INTAKE_ROLES):
        raise Forbidden("Реєструвати звернення можуть лише прийом звернень, фахівці департаменту та адміністратор")
    definition = definitions.latest(uow, process_key)
    assert definition is not None
    compiled = definitions.compiled(definition)
    validate_form(compiled.forms.get("start", {}), data)
    now = ctx.now()
    received = check_moment((received_at or now).astimezone(ctx.calendar.tz), "/received_at")
    if received > now:
        raise InvalidInput("Дата надходження не може бути в майбутньому", [FieldError("/received_at", "Дата в майбутньому")])
    props = definition.properties
    crisis_hours = _int(props.get("crisis_hours")) if data.get("crisis") is True else None
    dates = case_dates(ctx.calendar, received, _int(props.get("target_days")), _int(props.get("legal_days")),
                       props.get("calendar") or "calendar", crisis_hours)
    engine_vars = {
        "received_at": received.isoformat(), "received_date": received.date().isoformat(),
        "target_due": dates.target_due.isoformat() if dates.target_due else None,
        "legal_due": dates.legal_due.isoformat() if dates.legal_due else None,
    }
    after_meeting = _int(props.get("committee_after_days"))
    if after_meeting is not None and dates.legal_due is not None:
        endorse_by = ctx.calendar.latest_endorsement_day(dates.legal_due, after_meeting)
        engine_vars["endorse_by"] = endorse_by.isoformat() if endorse_by else None
    year_field = props.get("year_field")
    plan_year = data.get(year_field) if year_field else None
    if isinstance(plan_year, int) and not isinstance(plan_year, bool):
        engine_vars["plan_year"] = plan_year
    workflow, failure = runtime.start(compiled, {**data, **engine_vars}, ctx)
    prefix = number_prefix(process_key, props)
    number = next_number(uow, process_key, prefix, engine_vars.get("plan_year") or received.year)
    if "plan_year" in engine_vars:  # one case per year; the counter row's update above serialises this check
        _refuse_a_second_case_for_the_year(uow, process_key, year_field or "", engine_vars["plan_year"])
    instance = Instance(
        number=number, process_key=process_key,
        definition_id=definition.id, status=RUNNING, received_at=received, target_due=dates.target_due,
        legal_due=dates.legal_due, data={**data, **engine_vars}, state="", created_at=now,
        created_by=actor.login, updated_at=now,
    )
    search.fill(instance)
    uow.session.add(instance)
    uow.flush()
    audit.record(uow, "case_registered", actor.login, now, instance.id, data={"number": instance.number, "data": data})
    case_sync.sync(uow, instance, workflow, compiled, ctx, actor.login, case_sync.CaseRows({}, {}, False))
    incidents.record_failure(uow, instance, failure, now, actor.login)
    return instance


def _refuse_a_second_case_for_the_year(uow: UnitOfWork, process_key: str, field: str, year: int) -> None:
    """:raise Conflict: a case of ``process_key`` for ``year`` exists and was not cancelled (SPEC §3.3)."""
    query = select(Instance.number, Instance.data).where(Instance.process_key == process_key, Instance.status != CANCELLED)
    for number, data in uow.session.execute(query):
        if (data or {}).get("plan_year") == year:
            message = f"План на {year} рік уже зареєстровано ({number}); другий план на той самий рік не допускається"
            raise Conflict(message)


def complete_task(uow: UnitOfWork, actor: Actor, ctx: Context, task_id: int, data: dict[str, Any]) -> Completed:
    """Complete a ready step with its form's data and move the case on.

    On PostgreSQL the step and its case are locked first. SQLite has one write lock for the
    whole database, so there the step is worked out from the rows as read and written only
    at the end; the case's ``lock_version`` then tells whether someone else changed it
    meanwhile (:class:`CaseChanged`, run again via :func:`engine.operation.attempts`).

    :raise NotFound: no such step. :raise Forbidden: the actor may not see it, or see but not complete it.
    :raise Conflict: the step is no longer ready, or another user holds it.
    :raise InvalidInput: the data breaks the form or a rule of the diagram.
    """
    task, instance = _step_and_case(uow, actor, task_id, lock=uow.is_postgres)
    if task.state != READY:
        raise Conflict(f"Завдання вже {'виконано' if task.state == DONE else 'скасовано'}")
    if not may_complete(actor, task.role, task.provider_id):
        raise Forbidden(_not_yours(task))
    if task.assignee and task.assignee != actor.login:
        raise Conflict(f"Завдання взяв у роботу {task.assignee}")
    compiled = definitions.compiled(queries.definition_of(uow, instance))
    validate_form(compiled.forms.get(task.element_id, {}), data)
    _check_rule(compiled.step(task.element_id) or {}, {**instance.data, **(task.inputs or {}), **data}, ctx)
    before = case_sync.read(uow, instance)
    workflow = runtime.load(instance.state, compiled, ctx)
    failure = runtime.complete(workflow, task.spiff_id, data)  # the step is kept even if what follows fails
    now = ctx.now()
    task.state, task.completed_at, task.completed_by, task.data = DONE, now, actor.login, data
    audit.record(uow, "task_completed", actor.login, now, instance.id, task.id,
                 {"element_id": task.element_id, "name": task.name, "data": data})
    open_tasks, timers = case_sync.sync(uow, instance, workflow, compiled, ctx, actor.login, before, completed=task)
    incidents.record_failure(uow, instance, failure, now, actor.login)
    return Completed(task, instance, open_tasks, timers)


def _check_rule(step: dict[str, Any], data: dict[str, Any], ctx: Context) -> None:
    """A step's ``reject_if`` rule (e.g. no refusal on a violence case) stops the completion."""
    rule = step.get("reject_if")
    if not rule:
        return
    try:
        rejected = evaluate(rule, data, engine_functions(ctx.clock, ctx.calendar))
    except NameError:
        rejected = False  # the rule speaks of a field this case does not have
    if rejected:
        message = step.get("reject_message") or f"Правило кроку не дозволяє ці дані: {rule}"
        raise InvalidInput(message, [FieldError("/", message)])


def claim(uow: UnitOfWork, actor: Actor, ctx: Context, task_id: int) -> Task:
    """Take a ready step into one's own work; 409 when someone else holds it."""
    task = _task_for_update(uow, actor, task_id)
    _check_actionable(task, actor)
    if task.assignee and task.assignee != actor.login:
        raise Conflict(f"Завдання вже взяв у роботу {task.assignee}")
    if task.assignee != actor.login:
        task.assignee = actor.login
        audit.record(uow, "task_claimed", actor.login, ctx.now(), task.instance_id, task.id, {"element_id": task.element_id})
    return task


def unclaim(uow: UnitOfWork, actor: Actor, ctx: Context, task_id: int) -> Task:
    """Give a held step back to the role's queue; only its holder (or an admin) may."""
    task = _task_for_update(uow, actor, task_id)
    _check_actionable(task, actor)
    if task.assignee and task.assignee != actor.login and "admin" not in actor.roles:
        raise Conflict(f"Завдання тримає {task.assignee}")
    if task.assignee:
        task.assignee = None
        audit.record(uow, "task_unclaimed", actor.login, ctx.now(), task.instance_id, task.id, {"element_id": task.element_id})
    return task


def _check_actionable(task: Task, actor: Actor) -> None:
    if task.state != READY:
        raise Conflict(f"Завдання вже {'виконано' if task.state == DONE else 'скасовано'}")
    if not may_complete(actor, task.role, task.provider_id):
        raise Forbidden(_not_yours(task))


def _not_yours(task: Task) -> str:
    if task.provider_id:
        return f"Завдання «{task.name}» виконує надавач «{task.provider_id}», визначений рішенням"
    return f"Завдання «{task.name}» виконує роль {task.role}; у вас її немає"


def cancel_case(uow: UnitOfWork, actor: Actor, ctx: Context, instance_id: int, reason: str) -> Instance:
    """Stop a running case with a reason: open steps and timers are withdrawn."""
    if not actor.has("manager", "admin"):
        raise Forbidden("Скасувати справу може лише керівництво або адміністратор")
    if not reason or not reason.strip():
        raise InvalidInput("Вкажіть причину скасування", [FieldError("/reason", "Обов'язкове поле")])
    instance = _instance_for_update(uow, instance_id)
    if instance.status != RUNNING:
        raise Conflict(f"Справа вже має статус {instance.status}")
    definition = queries.definition_of(uow, instance)
    compiled = definitions.compiled(definition)
    before = case_sync.read(uow, instance)
    workflow = runtime.load(instance.state, compiled, ctx)
    workflow.cancel()
    now = ctx.now()
    instance.status, instance.completed_at, instance.updated_at = CANCELLED, now, now
    instance.state = runtime.dump(workflow)
    case_sync.withdraw(list(before.open_tasks.values()), list(before.timers.values()), now)
    incidents.resolve_all(uow, instance.id, now, actor.login)
    audit.record(uow, "case_cancelled", actor.login, now, instance.id, data={"reason": reason.strip()})
    uow.flush()
    return instance


def fire_due_timers(uow: UnitOfWork, ctx: Context, instance_id: int) -> list[str]:
    """Fire the case's timers whose moment has come; returns the fired element ids.

    Automatic work after a fired timer that fails becomes an incident (the timer stays fired).
    """
    instance = _instance_for_update(uow, instance_id)
    if instance.status != RUNNING:
        return []
    definition = queries.definition_of(uow, instance)
    compiled = definitions.compiled(definition)
    rows = case_sync.read(uow, instance)
    workflow = runtime.load(instance.state, compiled, ctx)
    before = {t.spiff_id for t in runtime.waiting_timers(workflow)}
    failure = runtime.fire_timers(workflow)
    after = {t.spiff_id for t in runtime.waiting_timers(workflow)}
    case_sync.sync(uow, instance, workflow, compiled, ctx, None, rows)
    incidents.record_failure(uow, instance, failure, ctx.now())
    return sorted(before - after)


_STEP_AND_CASE = (  # built once: read on every completion
    select(Task, Instance, Definition).join(Instance, Instance.id == Task.instance_id)
    .join(Definition, Definition.id == Instance.definition_id).where(Task.id == bindparam("task_id"))
    .execution_options(populate_existing=True)
)
_STEP_AND_CASE_LOCKED = _STEP_AND_CASE.with_for_update(of=[Task, Instance])


def _step_and_case(uow: UnitOfWork, actor: Actor, task_id: int, lock: bool) -> tuple[Task, Instance]:
    """The step with its case (and the case's version, into the session) in one statement.

    ``lock``: both rows are locked for the change (PostgreSQL), in the order a step alone
    was locked before its case. :raise NotFound: / :raise Forbidden: as :func:`_task_for_update`.
    """
    row = uow.session.execute(_STEP_AND_CASE_LOCKED if lock else _STEP_AND_CASE, {"task_id": task_id}).first()
    if row is None:
        raise NotFound(f"Завдання {task_id} не знайдено")
    if not may_view_task(actor, row.Task.role, row.Task.participants, row.Task.provider_id):
        raise Forbidden(queries.HIDDEN_TASK.format(task_id=task_id))
    queries.hold_definition(uow, row.Definition)
    return row.Task, row.Instance


def _task_for_update(uow: UnitOfWork, actor: Actor, task_id: int, lock: bool = True) -> Task:
    """The step, locked for the change unless ``lock`` is off; :raise NotFound: / :raise Forbidden: as :func:`queries.get_task`."""
    # populate_existing: a row the session already read is re-read after the lock is
    # granted, so the state checks that follow see the winner's commit.
    query = select(Task).where(Task.id == task_id).execution_options(populate_existing=True)
    if lock and uow.is_postgres:
        query = query.with_for_update()
    elif lock:  # SQLite has no row locks: take the database's write lock first
        uow.session.execute(text("UPDATE tasks SET id = id WHERE id = :id"), {"id": task_id})
    task = uow.session.scalars(query).first()
    if task is None:
        raise NotFound(f"Завдання {task_id} не знайдено")
    if not may_view_task(actor, task.role, task.participants, task.provider_id):
        raise Forbidden(queries.HIDDEN_TASK.format(task_id=task_id))
    return task


def _instance_for_update(uow: UnitOfWork, instance_id: int, lock: bool = True) -> Instance:
    query = select(Instance).where(Instance.id == instance_id).execution_options(populate_existing=True)
    if lock and uow.is_postgres:
        query = query.with_for_update()
    instance = uow.session.scalars(query).first()
    if instance is None:
        raise NotFound(f"Справу {instance_id} не знайдено")
    return instance


def _int(value: str | None) -> int | None:
    return int(value) if value and str(value).isdigit() else None
