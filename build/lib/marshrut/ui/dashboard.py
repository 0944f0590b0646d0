"""Managers' deadline control: cases and tasks on track / at risk / overdue by process and by
step, the overdue list, actual step durations against the card's limits, and a CSV export.
Every figure comes from ``engine.sla`` (the same calls as ``/api/v1/sla/*``).
"""

import csv
import io
import re
import zipfile
from datetime import datetime
from typing import Any, Iterator

from flask import Response, render_template, request, stream_with_context

from marshrut.api.deps import operation
from marshrut.engine import definitions, queries, sla, views
from marshrut.engine.access import Actor
from marshrut.ui import bp
from marshrut.ui.auth import login_required
from marshrut.ui.cases import process_names, role_name, ua_date, ua_datetime

OVERSEERS = ("manager", "admin")
HOURS_PER_DAY = 24
DEADLINES = {"target": "до нормативного строку справи", "legal": "до граничного строку справи"}


def _figures(page: int = 1) -> dict[str, Any]:
    """The page's figures: aggregates from SQL, and one page of each overdue list (with totals)."""
    with operation() as (uow, ctx):
        now = ctx.now()
        summary = sla.summary(uow, now)
        late = sla.overdue_page(uow, now, page, PER_PAGE)
        numbers = queries.numbers_of(uow, {t.instance_id for t in late.tasks})
        tasks = [_task_row(t, now, ctx, numbers.get(t.instance_id)) for t in late.tasks]
        waiting = queries.open_tasks_of(uow, [i.id for i, _ in late.instances])
        instances = [_case_row(uow, ctx, i, which, waiting[i.id], now) for i, which in late.instances]
        steps, order = _steps(uow)
        summary["steps"].sort(key=order)
        names = process_names(uow)
    pages = max(1, -(-max(late.total_tasks, late.total_instances) // PER_PAGE))
    return {"now": now, "summary": summary, "tasks": tasks, "instances": instances, "steps": steps, "names": names,
            "tasks_by_process": _tasks_by_process(summary["steps"]), "total_tasks": late.total_tasks,
            "total_instances": late.total_instances, "page": page, "pages": pages}


PER_PAGE = 50


def _task_row(task: Any, now: datetime, ctx: Any, number: str | None) -> dict[str, Any]:
    return {**views.task_view(task, now, ctx.calendar, number), "late_days": _late(task.due_at, now)}


def _case_row(uow: Any, ctx: Any, instance: Any, which: list[str], waiting: list[Any], now: datetime) -> dict[str, Any]:
    view = views.instance_view(instance, queries.definition_of(uow, instance), waiting, [], now, ctx.calendar, with_data=False)
    return {**view, "breached": which, "late_days": _late(instance.legal_due if "legal" in which else instance.target_due, now)}


def _steps(uow: Any) -> tuple[list[dict[str, Any]], Any]:
    """Step durations in the card's order (not by id), with days beside hours; and that order."""
    flow = {(d.key, step["element_id"]): i for d in definitions.latest_all(uow) for i, step in enumerate(d.steps)}

    def in_flow(row: dict[str, Any]) -> tuple[str, int]:
        return row["process_key"], flow.get((row["process_key"], row["element_id"]), len(flow))

    steps = sorted(sla.step_durations(uow), key=in_flow)
    for step in steps:
        step["median_days"] = _days(step["median_hours"])
        step["p90_days"] = _days(step["p90_hours"])
    return steps, in_flow


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
    """Контроль строків (прострочені — сторінками по PER_PAGE; усе — у вивантаженні)"""
    figures = _figures(max(1, request.args.get("page", 1, type=int) or 1))
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
    """Контроль строків одним CSV (UTF-8 з BOM, роздільник «;» — як відкриває українська локаль Excel),
    таблиці одна за одною; записується потоком, тож пам'ять не росте з кількістю справ"""
    now = _now()

    def body() -> Iterator[bytes]:
        yield "\ufeff".encode("utf-8")
        yield _encode([[f"Контроль строків станом на {ua_datetime(now)}"]])
        for title, header, chunks in _tables(now):
            yield _encode([[], [title], header])
            for rows in chunks:
                yield _encode(rows)

    return Response(stream_with_context(body()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="marshrut-deadlines-{now:%Y-%m-%d}.csv"',
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



@bp.route("/dashboard.zip")
@login_required(*OVERSEERS)
def dashboard_zip(actor: Actor):
    """Контроль строків: кожна таблиця — окремий CSV (UTF-8 з BOM, «;») в одному ZIP, записаному потоком"""
    now = _now()

    def body() -> Iterator[bytes]:
        out = _Drain()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for number, (title, header, chunks) in enumerate(_tables(now), start=1):
                with archive.open(f"{number}-{ZIP_NAMES[number - 1]}.csv", "w", force_zip64=True) as member:
                    member.write("\ufeff".encode("utf-8") + _encode([[title], header]))
                    for rows in chunks:
                        member.write(_encode(rows))
                        yield out.take()
                yield out.take()
        yield out.take()

    return Response(stream_with_context(body()), mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="marshrut-deadlines-{now:%Y-%m-%d}.zip"',
    })


ZIP_NAMES = ("overdue-cases", "overdue-tasks", "open-tasks-by-step", "step-durations")


class _Drain(io.RawIOBase):
    """An unseekable sink the ZIP writer writes to; :meth:`take` hands over what came since."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def _now() -> datetime:
    with operation() as (_uow, ctx):
        return ctx.now()


def _encode(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows([csv_cell(value) for value in row] for row in rows)
    return out.getvalue().encode("utf-8")


def _tables(now: datetime) -> Iterator[tuple[str, list[str], Iterator[list[list[Any]]]]]:
    """The dashboard's four tables as (title, header, chunks of rows); the overdue lists are
    read a chunk at a time (:func:`engine.sla.late_case_chunks`), the step tables are aggregates."""
    with operation() as (uow, ctx):
        names = process_names(uow)

        def label(key: str) -> str:
            return names.get(key, key)

        def cases() -> Iterator[list[list[Any]]]:
            for chunk in sla.late_case_chunks(uow, now):
                waiting = queries.open_tasks_of(uow, [i.id for i, _ in chunk])
                yield [[row["number"], label(row["process_key"]), ua_date(row["received_at"]), ua_date(row["target_date"]),
                        ua_date(row["legal_date"]), ", ".join(BROKEN[b] for b in row["breached"]), _num(row["late_days"]),
                        "; ".join(t["name"] for t in row["open_tasks"])]
                       for row in (_case_row(uow, ctx, i, which, waiting[i.id], now) for i, which in chunk)]
                uow.session.expunge_all()

        def tasks() -> Iterator[list[list[Any]]]:
            for chunk in sla.late_task_chunks(uow, now):
                numbers = queries.numbers_of(uow, {t.instance_id for t in chunk})
                yield [[row["instance_number"], label(row["process_key"]), row["name"], role_name(row["role"]),
                        row["assignee"] or "", ua_datetime(row["due_at"]), _num(row["late_days"])]
                       for row in (_task_row(t, now, ctx, numbers.get(t.instance_id)) for t in chunk)]
                uow.session.expunge_all()

        yield ("Прострочені справи", ["Номер", "Процес", "Надійшло", "Нормативний строк", "Граничний строк", "Порушено",
                                      "Днів прострочення", "Поточні кроки"], cases())
        yield ("Прострочені завдання", ["Справа", "Процес", "Крок", "Виконавець", "Взяв у роботу", "Строк",
                                        "Днів прострочення"], tasks())
        steps, order = _steps(uow)
        open_steps = sorted(sla.summary(uow, now)["steps"], key=order)
        yield ("Кроки: відкриті завдання", ["Процес", "Крок", "Вчасно", "Під загрозою", "Прострочено", "Усього"],
               iter([[[label(s["process_key"]), s["name"], s["on_track"], s["at_risk"], s["overdue"], s["total"]]
                      for s in open_steps]]))
        yield ("Кроки: фактична тривалість виконаних завдань",
               ["Процес", "Крок", "Виконано", "Медіана, дн.", "90-й процентиль, дн.", "Ліміт картки, дн.", "Частка прострочених"],
               iter([[[label(s["process_key"]), s["name"], s["completed"], _num(s["median_days"]), _num(s["p90_days"]),
                       _num(s["limit_days"] if s["limit_days"] is not None else DEADLINES.get(s["deadline"] or "", "")),
                       _num(s["share_late"])] for s in steps]]))


BROKEN = {"target": "нормативний", "legal": "граничний"}


def _num(value: Any) -> str:
    """Numbers with a decimal comma, as Ukrainian Excel reads them."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)
