"""Managers' deadline control: cases and tasks on track / at risk / overdue by process and by
step, the overdue list, actual step durations against the card's limits, and a CSV export.
Every figure comes from ``engine.sla`` (the same calls as ``/api/v1/sla/*``).
"""

import csv
import io
import re
from datetime import datetime
from typing import Any

from flask import Response, render_template

from api.deps import operation
from engine import definitions, queries, sla, views
from engine.access import Actor
from ui import bp
from ui.auth import login_required
from ui.cases import process_names, role_name, ua_date, ua_datetime

OVERSEERS = ("manager", "admin")
HOURS_PER_DAY = 24
DEADLINES = {"target": "до нормативного строку справи", "legal": "до граничного строку справи"}


def _figures() -> dict[str, Any]:
    with operation() as (uow, ctx):
        now = ctx.now()
        summary = sla.summary(uow, now)
        late_tasks, late_cases = sla.overdue(uow, now)
        numbers = queries.numbers_of(uow, {t.instance_id for t in late_tasks})
        tasks = [{**views.task_view(t, now, ctx.calendar, numbers.get(t.instance_id)), "late_days": _late(t.due_at, now)}
                 for t in late_tasks]
        instances = [
            {**views.instance_view(i, queries.definition_of(uow, i), queries.open_tasks(uow, i.id), [], now, ctx.calendar,
                                   with_data=False), "breached": which,
             "late_days": _late(i.legal_due if "legal" in which else i.target_due, now)}
            for i, which in late_cases
        ]
        flow = {(d.key, step["element_id"]): i for d in definitions.latest_all(uow) for i, step in enumerate(d.steps)}

        def in_flow(row: dict[str, Any]) -> tuple[str, int]:  # steps in the card's order, not by id
            return row["process_key"], flow.get((row["process_key"], row["element_id"]), len(flow))

        steps = sorted(sla.step_durations(uow), key=in_flow)
        summary["steps"].sort(key=in_flow)
        names = process_names(uow)
    for step in steps:
        step["median_days"] = _days(step["median_hours"])
        step["p90_days"] = _days(step["p90_hours"])
    return {"now": now, "summary": summary, "tasks": tasks, "instances": instances, "steps": steps, "names": names,
            "tasks_by_process": _tasks_by_process(summary["steps"])}


def _short(text: str, size: int = 42) -> str:
    return text if len(text) <= size else text[: size - 1].rstrip() + "…"


def _late(due: datetime | None, now: datetime) -> float | None:
    return round((now - due).total_seconds() / 86400, 1) if due else None


def _days(hours: float | None) -> float | None:
    return round(hours / HOURS_PER_DAY, 2) if hours is not None else None


def _tasks_by_process(steps: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for step in steps:
        entry = totals.setdefault(step["process_key"], {"on_track": 0, "at_risk": 0, "overdue": 0, "total": 0})
        for key in entry:
            entry[key] += step[key]
    return totals


@bp.route("/dashboard")
@login_required(*OVERSEERS)
def dashboard(actor: Actor):
    """Контроль строків"""
    figures = _figures()
    chart = {
        "labels": [_short(s["name"]) for s in figures["steps"]],
        "titles": [f"{s['name']} ({figures['names'].get(s['process_key'], s['process_key'])})" for s in figures["steps"]],
        "median": [s["median_days"] for s in figures["steps"]],
        "p90": [s["p90_days"] for s in figures["steps"]],
        "limit": [s["limit_days"] for s in figures["steps"]],
    }
    with operation() as (_uow, ctx):
        regime = ctx.calendar.regime_in_force(ctx.calendar.local_date(ctx.now()))
    return render_template("dashboard.html", chart=chart, regime=regime, **figures)


@bp.route("/dashboard.csv")
@login_required(*OVERSEERS)
def dashboard_csv(actor: Actor):
    """Контроль строків у CSV (UTF-8 з BOM, роздільник «;» — як відкриває українська локаль Excel)"""
    figures = _figures()
    names = figures["names"]
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow([f"Контроль строків станом на {ua_datetime(figures['now'])}"])
    writer.writerow([])
    writer.writerow(["Прострочені справи"])
    writer.writerow(["Номер", "Процес", "Надійшло", "Нормативний строк", "Граничний строк", "Порушено", "Днів прострочення",
                     "Поточні кроки"])
    for case in figures["instances"]:
        writer.writerow([case["number"], names.get(case["process_key"], case["process_key"]), ua_date(case["received_at"]),
                         ua_date(case["target_date"]), ua_date(case["legal_date"]),
                         ", ".join({"target": "нормативний", "legal": "граничний"}[b] for b in case["breached"]),
                         _num(case["late_days"]), "; ".join(t["name"] for t in case["open_tasks"])])
    writer.writerow([])
    writer.writerow(["Прострочені завдання"])
    writer.writerow(["Справа", "Процес", "Крок", "Виконавець", "Взяв у роботу", "Строк", "Днів прострочення"])
    for task in figures["tasks"]:
        writer.writerow([task["instance_number"], names.get(task["process_key"], task["process_key"]), task["name"],
                         role_name(task["role"]), task["assignee"] or "", ua_datetime(task["due_at"]), _num(task["late_days"])])
    writer.writerow([])
    writer.writerow(["Кроки: відкриті завдання"])
    writer.writerow(["Процес", "Крок", "Вчасно", "Під загрозою", "Прострочено", "Усього"])
    for step in figures["summary"]["steps"]:
        writer.writerow([names.get(step["process_key"], step["process_key"]), step["name"], step["on_track"], step["at_risk"],
                         step["overdue"], step["total"]])
    writer.writerow([])
    writer.writerow(["Кроки: фактична тривалість виконаних завдань"])
    writer.writerow(["Процес", "Крок", "Виконано", "Медіана, дн.", "90-й процентиль, дн.", "Ліміт картки, дн.",
                     "Частка прострочених"])
    for step in figures["steps"]:
        limit = step["limit_days"] if step["limit_days"] is not None else DEADLINES.get(step["deadline"] or "", "")
        writer.writerow([names.get(step["process_key"], step["process_key"]), step["name"], step["completed"],
                         _num(step["median_days"]), _num(step["p90_days"]), _num(limit), _num(step["share_late"])])
    body = "\ufeff" + out.getvalue()
    stamp = figures["now"].strftime("%Y-%m-%d")
    return Response(body.encode("utf-8"), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="marshrut-deadlines-{stamp}.csv"',
        "Content-Type": "text/csv; charset=utf-8",
    })


#: Cells a spreadsheet would read as a formula (or that hide one behind a tab or carriage return).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


def csv_cell(value: Any) -> Any:
    """A cell as written to the CSV: text that starts like a formula gets a leading ``'`` (OWASP's
    advice against CSV injection), so a step named ``=HYPERLINK(…)`` stays text; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` (``;``, CRLF, as Ukrainian Excel opens it) that escapes every cell with :func:`csv_cell`."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out, delimiter=";", lineterminator="\r\n")

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([csv_cell(value) for value in row])


def _num(value: Any) -> str:
    """Numbers with a decimal comma, as Ukrainian Excel reads them."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)
