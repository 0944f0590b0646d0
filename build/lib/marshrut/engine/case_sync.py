"""Mirroring a case's workflow into its rows: open steps with due dates, timers, status,
data and the forecast.

The rows a sync compares against are read first (:func:`read`), before the use case
changes anything, and the sync itself only writes. On SQLite the first write takes the
database's single write lock, so everything up to the final flush (Spiff's work, the saved
state, the forecast) happens before it and other writers wait only for the writes.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from marshrut.engine import audit, queries, runtime
from marshrut.engine.access import split_roles
from marshrut.engine.context import Context
from marshrut.engine.deadlines import CaseDates, StepLimit, step_due
from marshrut.engine.definitions import Compiled
from marshrut.engine.evaluator import engine_functions, evaluate
from marshrut.engine.forecast import Forecast, Forecaster, Position, observed_durations, store_observed_durations
from marshrut.engine.models import Definition, Instance, Task, Timer
from marshrut.engine.store import UnitOfWork

RUNNING = "running"
READY, DONE, WITHDRAWN = "ready", "completed", "cancelled"
WAITING = "waiting"


@dataclass(frozen=True)
class CaseRows:
    """A case's rows as they stood before the change: ready steps and waiting timers by Spiff id."""

    open_tasks: dict[str, Task]
    timers: dict[str, Timer]
    measured_step_done: bool  # the process's ``sla_until`` step was completed before this change


# Built once: read on every change of a case.
_READY_TASKS = select(Task).where(Task.instance_id == bindparam("instance_id"), Task.state == READY)
_WAITING_TIMERS = select(Timer).where(Timer.instance_id == bindparam("instance_id"), Timer.state == WAITING)


def read(uow: UnitOfWork, instance: Instance) -> CaseRows:
    tasks = uow.session.scalars(_READY_TASKS, {"instance_id": instance.id})
    timers = uow.session.scalars(_WAITING_TIMERS, {"instance_id": instance.id})
    # Every completion goes through sync, which stamps ``sla_met_at`` in the same transaction
    # as the measured step: a case without the stamp has not done that step.
    return CaseRows({t.spiff_id: t for t in tasks}, {t.spiff_id: t for t in timers}, instance.sla_met_at is not None)


def sync(
    uow: UnitOfWork, instance: Instance, workflow: Any, compiled: Compiled, ctx: Context, actor: str | None,
    before: CaseRows, completed: Task | None = None,
) -> tuple[list[Task], list[Timer]]:
    """Write the workflow's state into the rows ``before`` held (``completed``: the step just done).

    :return: the case's open steps (by id) and waiting timers (by moment) as they now are.
    """
    now = ctx.now()
    standing = runtime.standing(workflow, compiled)
    open_steps = standing.open_steps
    instance.data = {**instance.data, **standing.data}
    new_rows = [_new_task_row(instance, compiled, step, now, ctx) for step in open_steps if step.spiff_id not in before.open_tasks]
    uow.session.add_all(new_rows)
    still_open = {s.spiff_id for s in open_steps}
    for spiff_id, row in before.open_tasks.items():
        if row.state == READY and spiff_id not in still_open:  # not the step just completed
            row.state, row.completed_at = WITHDRAWN, now
    tasks = [row for row in [*before.open_tasks.values(), *new_rows] if row.state == READY]
    timers = _sync_timers(uow, instance, workflow, standing.waiting_timers, compiled, now, actor, before.timers)
    status = standing.ended_status
    if status is not None:
        instance.status, instance.completed_at = status, now
        withdraw(tasks, timers, now)
        tasks, timers = [], []
        audit.record(uow, "case_finished", actor, now, instance.id, data={"status": status})
    instance.state = runtime.dump(workflow)
    instance.updated_at = now
    until = compiled.facts.process_properties.get("sla_until")
    measured_done = before.measured_step_done or (completed is not None and completed.element_id == until)
    refresh_forecast(uow, instance, compiled, ctx, open_tasks=tasks, timers=timers, measured_step_done=measured_done)
    uow.flush()
    return sorted(tasks, key=lambda t: t.id), sorted(timers, key=lambda t: (t.fires_at, t.id))


def withdraw(tasks: list[Task], timers: list[Timer], now: datetime) -> None:
    """Close a case's open steps and waiting timers (it ended, or was cancelled)."""
    for task in tasks:
        task.state, task.completed_at = WITHDRAWN, now
    for timer in timers:
        timer.state = "cancelled"


def refresh_forecast(
    uow: UnitOfWork, instance: Instance, compiled: Compiled, ctx: Context, open_tasks: list[Task] | None,
    timers: list[Timer] | None, measured_step_done: bool,
) -> None:
    """Record when the measured part of the case was done, or forecast when it will be.

    What the caller already holds (open steps, timers) is not read again.
    """
    if instance.sla_met_at is None and (instance.status != RUNNING or measured_step_done):
        instance.sla_met_at = ctx.now()
    if instance.sla_met_at is not None:
        instance.forecast_at, instance.forecast_review_at = instance.sla_met_at, None
    else:
        found = forecast_of(uow, instance, compiled, ctx, open_tasks, timers)
        instance.forecast_at, instance.forecast_basis, instance.forecast_review_at = found.finish, found.basis, found.review_at
    instance.forecast_checked_at = ctx.now()


def forecast(uow: UnitOfWork, instance: Instance, compiled: Compiled, ctx: Context,
             open_tasks: list[Task] | None = None, timers: list[Timer] | None = None) -> datetime | None:
    """The forecast finish of a running case from its open steps and waiting timers (read if not given)."""
    return forecast_of(uow, instance, compiled, ctx, open_tasks, timers).finish


