"""Cases: the list a user may see, and one case with its data, open steps, timers, SLA,
history and diagram. Also the labels and date formats every page of this kind shares.
"""

from datetime import date, datetime
from typing import Any

from flask import flash, render_template, render_template_string, request, url_for
from sqlalchemy import select

from marshrut.api.deps import operation
from marshrut.api.presenters import instance_body
from marshrut.engine import audit, definitions, diagram, queries, reference, search, views
from marshrut.engine.access import Actor, may_complete
from marshrut.engine.errors import EngineError, Forbidden, InvalidInput, NotFound
from marshrut.engine.models import Task
from marshrut.engine.roles import ROLES
from marshrut.ui import bp
from marshrut.ui.auth import login_required
from marshrut.ui.forms import display_rows, titles_of

SLA_LABELS = {"on_track": "вчасно", "at_risk": "під загрозою", "overdue": "прострочено", "breached": "порушено"}
STATUS_LABELS = {"running": "у роботі", "completed": "завершено", "returned": "повернуто", "cancelled": "скасовано"}
STATE_LABELS = {"ready": "очікує виконання", "completed": "виконано", "cancelled": "скасовано"}
EVENT_LABELS = {
    "case_registered": "Звернення зареєстровано", "task_completed": "Крок виконано", "task_claimed": "Взято в роботу",
    "task_unclaimed": "Повернуто в чергу", "timer_fired": "Настав строк події", "case_finished": "Справу завершено",
    "case_cancelled": "Справу скасовано", "case_viewed": "Переглянуто дані справи",
    "task_viewed": "Переглянуто дані кроку",
    "incident_opened": "Інцидент: помилка автоматичного елемента", "incident_retry_failed": "Повтор елемента не вдався",
    "incident_resolved": "Інцидент розв'язано: елемент виконано", "case_migrated": "Справу перенесено на іншу версію процесу",
    "document_uploaded": "Додано документ", "document_downloaded": "Завантажено документ",
    "document_removed": "Вилучено документ зі списку", "comment_added": "Додано коментар",
    "task_reassigned": "Завдання передано іншому виконавцю",
    "paper_generated": "Сформовано документ",
}
#: Audited reads, hidden from the history unless asked for (?views=1).
READ_EVENTS = frozenset({"case_viewed", "task_viewed"})
#: Values the engine adds to a case's data; the page shows them as dates, not as form data.
ENGINE_KEYS = frozenset({"received_at", "received_date", "target_due", "legal_due"})
PER_PAGE = 50


def _moment(value: Any) -> datetime | date | None:
    if isinstance(value, (datetime, date)):
        return value
    if not value:
        return None
    text = str(value)
    return datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)


@bp.app_template_filter("ua_date")
def ua_date(value: Any) -> str:
    moment = _moment(value)
    return moment.strftime("%d.%m.%Y") if moment else "—"


@bp.app_template_filter("ua_datetime")
def ua_datetime(value: Any) -> str:
    moment = _moment(value)
    if moment is None:
        return "—"
    return moment.strftime("%d.%m.%Y %H:%M") if isinstance(moment, datetime) else moment.strftime("%d.%m.%Y")


@bp.app_template_filter("sla_label")
def sla_label(value: str | None) -> str:
    return SLA_LABELS.get(value or "", value or "—")


@bp.app_template_filter("status_label")
def status_label(value: str | None) -> str:
    return STATUS_LABELS.get(value or "", value or "—")


@bp.app_template_filter("state_label")
def state_label(value: str | None) -> str:
    return STATE_LABELS.get(value or "", value or "—")


@bp.app_template_filter("role_name")
def role_name(value: str | None) -> str:
    return ROLES.get(value or "", value or "—")


def error_page(error: EngineError) -> tuple[str, int]:
    """The engine's refusal as a page (404/403/409/422) with its own message, no stack trace."""
    status = 404 if isinstance(error, NotFound) else 403 if isinstance(error, Forbidden) else (
        422 if isinstance(error, InvalidInput) else 409)
    title = {404: "Не знайдено", 403: "Доступ заборонено", 409: "Дію не виконано", 422: "Неправильні дані"}[status]
    page = ('{% extends "base.html" %}{% block title %}{{ title }}{% endblock %}{% block content %}'
            '<section class="card narrow"><h1>{{ title }}</h1><p class="error" role="alert">{{ message }}</p>'
            '<p><a href="{{ back }}">Повернутися</a></p></section>{% endblock %}')
    return render_template_string(page, title=title, message=error.message, back=url_for("ui.home")), status


#: Values computed by a diagram's script task (no form or decision table names them).
SCRIPT_LABELS = {"income_per_member": "Середньомісячний дохід на члена сім’ї, грн"}


