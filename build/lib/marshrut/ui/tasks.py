"""Staff work: «Мої завдання» with filters, and one task with its form: claim, unclaim, complete.

Who may see, claim and complete a task, and whether the data fits its form, is decided by
the engine (``queries.get_task``, ``engine.cases``); the page shows the engine's answer.
"""

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from marshrut.api.deps import operation, operation_attempts
from marshrut.api.presenters import instance_body, task_list_body
from marshrut.engine import cases, queries, search, views
from marshrut.engine.access import Actor, may_complete
from marshrut.engine.errors import EngineError, FieldError, Forbidden, InvalidInput, NotFound
from marshrut.engine.queries import Page
from marshrut.ui import bp
from marshrut.ui.auth import login_required
from marshrut.ui.casework import casework
from marshrut.ui.manage import reassign_choices
from marshrut.ui.story import story
from marshrut.ui.cases import ENGINE_KEYS, PER_PAGE, SLA_LABELS, data_props, error_page, process_names, role_name, status_label
from marshrut.ui.forms import display_rows, fields, iso_date, parse, place_errors

MAX_FILTERED = 500  # a due-date filter is applied to at most this many tasks


@bp.route("/tasks")
@login_required()
def my_tasks(actor: Actor):
    """Мої завдання"""
    args = request.args
    chosen = {"process": args.get("process") or None, "sla": args.get("sla") or None,
              "due_before": args.get("due_before") or None, "mine": args.get("mine") == "1", "all": args.get("all") == "1",
              "q": (args.get("q") or "")[:100] or None}
    page = max(args.get("page", 1, type=int) or 1, 1)
    due_before = _date(chosen["due_before"])
    if chosen["due_before"] and due_before is None:
        flash("Дата «строк до» має бути у форматі дд.мм.рррр", "error")
        chosen["due_before"] = None
    with operation() as (uow, ctx):
        query = {"process_key": chosen["process"], "sla_status": chosen["sla"], "mine": chosen["mine"], "everything": chosen["all"],
                 "q": chosen["q"]}
        try:
            found = _list(uow, actor, ctx, query, page, due_before)
        except InvalidInput as error:
            flash(f"{error.message}: {'; '.join(e.message for e in error.errors)}", "error")
            found, chosen["sla"] = _list(uow, actor, ctx, {**query, "sla_status": None}, 1, due_before), None
        items = task_list_body(uow, ctx, found.items, actor)
        names = process_names(uow)
        if search.may_match_personal_data(chosen["q"]):
            search.record(uow, actor, ctx.now(), chosen["q"], found.total)
            uow.commit()
    return render_template("tasks.html", items=items, found=found, chosen=chosen, processes=names,
                           slas={k: SLA_LABELS[k] for k in queries.TASK_SLA})


def _list(uow: Any, actor: Actor, ctx: Any, query: dict[str, Any], page: int, due_before: date | None) -> Page[Any]:
    if due_before is None:
        return queries.list_tasks(uow, actor, ctx.now(), **query, page=page, per_page=PER_PAGE)
    every = queries.list_tasks(uow, actor, ctx.now(), **query, per_page=MAX_FILTERED).items
    kept = [t for t in every if t.due_at is not None and ctx.calendar.local_date(t.due_at) <= due_before]
    return Page(kept[(page - 1) * PER_PAGE: page * PER_PAGE], len(kept), page, PER_PAGE)


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(iso_date(text.strip())) if text else None
    except ValueError:
        return None


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required()
def task(task_id: int, actor: Actor):
    """Завдання: форма; POST — взяти в роботу, повернути в чергу або виконати"""
    if request.method == "GET":
        return _render(actor, task_id)
    action = request.form.get("action")
    if action in ("claim", "unclaim"):
        return _claim(actor, task_id, action)
    if action != "complete":
        flash("Невідома дія", "error")
        return redirect(url_for("ui.task", task_id=task_id))
    return _complete(actor, task_id)


