"""What managers ask: what is late now (or at a moment), where cases wait, how long steps take."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, union_all

from marshrut.engine import definitions, queries, sla_counts
from marshrut.engine.models import Instance, Task
from marshrut.engine.store import UnitOfWork


def overdue(uow: UnitOfWork, moment: datetime) -> tuple[list[Task], list[tuple[Instance, list[str]]]]:
    """Tasks open and past due at ``moment``; cases past their target or legal date then."""
    found = overdue_page(uow, moment, per_page=None)
    return found.tasks, found.instances


@dataclass
class OverduePage:
    """One page of the overdue view: tasks and cases late at a moment, with how many there are in all."""

    tasks: list[Task]
    instances: list[tuple[Instance, list[str]]]
    total_tasks: int
    total_instances: int


def _late_tasks_at(moment: datetime) -> tuple[Any, Any]:
    """Open and past due at ``moment``, as two conditions that each walk one range of
    ``ix_tasks_completed_due``: still open, or closed only after ``moment``."""
    late = and_(Task.due_at < moment, Task.created_at <= moment)
    return and_(Task.completed_at.is_(None), late), and_(Task.completed_at > moment, late)


def overdue_page(uow: UnitOfWork, moment: datetime, page: int = 1, per_page: int | None = 50,
                 now: datetime | None = None) -> OverduePage:
    """A page of :func:`overdue` (``per_page=None``: everything), oldest due first, with the totals.

    The page's ids come from each condition of :func:`_late_tasks_at` / :func:`_late_cases_at`
    walked in its index's order and stopped after the page (:func:`engine.queries.page_ids`), then the rows are
    read by id: the answer costs the page, not every late task of the department. The totals at
    ``now`` (default: ``moment`` is now) or later come from the tallies; before it, from
    counting the rows.
    """
    tallied = per_page is not None and _from_tallies(moment, now)
    if tallied:
        total_tasks, total_instances = sla_counts.late_totals(sla_counts.snapshot(uow.session, moment))
    halves = _late_tasks_at(moment)
    skip = 0 if per_page is None else (page - 1) * per_page
    ids = [] if tallied and skip >= total_tasks else queries.page_ids(
        uow, halves, (Task.due_at, Task.created_at, Task.id), skip, per_page)
    rows = {t.id: t for t in uow.session.scalars(select(Task).where(Task.id.in_(ids)))} if ids else {}
    tasks = [rows[i] for i in ids]
    if not tallied:
        total_tasks = len(tasks) if per_page is None else sum(
            uow.session.scalar(select(func.count()).select_from(Task).where(half)) or 0 for half in halves)
    case_halves = _late_cases_at(moment)
    case_ids = [] if tallied and skip >= total_instances else queries.page_ids(
        uow, case_halves, (Instance.target_due, Instance.id), skip, per_page)
    found = {i.id: i for i in uow.session.scalars(select(Instance).where(Instance.id.in_(case_ids)))} if case_ids else {}
    instances = [(found[i], _broken(found[i], moment)) for i in case_ids]
    if not tallied:
        total_instances = len(instances) if per_page is None else sum(
            uow.session.scalar(select(func.count()).select_from(Instance).where(half)) or 0 for half in case_halves)
    return OverduePage(tasks, instances, total_tasks, total_instances)


def _from_tallies(moment: datetime, now: datetime | None) -> bool:
    """The tallies hold the open steps and running cases as they are now: they answer for now
    and later (the same steps and cases, judged at a later moment), not for a moment before."""
    return now is None or moment >= now


def _late_cases_at(moment: datetime) -> tuple[Any, ...]:
    """Running at ``moment`` and past its target or legal date then, with the measured part not
    done by then, as disjoint conditions that each walk one index (migration 0013): running and
    not met, past the target date (ix_instances_unmet_target) or past only the legal date
    (ix_instances_unmet_legal); running and met only after ``moment`` (ix_instances_met_running);
    finished only after ``moment`` (ix_instances_completed_at). The last two are empty for now."""
    running = and_(Instance.status == "running", Instance.completed_at.is_(None), Instance.received_at <= moment)
    unmet = and_(running, Instance.sla_met_at.is_(None))
    late = or_(Instance.target_due < moment, Instance.legal_due < moment)
    past_legal_only = and_(Instance.legal_due < moment, or_(Instance.target_due.is_(None), Instance.target_due >= moment))
    finished_later = and_(Instance.completed_at > moment, Instance.received_at <= moment,
                          or_(Instance.sla_met_at.is_(None), Instance.sla_met_at > moment), late)
    return (and_(unmet, Instance.target_due < moment), and_(unmet, past_legal_only),
            and_(running, Instance.sla_met_at > moment, late), finished_later)


def summary(uow: UnitOfWork, moment: datetime, now: datetime | None = None) -> dict[str, Any]:
    """Open tasks counted by process, step and SLA status, and cases by process and status.

    Now (``now`` is None or not after ``moment``) or later: read from the tallies. Before now:
    :func:`summary_from_rows`.
    """
    if not _from_tallies(moment, now):
        return summary_from_rows(uow, moment)
    found = sla_counts.snapshot(uow.session, moment)
    names = _step_names(uow)
    steps = [{"process_key": pk, "element_id": el, "name": names.get((pk, el)) or _open_step_name(uow, pk, el), **counts,
              "total": sum(counts.values())}
             for (pk, el), counts in sla_counts.open_steps(found).items()]
    processes = [{"process_key": pk, **figures} for pk, figures in sla_counts.running_cases(found).items()]
    return {"at": moment.isoformat(), "steps": steps, "processes": processes}


def _step_names(uow: UnitOfWork) -> dict[tuple[str, str], str]:
    """Each step's name in the newest version of its process (one query, cached with the definitions)."""
    return {key: step["name"] for key, step in _limits(uow).items()}