def data_props(definition: Any) -> dict[str, dict[str, Any]]:
    """Labels for a case's data: the forms' fields, then the decision tables' outputs."""
    props = titles_of(definition.forms)
    # A decision table's output has no form of its own: its codes read as the forms' titles of them.
    labels = {str(o["const"]): o["title"] for p in props.values() for o in p.get("oneOf") or []
              if isinstance(o, dict) and "const" in o and o.get("title")}
    for name, xml in (definition.dmn_xml or {}).items():
        try:
            root = diagram.parse_xml(xml.encode("utf-8") if isinstance(xml, str) else xml, name)
        except InvalidInput:
            continue
        for output in root.iter("{*}output"):
            if output.get("name") and output.get("label"):
                props.setdefault(output.get("name"), {"title": output.get("label"), "x-labels": labels})
    for name, title in SCRIPT_LABELS.items():
        props.setdefault(name, {"title": title})
    if "services" in props:  # one branch per chosen service: its element variable is a catalogue code
        catalogue = [{"const": s["code"], "title": f"{s['code']}. {s['name']}"} for s in reference.services()]
        props.setdefault("service", {"title": "Послуга", "oneOf": catalogue})
    return props


def process_names(uow: Any) -> dict[str, str]:
    return {d.key: d.name for d in definitions.latest_all(uow)}


def _filters() -> dict[str, str | None]:
    args = request.args
    return {name: (args.get(name) or None) for name in ("process", "status", "sla", "q")}


@bp.route("/cases")
@login_required()
def cases(actor: Actor):
    """Справи"""
    chosen = _filters()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    with operation() as (uow, ctx):
        try:
            found = queries.list_instances(uow, actor, ctx.now(), process_key=chosen["process"], status=chosen["status"],
                                           sla=chosen["sla"], q=(chosen["q"] or "")[:100] or None, page=page,
                                           per_page=PER_PAGE)
            search.record(uow, actor, ctx.now(), chosen["q"], found.total)
            uow.commit()
        except InvalidInput as error:
            flash(f"{error.message}: {'; '.join(e.message for e in error.errors)}", "error")
            found = queries.list_instances(uow, actor, ctx.now(), per_page=PER_PAGE)
            chosen = {k: None for k in chosen}
        now = ctx.now()
        waiting = queries.open_tasks_of(uow, [i.id for i in found.items])
        items = [views.instance_view(i, queries.definition_of(uow, i), waiting[i.id], [], now,
                                     ctx.calendar, with_data=False) for i in found.items]
        names = process_names(uow)
    return render_template("cases.html", items=items, found=found, chosen=chosen, processes=names,
                           statuses=STATUS_LABELS, slas={k: SLA_LABELS[k] for k in queries.CASE_SLA})


@bp.route("/cases/<int:instance_id>")
@login_required()
def case(instance_id: int, actor: Actor):
    """Справа"""
    with operation() as (uow, ctx):
        try:
            instance = queries.get_instance(uow, actor, instance_id)
            body = instance_body(uow, ctx, actor, instance)  # checks can_see, audits the read
        except EngineError as error:
            return error_page(error)
        definition = queries.definition_of(uow, instance)
        events = audit.history(uow, instance_id)
        from marshrut.ui.casework import casework  # ui.casework imports this module

        from marshrut.ui.story import story

        work = casework(uow, actor, ctx, instance)
        told = story(uow, definition, instance, data_props(definition), ctx.calendar.tz)
        steps = _step_names(uow, instance_id)
        uow.commit()
        props = data_props(definition)
        history = [_event(e, props, ctx) for e in events]
    completed = [h["element_id"] for h in history if h["event"] in ("task_completed", "timer_fired") and h["element_id"]]
    active = [t["element_id"] for t in body["open_tasks"]] + [w["element_id"] for w in body["waiting"]]
    start_props = (definition.forms.get("start") or {}).get("properties") or {}
    data = body["data"] or {}
    show_views = request.args.get("views") == "1"
    return render_template(
        "case.html", case=body, application=display_rows(start_props, {k: v for k, v in data.items() if k in start_props}),
        history=[h for h in history if show_views or h["event"] not in READ_EVENTS],
        views_count=sum(1 for h in history if h["event"] in READ_EVENTS), show_views=show_views,
        diagram_xml_url=url_for("ui.definition_xml", key=definition.key, version=definition.version),
        completed_ids=sorted(set(completed) - set(active)), active_ids=active,
        failed_ids=[i["element_id"] for i in body.get("incidents", [])],
        may_act={t["id"] for t in body["open_tasks"] if may_complete(actor, t["role"], t.get("provider_id"))},
        work=work, steps=steps, story=told,
    )


def _step_names(uow: Any, instance_id: int) -> dict[int, str]:
    """Names of the case's steps by task id (comments name the step they were made on)."""
    return dict(uow.session.execute(select(Task.id, Task.name).where(Task.instance_id == instance_id)).all())


def _event(event: Any, props: dict[str, dict[str, Any]], ctx: Any) -> dict[str, Any]:
    data = event.data or {}
    changed = data.get("data") if isinstance(data.get("data"), dict) else {}
    what = EVENT_LABELS.get(event.event, event.event)
    if data.get("name"):
        what = f"{what}: «{data['name']}»"
    if event.event == "case_finished":
        what = f"{what} ({status_label(data.get('status'))})"
    if event.event == "case_cancelled" and data.get("reason"):
        what = f"{what}: {data['reason']}"
    return {
        "event": event.event, "what": what, "actor": event.actor or "система", "task_id": event.task_id,
        "at": event.at.astimezone(ctx.calendar.tz), "element_id": data.get("element_id"),
        "rows": display_rows(props, changed) if event.event != "case_registered" else [],
    }
