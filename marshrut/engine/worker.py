"""The worker: fires BPMN timers whose moment has come (committee meetings, escalations).

Each case is handled in its own transaction; on PostgreSQL the due timers are claimed with
``FOR UPDATE SKIP LOCKED`` so several workers never fire the same timer, and a worker
killed mid-pass leaves every unfired timer waiting for the next pass. A case whose timers
fail is tried again after a growing back-off and becomes an incident after
``Settings.timer_attempts`` tries; cases are taken oldest-due first, never-failed first, so
failing cases do not delay healthy ones.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import time as dt_time

from typing import Any

from sqlalchemy import Integer, any_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import defer

from marshrut.engine import alerts, case_sync, cases, definitions, incidents, queries, sla_tallies
from marshrut.engine.context import Context
from marshrut.engine.config import Settings
from marshrut.engine.errors import CaseChanged
from marshrut.engine.models import Instance, Task, Timer
from marshrut.engine.operation import operation
from marshrut.engine.store import Database, UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    cases: int = 0
    timers_fired: int = 0
    breaches: int = 0
    emails: int = 0
    forecasts: int = 0
    tally_changes: int = 0
    #: The tally tables were vacuumed (PostgreSQL, at most once a minute: sla_tallies.vacuum).
    vacuumed: bool = False
    #: Work was left for the next pass (a batch was full): it starts at once, without the pause.
    backlog: bool = False


def due_cases(uow: UnitOfWork, now: datetime, batch: int, tried: set[int]) -> list[int]:
    """The next cases with a timer to fire, fairest first: timers that never failed before those
    being retried, then the longest-waiting first; at most ``batch``, none of ``tried``.

    A timer in back-off (``next_attempt_at`` ahead) or held by an incident is not due.
    """
    waited_since = func.coalesce(Timer.next_attempt_at, Timer.fires_at)
    query = (
        select(Timer.instance_id).where(*_due(now))
        .order_by(case((Timer.attempts > 0, 1), else_=0), waited_since, Timer.id).limit(batch)
    )
    if tried:
        query = query.where(Timer.instance_id.not_in(sorted(tried)))
    return list(dict.fromkeys(uow.session.scalars(query)))  # a case with two due timers, once, in order


def _due(now: datetime) -> tuple[Any, ...]:
    return (Timer.state == "waiting", Timer.fires_at <= now, Timer.incident_id.is_(None),
            or_(Timer.next_attempt_at.is_(None), Timer.next_attempt_at <= now))


def run_pass(db: Database, settings: Settings, batch: int = 200, rounds: int = 10) -> PassResult:
    """Fire every due timer once (up to ``rounds`` batches of ``batch`` cases); returns what was done.

    A case whose timers fail is counted and waits (:func:`engine.incidents.timer_failed`), so it
    is not tried again in this pass and never ahead of a case whose timer has not failed.
    """
    result = PassResult()
    tried: set[int] = set()
    for _round in range(rounds):
        with operation(db, settings) as (uow, ctx):
            instance_ids = due_cases(uow, ctx.now(), batch, tried)
        for instance_id in instance_ids:
            tried.add(instance_id)
            fired = _fire_case(db, settings, instance_id)
            if fired is not None:
                result.cases += 1
                result.timers_fired += len(fired)
        if len(instance_ids) < batch:
            break
    else:
        result.backlog = True
    with operation(db, settings) as (uow, ctx):
        result.breaches = alerts.record_breaches(uow, ctx)
        result.forecasts = refresh_late_forecasts(uow, ctx, FORECASTS_PER_PASS)
        result.backlog = result.backlog or result.forecasts >= FORECASTS_PER_PASS
        uow.commit()
    with operation(db, settings) as (_uow, ctx):
        result.emails = alerts.send_pending_emails(db, settings, ctx)
    with db.engine.begin() as connection:  # the day's changes folded in, so the views read few rows
        result.tally_changes = sla_tallies.compact(connection)
    result.vacuumed = sla_tallies.vacuum(db.engine)
    return result


def _fire_case(db: Database, settings: Settings, instance_id: int) -> list[str] | None:
    """Fire one case's due timers in its own transaction; ``None`` when it was not this worker's
    to fire (another worker has it) or it failed (counted for back-off)."""
    with operation(db, settings) as (uow, ctx):
        locked = select(Timer.id).where(Timer.instance_id == instance_id, *_due(ctx.now()))
        if uow.is_postgres:
            claimed = uow.session.scalars(locked.with_for_update(skip_locked=True)).first() is not None
        else:
            # SQLite has no row locks: a no-op UPDATE takes the database's write lock, so a
            # racing worker waits here, then sees the timer fired and skips the case.
            claim = update(Timer).where(Timer.instance_id == instance_id, *_due(ctx.now())).values(
                state=Timer.state).execution_options(synchronize_session=False)
            claimed = uow.session.execute(claim).rowcount > 0
        if not claimed:
            return None  # another worker has it, or it already fired
        try:
            fired = cases.fire_due_timers(uow, ctx, instance_id)
            uow.commit()
            return fired
        except CaseChanged:
            return None  # someone changed the case meanwhile: the next pass sees their change
        except Exception as err:  # noqa: BLE001 - one failing case must not hold back the others' timers
            log.exception("timers of case %s failed; counted, retried after a back-off", instance_id)
            message = f"{type(err).__name__}: {err}"
    with operation(db, settings) as (uow, ctx):
        incident = incidents.timer_failed(uow, ctx, instance_id, message)
        uow.commit()
    if incident is not None:
        log.error("timers of case %s failed %s times: incident %s", instance_id, settings.timer_attempts, incident.id)
    return None


#: Ids bound in one statement when reading late cases (PostgreSQL binds at most 65,535).
LATE_IDS_PER_QUERY = 10_000


def _among(column: Any, ids: list[int], postgres: bool) -> Any:
    """``column IN ids``; on PostgreSQL as ``= ANY(array)``, one parameter instead of thousands
    (each placeholder of a long IN list costs the driver time to convert, every pass)."""
    if postgres:
        return column == any_(bindparam("ids", value=ids, type_=ARRAY(Integer)))
    return column.in_(ids)


#: Re-forecasts in one pass's transaction: short enough that a pass ends within seconds.
FORECASTS_PER_PASS = 1000


def refresh_late_forecasts(uow: UnitOfWork, ctx: Context, batch: int = 1000) -> int:
    """Re-forecast running cases with an overdue step: their finish moves with the clock.

    It moves only with the date (every limit counts whole days), so a late case is
    re-forecast once a day: those whose forecast was not yet checked today, oldest first,
    ``batch`` per pass. Their steps and timers are read for the whole batch at once.

    A plain UPDATE, not the versioned row: a forecast must not make a colleague's
    simultaneous completion fail as a conflict.
    """
    now = ctx.now()
    case_sync.store_step_history(uow, ctx)  # once a day per process, before the day's forecasts
    today = datetime.combine(ctx.calendar.local_date(now), dt_time(0), tzinfo=ctx.calendar.tz)
    # The cases with an overdue step first, on their own: as one query with a LIMIT the planner
    # walks every case in id order looking for late ones (half a second at 100,000 cases).
    late_ids = set(uow.session.scalars(select(Task.instance_id).where(Task.state == "ready", Task.due_at < now)))
    # And the cases whose open step ran past its expected end (history or card, SPEC §5), found
    # through ix_instances_status_review: their forecast moves with the date although no step is late.
    late_ids.update(uow.session.scalars(
        select(Instance.id).where(Instance.status == "running", Instance.forecast_review_at <= now)
        .where(or_(Instance.forecast_checked_at < today, Instance.forecast_checked_at < Instance.forecast_review_at))
        .order_by(Instance.forecast_review_at).limit(batch)))
    if not late_ids:
        return 0
    # In chunks of ids: a million open cases can have 400,000 late ones, more than one statement
    # may bind (65,535 parameters on PostgreSQL); ascending chunks keep "oldest first".
    ordered = sorted(late_ids)
    instances: list[Instance] = []
    for start in range(0, len(ordered), LATE_IDS_PER_QUERY):
        late = (
            select(Instance).options(defer(Instance.state))  # the saved workflow is not needed for a forecast
            .where(_among(Instance.id, ordered[start:start + LATE_IDS_PER_QUERY], uow.is_postgres), Instance.status == "running",
                   Instance.sla_met_at.is_(None))
            .where(or_(Instance.forecast_checked_at.is_(None), Instance.forecast_checked_at < today,
                       Instance.forecast_checked_at < Instance.forecast_review_at))
            .order_by(Instance.id).limit(batch - len(instances))
        )
        instances += uow.session.scalars(late)
        if len(instances) >= batch:
            break
    if not instances:
        return 0
    ids = [i.id for i in instances]
    open_tasks: dict[int, list[Task]] = {i: [] for i in ids}
    for task in uow.session.scalars(select(Task).where(Task.instance_id.in_(ids), Task.state == "ready").order_by(Task.id)):
        open_tasks[task.instance_id].append(task)
    timers: dict[int, list[Timer]] = {i: [] for i in ids}
    for timer in uow.session.scalars(select(Timer).where(Timer.instance_id.in_(ids), Timer.state == "waiting")):
        timers[timer.instance_id].append(timer)
    table = Instance.__table__
    values = []
    for instance in instances:
        found = case_sync.forecast_of(uow, instance, definitions.compiled(queries.definition_of(uow, instance)), ctx,
                                      open_tasks[instance.id], timers[instance.id])
        values.append({"row_id": instance.id, "forecast": found.finish, "basis": found.basis,
                       "review": found.review_at, "checked": now})
    uow.session.execute(
        update(table).where(table.c.id == bindparam("row_id"))
        .values(forecast_at=bindparam("forecast"), forecast_basis=bindparam("basis"),
                forecast_review_at=bindparam("review"), forecast_checked_at=bindparam("checked")),
        values,
    )
    return len(values)


def run_forever(db: Database, settings: Settings, interval: float = 5.0,
                observe: Callable[[float, int], None] | None = None) -> None:
    """Run passes until interrupted; one failing case is logged and retried next pass.

    :param observe: told each pass's duration in seconds and the timers it fired (metrics).
    """
    while True:
        started = time.perf_counter()
        try:
            result = run_pass(db, settings)
            if result.timers_fired:
                log.info("worker pass: %s timers fired in %s cases", result.timers_fired, result.cases)
            if observe is not None:
                observe(time.perf_counter() - started, result.timers_fired)
        except Exception:  # noqa: BLE001 - a worker must outlive one bad pass
            log.exception("worker pass failed")
            result = PassResult()
        # A backlog (the day's re-forecasts of a large department) is worked through without
        # pausing between passes; each pass is still its own short transaction.
        if not result.backlog:
            time.sleep(interval)