def _open_step_name(uow: UnitOfWork, process_key: str, element_id: str) -> str:
    """A step the newest version no longer has: the name its open tasks carry (the first by order; one entry of ix_tasks_open_steps)."""
    query = (select(Task.name).where(Task.completed_at.is_(None), Task.process_key == process_key,
                                     Task.element_id == element_id).order_by(Task.name).limit(1))
    return uow.session.scalar(query) or element_id


def summary_from_rows(uow: UnitOfWork, moment: datetime) -> dict[str, Any]:
    """:func:`summary` at any moment, past included, counted from the rows.

    Two GROUP BY queries (tasks open at ``moment``; cases running then), each counting its
    statuses with SUM(CASE ...): the answer costs a walk of an index, never a row per case in
    Python, and its memory is the number of steps and processes.
    """
    open_tasks = union_all(*(select(Task.process_key, Task.element_id, Task.name, Task.due_at, Task.at_risk_at)
                             .where(half) for half in _open_halves(moment))).subquery()
    status = _task_status_at(moment, open_tasks.c)
    counts = [func.sum(case((status == name, 1), else_=0)).label(name) for name in TASK_STATUSES]
    query = (select(open_tasks.c.process_key, open_tasks.c.element_id, func.min(open_tasks.c.name).label("name"), *counts,
                    func.count().label("total"))
             .group_by(open_tasks.c.process_key, open_tasks.c.element_id)
             .order_by(open_tasks.c.process_key, open_tasks.c.element_id))
    steps = [{"process_key": r.process_key, "element_id": r.element_id, "name": r.name,
              **{name: int(getattr(r, name) or 0) for name in TASK_STATUSES}, "total": int(r.total)}
             for r in uow.session.execute(query)]
    running = union_all(*(select(Instance.process_key, Instance.target_due, Instance.legal_due, Instance.sla_met_at,
                                 Instance.forecast_at).where(half) for half in _running_halves(moment))).subquery()
    columns = [func.count().label("running")]
    for which in ("target", "legal"):
        status = _case_status_at(moment, running.c, getattr(running.c, f"{which}_due"))
        columns += [func.sum(case((status == name, 1), else_=0)).label(f"{which}_{name}") for name in CASE_STATUSES]
    query = select(running.c.process_key, *columns).group_by(running.c.process_key).order_by(running.c.process_key)
    processes = [{"process_key": r.process_key, "running": int(r.running),
                  **{which: {name: int(getattr(r, f"{which}_{name}") or 0) for name in CASE_STATUSES}
                     for which in ("target", "legal")}}
                 for r in uow.session.execute(query)]
    return {"at": moment.isoformat(), "steps": steps, "processes": processes}


TASK_STATUSES = ("on_track", "at_risk", "overdue")
CASE_STATUSES = ("on_track", "at_risk", "breached")


def _open_halves(moment: datetime) -> tuple[Any, Any]:
    """Open at ``moment`` (created by then, not closed by then) as two index-friendly halves:
    still open, or closed only after it (ix_tasks_open_steps covers both)."""
    created = Task.created_at <= moment
    return and_(Task.completed_at.is_(None), created), and_(Task.completed_at > moment, created)


def _running_halves(moment: datetime) -> tuple[Any, Any]:
    received = Instance.received_at <= moment
    return and_(Instance.completed_at.is_(None), received), and_(Instance.completed_at > moment, received)


def _task_status_at(moment: datetime, c: Any) -> Any:
    """SQL of :func:`engine.views.task_sla` for a task as it stood open at ``moment``
    (``at_risk_at`` is stored with every due date, so the share of the span is not recomputed)."""
    return case((c.due_at.is_(None), "on_track"), (c.due_at < moment, "overdue"),
                (and_(c.at_risk_at.is_not(None), c.at_risk_at <= moment), "at_risk"), else_="on_track")