def _complete(actor: Actor, task_id: int) -> Any:
    with operation() as (uow, _ctx):
        try:
            row = queries.get_task(uow, actor, task_id)
            schema = queries.definition_of(uow, queries.get_instance(uow, actor, row.instance_id)).forms.get(row.element_id) or {}
        except (NotFound, Forbidden) as error:
            return error_page(error)
    data, notes = parse(schema, request.form)
    try:
        name, number, status, next_steps, next_ids = _completion(actor, task_id, data)
    except InvalidInput as refused:  # nothing committed; the form is shown again with the errors
        by_field, general = place_errors(schema, refused.errors or [FieldError("/", refused.message)], notes)
        general = [refused.message, *(g for g in general if g != refused.message)]
        return _render(actor, task_id, data, by_field, general, 422)
    except EngineError as error:  # 403 / 409: say why, keep the user on the task
        flash(error.message, "error")
        return redirect(url_for("ui.task", task_id=task_id))
    flash(_done_message(name, number, status, next_steps), "success")
    mine = [task_id for task_id, role in next_ids if may_complete(actor, role)]
    if mine:
        flash(url_for("ui.task", task_id=mine[0]), "next-task")
    return redirect(url_for("ui.my_tasks"))


def _completion(actor: Actor, task_id: int, data: dict[str, Any]
                ) -> tuple[str, str, str, list[tuple[str, str]], list[tuple[int, str]]]:
    """Complete the step (again from the start if another user changed the case meanwhile)."""
    for attempt in operation_attempts():
        with attempt as (uow, ctx):
            done = cases.complete_task(uow, actor, ctx, task_id, data)
            uow.commit()
            return (done.task.name, done.instance.number, done.instance.status, [(t.name, t.role) for t in done.open_tasks],
                    [(t.id, t.role) for t in done.open_tasks])
    raise AssertionError("the last attempt either returns or raises")


def _done_message(name: str, number: str, status: str, next_steps: list[tuple[str, str]]) -> str:
    message = f"Крок «{name}» у справі {number} виконано."
    if next_steps:
        return message + " Далі: " + "; ".join(f"«{n}» ({role_name(r)})" for n, r in next_steps) + "."
    if status != "running":
        return message + f" Стан справи: {status_label(status)}."
    return message + " Справа очікує події за строком."


def _claim(actor: Actor, task_id: int, action: str) -> Any:
    with operation() as (uow, ctx):
        try:
            queries.get_task(uow, actor, task_id)
        except (NotFound, Forbidden) as error:
            return error_page(error)
        try:
            (cases.claim if action == "claim" else cases.unclaim)(uow, actor, ctx, task_id)
            uow.commit()
        except EngineError as error:
            flash(error.message, "error")
            return redirect(url_for("ui.task", task_id=task_id))
    flash("Завдання взято в роботу" if action == "claim" else "Завдання повернуто в чергу ролі", "success")
    return redirect(url_for("ui.task", task_id=task_id))


def _render(actor: Actor, task_id: int, values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
            general: list[str] | None = None, status: int = 200) -> Any:
    with operation() as (uow, ctx):
        try:
            row = queries.get_task(uow, actor, task_id)
            instance = queries.get_instance(uow, actor, row.instance_id)
            case = instance_body(uow, ctx, actor, instance)  # the case's data is shown: an audited read
        except EngineError as error:
            return error_page(error)
        definition = queries.definition_of(uow, instance)
        work = casework(uow, actor, ctx, instance, row.id)
        told = story(uow, definition, instance, data_props(definition), ctx.calendar.tz, before_task=row.id)
        reassign_to = reassign_choices(uow, actor, {"state": row.state, "role": row.role})
        uow.commit()
        schema = definition.forms.get(row.element_id) or {}
        task = views.task_view(row, ctx.now(), ctx.calendar, instance.number, schema, with_data=True)  # read audited above
        today = ctx.calendar.local_date(ctx.now())
    props = data_props(definition)
    start_props = (definition.forms.get("start") or {}).get("properties") or {}
    data = case["data"] or {}
    actionable = task["state"] == "ready" and may_complete(actor, task["role"], task.get("provider_id"))
    return render_template(
        "task.html", task=task, case=case, schema=schema, status=status,
        fields=fields(schema, values, errors, today, prefill=case["data"]) if actionable else [], general=general or [],
        can_claim=actionable and not task["assignee"], can_unclaim=actionable and task["assignee"] == actor.login,
        can_complete=actionable and task["assignee"] in (None, actor.login), actionable=actionable,
        application=display_rows(start_props, {k: v for k, v in data.items() if k in start_props}),
        inputs=display_rows(props, task["inputs"], skip=ENGINE_KEYS),
        submitted=display_rows(schema.get("properties") or {}, task["data"] or {}), work=work, story=told, reassign_to=reassign_to,
    ), status