def forecast_of(uow: UnitOfWork, instance: Instance, compiled: Compiled, ctx: Context,
                open_tasks: list[Task] | None = None, timers: list[Timer] | None = None) -> Forecast:
    """The forecast of a running case (SPEC §5): finish, basis, and when it starts to move with the clock."""
    now = ctx.now()
    open_tasks = queries.open_tasks(uow, instance.id) if open_tasks is None else open_tasks
    timers = queries.waiting_timers(uow, instance.id) if timers is None else timers
    dates = case_dates_of(instance)
    history = observed_durations(uow, instance.process_key, now, ctx.calendar)
    forecaster = Forecaster(compiled.facts, ctx, dates, instance.data, history)
    expected = {t.id: forecaster.open_step_done(t.element_id, t.created_at, now) for t in open_tasks}
    positions = [Position(t.element_id, expected[t.id]) for t in open_tasks] + [
        Position(t.element_id, t.fires_at) for t in timers if not t.escalation]
    finish = forecaster.finish(positions)
    # While every open step is expected to end later than now, the forecast stays as it is;
    # from the earliest of those ends it moves with the clock (the worker looks again then).
    return Forecast(finish, forecaster.basis, min(expected.values()) if expected else None)


def store_step_history(uow: UnitOfWork, ctx: Context) -> None:
    """The day's observed step durations of every deployed process, computed once (by the
    worker) and kept where every API process reads them (:func:`engine.forecast.store_observed_durations`).

    Another worker storing the same day first is no failure of this pass (the insert gives way).
    """
    for key in list(uow.session.scalars(select(Definition.key).distinct())):
        store_observed_durations(uow, key, ctx.now(), ctx.calendar)


def case_dates_of(instance: Instance) -> CaseDates:
    """The dates a case's step limits count from and to, as stored with it."""
    year = (instance.data or {}).get("plan_year")
    return CaseDates(instance.received_at, instance.target_due, instance.legal_due, year if isinstance(year, int) else None)


def _new_task_row(instance: Instance, compiled: Compiled, step: runtime.OpenStep, now: datetime, ctx: Context) -> Task:
    info = compiled.step(step.element_id) or {}
    role, action, participants = split_roles(info.get("role"), info.get("action"), info.get("participants") or [])
    limit = StepLimit.from_properties(compiled.facts.properties.get(step.element_id, {}))
    dates = case_dates_of(instance)
    due = step_due(ctx.calendar, limit, now, dates, crisis=bool(instance.data.get("crisis")))
    at_risk = now + (due - now) * ctx.settings.at_risk_ratio if due and due > now else due
    return Task(
        instance_id=instance.id, process_key=instance.process_key, spiff_id=step.spiff_id, element_id=step.element_id,
        name=step.name, lane=info.get("lane"), role=role, action=action, participants=participants,
        participant_roles="," + ",".join(p["role"] for p in participants) + ",", state=READY,
        created_at=now, due_at=due, at_risk_at=at_risk, inputs={**_shown(compiled, step, instance.data), **step.local_data},
        provider_id=_provider_of(compiled, step, instance.data, ctx),
    )


def _shown(compiled: Compiled, step: runtime.OpenStep, data: dict[str, Any]) -> dict[str, Any]:
    """The case facts a step's ``shows`` property lists (e.g. the decision and the refusal's
    ground for the notice), copied into the step's inputs as they stood when it opened."""
    names = compiled.facts.properties.get(step.element_id, {}).get("shows") or ""
    return {name: data[name] for name in (n.strip() for n in names.split(",")) if name and name in data}


def _provider_of(compiled: Compiled, step: runtime.OpenStep, data: dict[str, Any], ctx: Context) -> str | None:
    """The provider a step is bound to: its ``provider`` property evaluated over the case data and
    the step's own (the roadmap's ``providers[str(service)]``); None when it names none."""
    expression = compiled.facts.properties.get(step.element_id, {}).get("provider")
    if not expression:
        return None
    try:
        value = evaluate(expression, {**data, **(step.local_data or {})}, engine_functions(ctx.clock, ctx.calendar))
    except (NameError, KeyError, TypeError):
        return None
    return str(value) if value else None


def _sync_timers(
    uow: UnitOfWork, instance: Instance, workflow: Any, waiting_now: list[runtime.WaitingTimer], compiled: Compiled,
    now: datetime, actor: str | None, rows: dict[str, Timer],
) -> list[Timer]:
    """Mirror the workflow's waiting timers into rows; returns the ones waiting now."""
    waiting = {t.spiff_id: t for t in waiting_now}
    added = [
        Timer(instance_id=instance.id, spiff_id=spiff_id, element_id=timer.element_id, name=timer.name,
              escalation=compiled.facts.properties.get(timer.element_id, {}).get("escalation"), fires_at=timer.fires_at,
              state=WAITING)
        for spiff_id, timer in waiting.items() if spiff_id not in rows
    ]
    uow.session.add_all(added)
    for spiff_id, row in rows.items():
        if spiff_id in waiting:
            continue
        if not runtime.fired(workflow, spiff_id):
            row.state = "cancelled"
            continue
        row.state, row.fired_at = "fired", now
        audit.record(uow, "timer_fired", actor, now, instance.id, data={"element_id": row.element_id, "name": row.name})
    return [row for row in [*rows.values(), *added] if row.state == WAITING]