def _case_status_at(moment: datetime, c: Any, due: Any) -> Any:
    """SQL of a running case's status against one of its dates at ``moment``: breached when the
    measured part was done after it (or is not done and the date has passed); at risk when not
    done and the forecast is later; else on track."""
    met = and_(c.sla_met_at.is_not(None), c.sla_met_at <= moment)
    return case((due.is_(None), "on_track"), (and_(met, c.sla_met_at > due), "breached"), (met, "on_track"),
                (due < moment, "breached"), (and_(c.forecast_at.is_not(None), c.forecast_at > due), "at_risk"),
                else_="on_track")


def step_durations(uow: UnitOfWork, process_key: str | None = None) -> list[dict[str, Any]]:
    """Per step: completed count, median and 90th-percentile duration (hours), share late, limit.

    From the tallies of completed steps (:func:`engine.sla_counts.step_durations`): the
    percentiles are continuous (linear between the two nearest values, as PostgreSQL's
    ``percentile_cont``) over the durations to the minute, the same on both backends.
    """
    limits = _limits(uow)
    names = _step_names(uow)
    found = sla_counts.step_durations(uow.session.connection(), process_key, tuple(share for _l, share in PERCENTILES))
    rows = []
    for (pk, element_id), figures in found.items():
        step = limits.get((pk, element_id), {})
        rows.append({
            "process_key": pk, "element_id": element_id, "name": names.get((pk, element_id)) or _done_step_name(uow, pk, element_id),
            "completed": figures["completed"],
            **{label: round(float(v), 2) if v is not None else None
               for label, v in ((label, figures["shares"][share]) for label, share in PERCENTILES)},
            "share_late": round(figures["late"] / figures["completed"], 4), "limit_days": step.get("days"),
            "limit_days_min": step.get("days_min"), "calendar": step.get("calendar"), "deadline": step.get("deadline"),
        })
    return rows


PERCENTILES = (("median_hours", 0.5), ("p90_hours", 0.9))


def _done_step_name(uow: UnitOfWork, process_key: str, element_id: str) -> str:
    """A step the newest version no longer has: the name one of its completed tasks carries."""
    query = (select(Task.name).where(Task.state == "completed", Task.process_key == process_key,
                                     Task.element_id == element_id).limit(1))
    return uow.session.scalar(query) or element_id


def _limits(uow: UnitOfWork) -> dict[tuple[str, str], dict[str, Any]]:
    """Steps (limits, names) of the newest version of every process (one query per unit of work)."""
    key = (sla_counts.CACHED, "limits")
    if key not in uow.session.info:
        uow.session.info[key] = {(d.key, step["element_id"]): step for d in definitions.latest_all(uow) for step in d.steps}
    return uow.session.info[key]


def late_task_chunks(uow: UnitOfWork, moment: datetime, size: int = 500) -> Iterator[list[Task]]:
    """Every task late at ``moment``, oldest due first, ``size`` at a time (for exports): the ids
    stream from one cursor and each chunk's rows are read in one query, so memory holds a chunk."""
    keys = union_all(*(select(Task.id, Task.due_at, Task.created_at).where(half) for half in _late_tasks_at(moment))).subquery()
    ordered = select(keys.c.id).order_by(keys.c.due_at, keys.c.created_at, keys.c.id).execution_options(yield_per=size)
    for part in uow.session.execute(ordered).partitions(size):
        ids = [row[0] for row in part]
        rows = {t.id: t for t in uow.session.scalars(select(Task).where(Task.id.in_(ids)))}
        yield [rows[i] for i in ids]


def late_case_chunks(uow: UnitOfWork, moment: datetime, size: int = 500) -> Iterator[list[tuple[Instance, list[str]]]]:
    """Every case late at ``moment`` with the dates it broke, as :func:`late_task_chunks`."""
    keys = union_all(*(select(Instance.id, Instance.target_due).where(half) for half in _late_cases_at(moment))).subquery()
    ordered = select(keys.c.id).order_by(keys.c.target_due.asc().nulls_last(), keys.c.id).execution_options(yield_per=size)
    for part in uow.session.execute(ordered).partitions(size):
        ids = [row[0] for row in part]
        rows = {i.id: i for i in uow.session.scalars(select(Instance).where(Instance.id.in_(ids)))}
        yield [(rows[i], _broken(rows[i], moment)) for i in ids]


def _broken(instance: Instance, moment: datetime) -> list[str]:
    return [name for name, due in (("target", instance.target_due), ("legal", instance.legal_due))
            if due is not None and due < moment]
