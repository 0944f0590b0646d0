"""Use cases on cases (process instances): register, complete a step, claim, cancel.

Each takes a unit of work, the acting user and a context, changes rows and the workflow
state together, writes the audit log, and leaves the commit to the caller.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from engine import audit, definitions, queries, runtime
from engine.access import Actor, may_complete, may_view_task, split_roles
from engine.context import Context
from engine.deadlines import CaseDates, StepLimit, case_dates, step_due
from engine.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from engine.evaluator import ScriptEngine
from engine.forecast import Forecaster, Position
from engine.forms import validate_form
from engine.models import Instance, Task, Timer
from engine.numbering import next_number
from engine.roles import INTAKE_ROLES
from engine.store import UnitOfWork

RUNNING, COMPLETED, RETURNED, CANCELLED = "running", "completed", "returned", "cancelled"
READY, DONE, WITHDRAWN = "ready", "completed", "cancelled"


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
    received = (received_at or now).astimezone(ctx.calendar.tz)
    if received > now:
        raise InvalidInput("Дата надходження не може бути в майбутньому", [FieldError("/received_at", "Дата в майбутньому")])
    props = definition.properties
    dates = case_dates(ctx.calendar, received, _int(props.get("target_days")), _int(props.get("legal_days")),
                       props.get("calendar") or "calendar")
    engine_vars = {
        "received_at": received.isoformat(), "received_date": received.date().isoformat(),
        "target_due": dates.target_due.isoformat() if dates.target_due else None,
        "legal_due": dates.legal_due.isoformat() if dates.legal_due else None,
    }
    workflow = runtime.start(compiled, {**data, **engine_vars}, ctx)
    prefix = props.get("number_prefix") or process_key[:2].upper()
    instance = Instance(
        number=next_number(uow, process_key, prefix, received.year), process_key=process_key,
        definition_id=definition.id, status=RUNNING, received_at=received, target_due=dates.target_due,
        legal_due=dates.legal_due, data={**data, **engine_vars}, state="", created_at=now,
        created_by=actor.login, updated_at=now,
    )
    uow.session.add(instance)
    uow.flush()
    audit.record(uow, "case_registered", actor.login, now, instance.id, data={"number": instance.number, "data": data})
    _sync(uow, instance, workflow, compiled, ctx, actor.login)
    return instance


def complete_task(uow: UnitOfWork, actor: Actor, ctx: Context, task_id: int, data: dict[str, Any]) -> Completed:
    """Complete a ready step with its form's data and move the case on.

    :raise NotFound: no such step. :raise Forbidden: the actor may not see it, or see but not complete it.
    :raise Conflict: the step is no longer ready, or another user holds it.
    :raise InvalidInput: the data breaks the form or a rule of the diagram.
    """
    task = _task_for_update(uow, actor, task_id)
    if task.state != READY:
        raise Conflict(f"Завдання вже {'виконано' if task.state == DONE else 'скасовано'}")
    if not may_complete(actor, task.role):
        raise Forbidden(f"Завдання «{task.name}» виконує роль {task.role}; у вас її немає")
    if task.assignee and task.assignee != actor.login:
        raise Conflict(f"Завдання взяв у роботу {task.assignee}")
    instance = _instance_for_update(uow, task.instance_id)
    definition = queries.definition_of(uow, instance)
    compiled = definitions.compiled(definition)
    validate_form(compiled.forms.get(task.element_id, {}), data)
    _check_rule(compiled.step(task.element_id) or {}, {**instance.data, **(task.inputs or {}), **data}, ctx)
    workflow = runtime.load(instance.state, compiled, ctx)
    runtime.complete(workflow, task.spiff_id, data)
    now = ctx.now()
    task.state, task.completed_at, task.completed_by, task.data = DONE, now, actor.login, data
    audit.record(uow, "task_completed", actor.login, now, instance.id, task.id,
                 {"element_id": task.element_id, "name": task.name, "data": data})
    open_tasks, timers = _sync(uow, instance, workflow, compiled, ctx, actor.login)
    return Completed(task, instance, open_tasks, timers)


def _check_rule(step: dict[str, Any], data: dict[str, Any], ctx: Context) -> None:
    """A step's ``reject_if`` rule (e.g. no refusal on a violence case) stops the completion."""
    rule = step.get("reject_if")
    if not rule:
        return
    engine = ScriptEngine(ctx.clock, ctx.calendar)
    try:
        rejected = engine.environment.evaluate(rule, dict(data))
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
    if not may_complete(actor, task.role):
        raise Forbidden(f"Завдання «{task.name}» виконує роль {task.role}; у вас її немає")


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
    workflow = runtime.load(instance.state, compiled, ctx)
    workflow.cancel()
    now = ctx.now()
    instance.status, instance.completed_at, instance.updated_at = CANCELLED, now, now
    instance.state = runtime.dump(workflow)
    _withdraw_open(uow, instance.id, now)
    audit.record(uow, "case_cancelled", actor.login, now, instance.id, data={"reason": reason.strip()})
    uow.flush()
    return instance


