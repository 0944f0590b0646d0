"""What managers ask: what is late now (or at a moment), where cases wait, how long steps take."""

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, union_all

from engine.models import Definition, Instance, Task
from engine.store import UnitOfWork
from engine.views import task_sla


def _open_at(moment: datetime) -> Any:
    """SQL: a task that was open at ``moment`` (created by then, not yet closed)."""
    return and_(Task.created_at <= moment, or_(Task.completed_at.is_(None), Task.completed_at > moment))


def _running_at(moment: datetime) -> Any:
    return and_(Instance.received_at <= moment, or_(Instance.completed_at.is_(None), Instance.completed_at > moment))


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


def overdue_page(uow: UnitOfWork, moment: datetime, page: int = 1, per_page: int | None = 50) -> OverduePage:
    """A page of :func:`overdue` (``per_page=None``: everything), oldest due first, with the totals.

    The tasks are found through the two halves of :func:`_late_tasks_at` (a UNION ALL the
    database walks in index order), then read by id: the answer costs the page, not every
    late task of the department.
    """
    halves = _late_tasks_at(moment)
    keys = union_all(*(select(Task.id, Task.due_at, Task.created_at).where(half) for half in halves)).subquery()
    ordered = select(keys.c.id).order_by(keys.c.due_at, keys.c.created_at, keys.c.id)
    if per_page is not None:
        ordered = ordered.limit(per_page).offset((page - 1) * per_page)
    ids = list(uow.session.scalars(ordered))
    rows = {t.id: t for t in uow.session.scalars(select(Task).where(Task.id.in_(ids)))} if ids else {}
    tasks = [rows[i] for i in ids]
    total_tasks = len(tasks) if per_page is None else sum(
        uow.session.scalar(select(func.count()).select_from(Task).where(half)) or 0 for half in halves)
    case_halves = _late_cases_at(moment)
    keys = union_all(*(select(Instance.id, Instance.target_due).where(half) for half in case_halves)).subquery()
    ordered = select(keys.c.id).order_by(keys.c.target_due, keys.c.id)
    if per_page is not None:
        ordered = ordered.limit(per_page).offset((page - 1) * per_page)
    case_ids = list(uow.session.scalars(ordered))
    found = {i.id: i for i in uow.session.scalars(select(Instance).where(Instance.id.in_(case_ids)))} if case_ids else {}
    instances = []
    for instance in (found[i] for i in case_ids):
        which = [name for name, due in (("target", instance.target_due), ("legal", instance.legal_due))
                 if due is not None and due < moment]
        instances.append((instance, which))
    total_instances = len(instances) if per_page is None else sum(
        uow.session.scalar(select(func.count()).select_from(Instance).where(half)) or 0 for half in case_halves)
    return OverduePage(tasks, instances, total_tasks, total_instances)


def _late_cases_at(moment: datetime) -> tuple[Any, Any]:
    """Running at ``moment`` and past its target or legal date then, as two index-friendly
    halves: still running (ix_instances_status_target / _legal), or finished only after it."""
    met_later = or_(Instance.sla_met_at.is_(None), Instance.sla_met_at > moment)
    late = and_(Instance.received_at <= moment,
                or_(and_(Instance.target_due < moment, met_later), and_(Instance.legal_due < moment, met_later)))
    running = and_(Instance.status == "running", Instance.completed_at.is_(None))
    return and_(running, late), and_(Instance.completed_at > moment, late)


def summary(uow: UnitOfWork, moment: datetime) -> dict[str, Any]:
    """Open tasks counted by process, step and SLA status, and cases by process and status."""
    steps: Counter[tuple[str, str, str, str]] = Counter()
    for task in uow.session.scalars(select(Task).where(_open_at(moment))):
        status = task_sla(_as_open(task), moment)
        steps[(task.process_key, task.element_id, task.name, status)] += 1
    by_step: dict[tuple[str, str], dict[str, Any]] = {}
    for (process_key, element_id, name, status), count in sorted(steps.items()):
        entry = by_step.setdefault((process_key, element_id), {
            "process_key": process_key, "element_id": element_id, "name": name,
            "on_track": 0, "at_risk": 0, "overdue": 0, "total": 0,
        })
        entry[status] += count
        entry["total"] += count
    cases: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "running": 0, "target": {"on_track": 0, "at_risk": 0, "breached": 0},
        "legal": {"on_track": 0, "at_risk": 0, "breached": 0},
    })
    for instance in uow.session.scalars(select(Instance).where(_running_at(moment))):
        entry = cases[instance.process_key]
        entry["running"] += 1
        for name, due in (("target", instance.target_due), ("legal", instance.legal_due)):
            entry[name][_case_status(instance, due, moment)] += 1
    return {"at": moment.isoformat(), "steps": list(by_step.values()),
            "processes": [{"process_key": k, **v} for k, v in sorted(cases.items())]}


def _as_open(task: Task) -> Task:
    """The task as it stood while open (its SLA then, not how it closed)."""
    clone = Task(**{c.key: getattr(task, c.key) for c in Task.__table__.columns})
    clone.state = "ready"
    return clone


def _case_status(instance: Instance, due: datetime | None, moment: datetime) -> str:
    if due is None:
        return "on_track"
    met = instance.sla_met_at if instance.sla_met_at and instance.sla_met_at <= moment else None
    if (met or moment) > due:
        return "breached"
    if met is None and instance.forecast_at is not None and instance.forecast_at > due:
        return "at_risk"
    return "on_track"


def step_durations(uow: UnitOfWork, process_key: str | None = None) -> list[dict[str, Any]]:
    """Per step: completed count, median and 90th-percentile duration (hours), share late, limit."""
    query = select(Task).where(Task.state == "completed")
    if process_key:
        query = query.where(Task.process_key == process_key)
    groups: dict[tuple[str, str], list[Task]] = defaultdict(list)
    for task in uow.session.scalars(query):
        groups[(task.process_key, task.element_id)].append(task)
    limits = _limits(uow)
    rows = []
    for (key, element_id), tasks in sorted(groups.items()):
        hours = sorted((t.completed_at - t.created_at).total_seconds() / 3600 for t in tasks if t.completed_at)
        late = sum(1 for t in tasks if t.due_at and t.completed_at and t.completed_at > t.due_at)
        step = limits.get((key, element_id), {})
        rows.append({
            "process_key": key, "element_id": element_id, "name": tasks[0].name, "completed": len(tasks),
            "median_hours": round(statistics.median(hours), 2) if hours else None,
            "p90_hours": round(_percentile(hours, 0.9), 2) if hours else None,
            "share_late": round(late / len(tasks), 4), "limit_days": step.get("days"),
            "limit_days_min": step.get("days_min"), "calendar": step.get("calendar"), "deadline": step.get("deadline"),
        })
    return rows


def _percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    index = max(0, min(len(sorted_values) - 1, int(round(share * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def _limits(uow: UnitOfWork) -> dict[tuple[str, str], dict[str, Any]]:
    """Step limits of the newest version of every process."""
    limits: dict[tuple[str, str], dict[str, Any]] = {}
    for definition in uow.session.scalars(select(Definition).order_by(Definition.version)):
        for step in definition.steps:
            limits[(definition.key, step["element_id"])] = step
    return limits
