"""Plain-dict pictures of tasks and cases, as the API and the pages show them."""

from datetime import datetime
from typing import Any

from marshrut.engine.business_calendar import BusinessCalendar
from marshrut.engine.deadlines import case_sla_status, task_sla_status
from marshrut.engine.models import Definition, Instance, Task, Timer


def task_sla(task: Task, now: datetime) -> str:
    """``on_track`` / ``at_risk`` / ``overdue`` of an open task; a closed one by when it closed."""
    if task.due_at is None:
        return "on_track"
    if task.state != "ready":
        moment = task.completed_at or now
        return "overdue" if moment > task.due_at else "on_track"
    if now > task.due_at:
        return "overdue"
    if task.at_risk_at is not None and now >= task.at_risk_at:
        return "at_risk"
    return task_sla_status(now, task.created_at, task.due_at)


def task_view(task: Task, now: datetime, calendar: BusinessCalendar, number: str | None = None,
              form: dict[str, Any] | None = None, with_data: bool = False, applicant: str | None = None,
              acting_roles: frozenset[str] | None = None) -> dict[str, Any]:
    """A task as shown; its form data (personal data) only ``with_data``: lists never carry it,
    and a caller that shows it audits the read (``task_viewed`` or ``case_viewed``).
    ``acting_roles``: the viewer's roles; a task none of them completes is marked ``participation``."""
    return {
        "id": task.id, "instance_id": task.instance_id, "instance_number": number, "applicant": applicant,
        "process_key": task.process_key,
        "element_id": task.element_id, "name": task.name, "lane": task.lane, "role": task.role, "action": task.action,
        "participants": task.participants, "state": task.state, "assignee": task.assignee,
        "created_at": _iso(task.created_at, calendar), "due_at": _iso(task.due_at, calendar),
        "due_date": calendar.local_date(task.due_at).isoformat() if task.due_at else None,
        "sla_status": task_sla(task, now), "completed_at": _iso(task.completed_at, calendar),
        "completed_by": task.completed_by, "inputs": task.inputs or {}, "data": task.data if with_data else None, "form": form,
        "provider_id": task.provider_id,
        "participation": acting_roles is not None and task.role not in acting_roles,
    }


def step_record(task: Task, calendar: BusinessCalendar) -> dict[str, Any]:
    """One completed step of a case with its own data, as it was submitted (issue 12 item 10)."""
    return {"task_id": task.id, "element_id": task.element_id, "name": task.name,
            "completed_at": _iso(task.completed_at, calendar), "completed_by": task.completed_by, "data": task.data or {}}


def case_sla(instance: Instance, due: datetime | None, now: datetime) -> str:
    if instance.status != "running":
        finished = instance.completed_at or now
        return "breached" if due is not None and finished > due else "on_track"
    return case_sla_status(now, due, instance.forecast_at)


def instance_view(instance: Instance, definition: Definition, open_tasks: list[Task], timers: list[Timer],
                  now: datetime, calendar: BusinessCalendar, with_data: bool = True,
                  incidents: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A case; ``incidents`` (its open ones, as :func:`engine.incidents.view`) only when given."""
    view = {
        "id": instance.id, "number": instance.number, "process_key": instance.process_key,
        "process_name": definition.name, "version": definition.version, "status": instance.status,
        "received_at": _iso(instance.received_at, calendar),
        "target_date": _date(instance.target_due, calendar), "legal_date": _date(instance.legal_due, calendar),
        "forecast_date": _date(instance.forecast_at, calendar), "forecast_basis": instance.forecast_basis,
        "endorse_by": (instance.data or {}).get("endorse_by"),
        "sla": {"target": case_sla(instance, instance.target_due, now), "legal": case_sla(instance, instance.legal_due, now)},
        "applicant": instance.applicant_name,
        "open_tasks": [task_view(t, now, calendar, instance.number, applicant=instance.applicant_name) for t in open_tasks],
        "waiting": [{"element_id": t.element_id, "name": t.name, "fires_at": _iso(t.fires_at, calendar)} for t in timers],
        "created_at": _iso(instance.created_at, calendar), "created_by": instance.created_by,
        "completed_at": _iso(instance.completed_at, calendar),
        "data": instance.data if with_data else None,
    }
    if incidents is not None:
        view["incidents"] = incidents
    return view


def _iso(moment: datetime | None, calendar: BusinessCalendar) -> str | None:
    return moment.astimezone(calendar.tz).isoformat() if moment else None


def _date(moment: datetime | None, calendar: BusinessCalendar) -> str | None:
    return calendar.local_date(moment).isoformat() if moment else None