def fire_due_timers(uow: UnitOfWork, ctx: Context, instance_id: int) -> list[str]:
    """Fire the case's timers whose moment has come; returns the fired element ids."""
    instance = _instance_for_update(uow, instance_id)
    if instance.status != RUNNING:
        return []
    definition = queries.definition_of(uow, instance)
    compiled = definitions.compiled(definition)
    workflow = runtime.load(instance.state, compiled, ctx)
    before = {t.spiff_id for t in runtime.waiting_timers(workflow)}
    runtime.fire_timers(workflow)
    after = {t.spiff_id for t in runtime.waiting_timers(workflow)}
    fired = before - after
    _sync(uow, instance, workflow, compiled, ctx, None)
    return sorted(fired)


def _sync(
    uow: UnitOfWork, instance: Instance, workflow: Any, compiled: definitions.Compiled, ctx: Context, actor: str | None
) -> tuple[list[Task], list[Timer]]:
    """Mirror the workflow into rows: new steps with due dates, timers, status, data.

    :return: the case's open steps (by id) and waiting timers (by moment) as they now are.
    """
    now = ctx.now()
    open_rows = {t.spiff_id: t for t in uow.session.scalars(select(Task).where(Task.instance_id == instance.id, Task.state == READY))}
    open_steps = runtime.open_steps(workflow)
    instance.data = {**instance.data, **runtime.case_data(workflow)}
    new_rows = [_new_task_row(instance, compiled, step, now, ctx) for step in open_steps if step.spiff_id not in open_rows]
    uow.session.add_all(new_rows)
    still_open = {s.spiff_id for s in open_steps}
    for spiff_id, row in open_rows.items():
        if spiff_id not in still_open:
            row.state, row.completed_at = WITHDRAWN, now
    with uow.session.no_autoflush:  # one UPDATE of the case below, not one for data and another for state
        waiting = _sync_timers(uow, instance, workflow, compiled, now, actor)
    status = runtime.ended_status(workflow, compiled)
    if status is not None:
        instance.status, instance.completed_at = status, now
        _withdraw_open(uow, instance.id, now)
        audit.record(uow, "case_finished", actor, now, instance.id, data={"status": status})
    instance.state = runtime.dump(workflow)
    instance.updated_at = now
    still = [row for row in open_rows.values() if row.state == READY] + [row for row in new_rows if row.state == READY]
    timers = [t for t in waiting if t.state == "waiting"]
    with uow.session.no_autoflush:  # the forecast goes into the same UPDATE of the case
        refresh_forecast(uow, instance, compiled, ctx, open_tasks=still, timers=timers)
    uow.flush()
    return sorted(still, key=lambda t: t.id), sorted(timers, key=lambda t: (t.fires_at, t.id))


def refresh_forecast(uow: UnitOfWork, instance: Instance, compiled: definitions.Compiled, ctx: Context,
                     open_tasks: list[Task] | None = None, timers: list[Timer] | None = None) -> None:
    """Record when the measured part of the case was done, or forecast when it will be."""
    until = compiled.facts.process_properties.get("sla_until")
    if instance.sla_met_at is None and (instance.status != RUNNING or _step_done(uow, instance.id, until)):
        instance.sla_met_at = ctx.now()
    instance.forecast_at = instance.sla_met_at or forecast(uow, instance, compiled, ctx, open_tasks, timers)
    instance.forecast_checked_at = ctx.now()


def forecast(uow: UnitOfWork, instance: Instance, compiled: definitions.Compiled, ctx: Context,
             open_tasks: list[Task] | None = None, timers: list[Timer] | None = None) -> datetime | None:
    """The forecast finish of a running case from its open steps and waiting timers.

    ``open_tasks`` and ``timers`` are the case's ready steps and waiting timers when the
    caller already holds them (as :func:`_sync` does); else they are read.
    """
    now = ctx.now()
    open_tasks = queries.open_tasks(uow, instance.id) if open_tasks is None else open_tasks
    timers = queries.waiting_timers(uow, instance.id) if timers is None else timers
    positions = [
        Position(t.element_id, max(t.due_at, now) if t.due_at else now) for t in open_tasks
    ] + [Position(t.element_id, t.fires_at) for t in timers if not t.escalation]
    dates = CaseDates(instance.received_at, instance.target_due, instance.legal_due)
    return Forecaster(compiled.facts, ctx, dates, instance.data).finish(positions)


