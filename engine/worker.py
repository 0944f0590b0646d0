"""The worker: fires BPMN timers whose moment has come (committee meetings, escalations).

Each case is handled in its own transaction; on PostgreSQL the due timers are claimed with
``FOR UPDATE SKIP LOCKED`` so several workers never fire the same timer, and a worker
killed mid-pass leaves every unfired timer waiting for the next pass.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from datetime import time as dt_time

from sqlalchemy import bindparam, or_, select, update

from engine import alerts, case_sync, cases, definitions, queries
from engine.context import Context
from engine.config import Settings
from engine.models import Instance, Task, Timer
from engine.operation import operation
from engine.store import Database, UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    cases: int = 0
    timers_fired: int = 0
    breaches: int = 0
    emails: int = 0
    forecasts: int = 0


def run_pass(db: Database, settings: Settings, batch: int = 500) -> PassResult:
    """Fire every due timer once; returns what was done."""
    result = PassResult()
    with operation(db, settings) as (uow, ctx):
        due = select(Timer.instance_id).where(Timer.state == "waiting", Timer.fires_at <= ctx.now())
        instance_ids = sorted(set(uow.session.scalars(due.limit(batch))))
    for instance_id in instance_ids:
        with operation(db, settings) as (uow, ctx):
            locked = select(Timer.id).where(
                Timer.instance_id == instance_id, Timer.state == "waiting", Timer.fires_at <= ctx.now()
            )
            if uow.is_postgres:
                claimed = uow.session.scalars(locked.with_for_update(skip_locked=True)).first() is not None
            else:
                # SQLite has no row locks: a no-op UPDATE takes the database's write lock, so a
                # racing worker waits here, then sees the timer fired and skips the case.
                claim = update(Timer).where(
                    Timer.instance_id == instance_id, Timer.state == "waiting", Timer.fires_at <= ctx.now()
                ).values(state=Timer.state).execution_options(synchronize_session=False)
                claimed = uow.session.execute(claim).rowcount > 0
            if not claimed:
                continue  # another worker has it, or it already fired
            try:
                fired = cases.fire_due_timers(uow, ctx, instance_id)
                uow.commit()
            except Exception:  # noqa: BLE001 - one failing case must not hold back the others' timers
                log.exception("timers of case %s failed; retried on the next pass", instance_id)
                continue
        result.cases += 1
        result.timers_fired += len(fired)
    with operation(db, settings) as (uow, ctx):
        result.breaches = alerts.record_breaches(uow, ctx)
        result.forecasts = refresh_late_forecasts(uow, ctx)
        uow.commit()
    with operation(db, settings) as (_uow, ctx):
        result.emails = alerts.send_pending_emails(db, settings, ctx)
    return result


LATE_IDS_PER_QUERY = 10_000


def refresh_late_forecasts(uow: UnitOfWork, ctx: Context, batch: int = 1000) -> int:
    """Re-forecast running cases with an overdue step: their finish moves with the clock.

    It moves only with the date (every limit counts whole days), so a late case is
    re-forecast once a day: those whose forecast was not yet checked today, oldest first,
    ``batch`` per pass. Their steps and timers are read for the whole batch at once.

    A plain UPDATE, not the versioned row: a forecast must not make a colleague's
    simultaneous completion fail as a conflict.
    """
    now = ctx.now()
    today = datetime.combine(ctx.calendar.local_date(now), dt_time(0), tzinfo=ctx.calendar.tz)
    # The cases with an overdue step first, on their own: as one query with a LIMIT the planner
    # walks every case in id order looking for late ones (half a second at 100,000 cases).
    late_ids = sorted(set(uow.session.scalars(select(Task.instance_id).where(Task.state == "ready", Task.due_at < now))))
    if not late_ids:
        return 0
    # In chunks of ids: a million open cases can have 400,000 late ones, more than one statement
    # may bind (65,535 parameters on PostgreSQL); ascending chunks keep "oldest first".
    instances: list[Instance] = []
    for start in range(0, len(late_ids), LATE_IDS_PER_QUERY):
        late = (
            select(Instance).where(Instance.id.in_(late_ids[start:start + LATE_IDS_PER_QUERY]),
                                   Instance.status == "running", Instance.sla_met_at.is_(None))
            .where(or_(Instance.forecast_checked_at.is_(None), Instance.forecast_checked_at < today))
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
    values = [
        {"row_id": instance.id, "forecast": case_sync.forecast(
            uow, instance, definitions.compiled(queries.definition_of(uow, instance)), ctx,
            open_tasks[instance.id], timers[instance.id]), "checked": now}
        for instance in instances
    ]
    uow.session.execute(
        update(table).where(table.c.id == bindparam("row_id"))
        .values(forecast_at=bindparam("forecast"), forecast_checked_at=bindparam("checked")),
        values,
    )
    return len(values)


def run_forever(db: Database, settings: Settings, interval: float = 5.0) -> None:
    """Run passes until interrupted; one failing case is logged and retried next pass."""
    while True:
        try:
            result = run_pass(db, settings)
            if result.timers_fired:
                log.info("worker pass: %s timers fired in %s cases", result.timers_fired, result.cases)
        except Exception:  # noqa: BLE001 - a worker must outlive one bad pass
            log.exception("worker pass failed")
        time.sleep(interval)