def _step_done(uow: UnitOfWork, instance_id: int, element_id: str | None) -> bool:
    if not element_id:
        return False
    query = select(Task.id).where(Task.instance_id == instance_id, Task.element_id == element_id, Task.state == DONE)
    return uow.session.scalars(query.limit(1)).first() is not None


def _new_task_row(instance: Instance, compiled: definitions.Compiled, step: runtime.OpenStep, now: datetime, ctx: Context) -> Task:
    info = compiled.step(step.element_id) or {}
    role, action, participants = split_roles(info.get("role"), info.get("action"), info.get("participants") or [])
    limit = StepLimit.from_properties(compiled.facts.properties.get(step.element_id, {}))
    dates = CaseDates(instance.received_at, instance.target_due, instance.legal_due)
    due = step_due(ctx.calendar, limit, now, dates, crisis=bool(instance.data.get("crisis")))
    at_risk = now + (due - now) * ctx.settings.at_risk_ratio if due and due > now else due
    return Task(
        instance_id=instance.id, process_key=instance.process_key, spiff_id=step.spiff_id, element_id=step.element_id,
        name=step.name, lane=info.get("lane"), role=role, action=action, participants=participants,
        participant_roles="," + ",".join(p["role"] for p in participants) + ",", state=READY,
        created_at=now, due_at=due, at_risk_at=at_risk, inputs=step.local_data,
    )


def _sync_timers(
    uow: UnitOfWork, instance: Instance, workflow: Any, compiled: definitions.Compiled, now: datetime, actor: str | None
) -> list[Timer]:
    """Mirror the workflow's waiting timers into rows; returns the rows that were or now are waiting."""
    rows = {t.spiff_id: t for t in uow.session.scalars(select(Timer).where(Timer.instance_id == instance.id, Timer.state == "waiting"))}
    waiting = {t.spiff_id: t for t in runtime.waiting_timers(workflow)}
    added = []
    for spiff_id, timer in waiting.items():
        if spiff_id not in rows:
            added.append(Timer(
                instance_id=instance.id, spiff_id=spiff_id, element_id=timer.element_id, name=timer.name,
                escalation=compiled.facts.properties.get(timer.element_id, {}).get("escalation"), fires_at=timer.fires_at, state="waiting",
            ))
    uow.session.add_all(added)
    for spiff_id, row in rows.items():
        if spiff_id in waiting:
            continue
        if not runtime.fired(workflow, spiff_id):
            row.state = "cancelled"
            continue
        row.state, row.fired_at = "fired", now
        audit.record(uow, "timer_fired", actor, now, instance.id, data={"element_id": row.element_id, "name": row.name})
    return list(rows.values()) + added


def _withdraw_open(uow: UnitOfWork, instance_id: int, now: datetime) -> None:
    for row in uow.session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == READY)):
        row.state, row.completed_at = WITHDRAWN, now
    for timer in uow.session.scalars(select(Timer).where(Timer.instance_id == instance_id, Timer.state == "waiting")):
        timer.state = "cancelled"


def _task_for_update(uow: UnitOfWork, actor: Actor, task_id: int) -> Task:
    """The step, locked for the change; :raise NotFound: / :raise Forbidden: as :func:`queries.get_task`."""
    # populate_existing: a row the session already read is re-read after the lock is
    # granted, so the state checks that follow see the winner's commit.
    query = select(Task).where(Task.id == task_id).execution_options(populate_existing=True)
    if uow.is_postgres:
        query = query.with_for_update()
    else:  # SQLite has no row locks: take the database's write lock first (waits per busy_timeout)
        uow.session.execute(text("UPDATE tasks SET id = id WHERE id = :id"), {"id": task_id})
    task = uow.session.scalars(query).first()
    if task is None:
        raise NotFound(f"Завдання {task_id} не знайдено")
    if not may_view_task(actor, task.role, task.participants):
        raise Forbidden(queries.HIDDEN_TASK.format(task_id=task_id))
    return task


def _instance_for_update(uow: UnitOfWork, instance_id: int) -> Instance:
    query = select(Instance).where(Instance.id == instance_id).execution_options(populate_existing=True)
    if uow.is_postgres:
        query = query.with_for_update()
    instance = uow.session.scalars(query).first()
    if instance is None:
        raise NotFound(f"Справу {instance_id} не знайдено")
    return instance


def _int(value: str | None) -> int | None:
    return int(value) if value and str(value).isdigit() else None
