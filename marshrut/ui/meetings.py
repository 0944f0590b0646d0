"""«Засідання комісії» and «Засідання виконкому»: the cases ready at one step of the commission's or
the committee's work, with the facts they decide on, completed together (engine ``batch``), and
the papers of the meeting (engine ``paperwork``).

The page only gathers the form: which step, which cases, the shared fields and each row's own.
Each case is completed by the engine as a single completion would be; the result per case is shown.
"""

import io
from decimal import Decimal
from typing import Any

from flask import render_template, request, send_file
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from marshrut.api.deps import database, operation, request_session, settings
from marshrut.engine import audit, batch, definitions, documents, paperwork, queries
from marshrut.engine.access import Actor
from marshrut.engine.errors import EngineError, NotFound
from marshrut.engine.models import Instance
from marshrut.ui import bp
from marshrut.ui.auth import login_required
from marshrut.ui.cases import error_page
from marshrut.ui.forms import choices, fields, parse

MEETINGS: dict[str, dict[str, Any]] = {
    "commission": {"title": "Засідання комісії", "role": "programs_deputy",
                   "steps": ["prepare_commission_materials", "prepare_commission_minutes", "draft_committee_decision"],
                   "papers": ["commission_minutes", "committee_draft_decision"]},
    "committee": {"title": "Засідання виконкому", "role": "programs_head",
                  "steps": ["endorse_draft_decision", "record_committee_decision"],
                  "papers": ["committee_draft_decision", "payment_register", "decision_notice"]},
}
#: Fields each case gets on its own row; the rest of a step's form is shared by the whole group.
PER_ROW = ("commission_recommendation", "recommended_amount", "decision", "aid_amount", "refusal_ground", "refusal_ground_text")
#: A row's field left out when its choice makes it meaningless (an amount on a refusal, a ground on a grant).
DROP_WHEN = {"recommended_amount": ("commission_recommendation", "refuse"), "aid_amount": ("decision", "refused"),
             "refusal_ground": ("decision", "granted"), "refusal_ground_text": ("decision", "granted")}
PAPER_TITLES = {"commission_minutes": "Протокол засідання комісії (DOCX)",
                "committee_draft_decision": "Проєкт рішення з додатками (DOCX)",
                "payment_register": "Реєстр на виплату (XLSX)", "decision_notice": "Повідомлення заявникові (DOCX)"}
PROCESS = "address_aid"


@bp.route("/meetings/<meeting>", methods=["GET", "POST"])
@login_required()
def meeting(meeting: str, actor: Actor):
    """Засідання комісії / виконкому: справи, готові до кроку, одним поданням"""
    if meeting not in MEETINGS:
        return error_page(NotFound("Такого засідання немає"))
    spec = MEETINGS[meeting]
    step = request.values.get("step") or spec["steps"][-1 if meeting == "committee" else 0]
    if step not in spec["steps"]:
        step = spec["steps"][0]
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    if request.method == "POST":
        results, errors = _submit(actor, step)
    with operation() as (uow, ctx):
        compiled = _latest(uow)
        schema = (compiled.forms.get(step) or {}) if compiled else {}
        today = ctx.calendar.local_date(ctx.now())
        tasks = queries.list_tasks(uow, actor, ctx.now(), element_id=step, process_key=PROCESS, per_page=500).items
        instances = _instances(uow, [t.instance_id for t in tasks] + [r["instance_id"] for r in results if r["instance_id"]])
        scans = documents.scans_per_case(uow, sorted(instances))
        for task in tasks:  # the rows show personal data: each case's read is audited
            audit.record(uow, "case_viewed", actor.login, ctx.now(), task.instance_id, data={"page": f"meeting:{meeting}"})
        uow.commit()
        counts = {s: queries.list_tasks(uow, actor, ctx.now(), element_id=s, process_key=PROCESS, per_page=1).total
                  for s in spec["steps"]}
    titles = {s: ((compiled.step(s) if compiled else None) or {}).get("name", s) for s in spec["steps"]}
    props = schema.get("properties") or {}
    shared = {"properties": {k: v for k, v in props.items() if k not in PER_ROW},
              "required": [r for r in schema.get("required") or [] if r not in PER_ROW]}
    row_schema = {"properties": {k: v for k, v in props.items() if k in PER_ROW}}
    rows = [{**_row(t, instances[t.instance_id], row_schema), "scans": scans.get(t.instance_id, 0)} for t in tasks]
    for result in results:
        found = instances.get(result["instance_id"])
        result["number"], result["name"] = (found.number, _name(found.data)) if found else ("—", "")
    return render_template(
        "meeting.html", meeting=meeting, spec=spec, step=step, counts=counts, titles=titles, rows=rows,
        shared=fields(shared, today=today), row_fields=list(row_schema["properties"]), results=results, errors=errors,
        paper_titles=PAPER_TITLES, listed_ids=[r["instance_id"] for r in rows],
        decided_ids=[r["instance_id"] for r in results if r["ok"]],
    )


def _submit(actor: Actor, step: str) -> tuple[list[dict[str, Any]], list[str]]:
    task_ids = [int(v) for v in request.form.getlist("task") if v.isdigit()]
    if not task_ids:
        return [], ["Позначте щонайменше одну справу"]
    with operation() as (uow, _ctx):
        compiled = _latest(uow)
    schema = (compiled.forms.get(step) or {}) if compiled else {}
    props = schema.get("properties") or {}
    shared, _notes = parse({"properties": {k: v for k, v in props.items() if k not in PER_ROW}}, request.form)
    row_schema = {"properties": {k: v for k, v in props.items() if k in PER_ROW}}
    per_task = {}
    for task_id in task_ids:
        posted = MultiDict({name: request.form.get(f"r{task_id}__{name}", "") for name in row_schema["properties"]})
        own, _ = parse(row_schema, posted)
        per_task[str(task_id)] = {k: v for k, v in own.items() if k not in DROP_WHEN or own.get(DROP_WHEN[k][0]) != DROP_WHEN[k][1]}
    try:
        done = batch.complete_batch(database(), settings(), actor, task_ids, shared, per_task, request_session())
    except EngineError as error:  # the request as a whole is wrong (InvalidInput): say what, nothing done
        return [], [error.message, *(e.message for e in getattr(error, "errors", []))]
    return [_result(o) for o in done.outcomes], []


def _result(outcome: batch.Outcome) -> dict[str, Any]:
    if outcome.completed:
        return {"task_id": outcome.task_id, "instance_id": outcome.instance_id, "ok": True, "message": "виконано"}
    message = outcome.error.message if outcome.error else "Непередбачена помилка; її записано в журнал"
    if outcome.error is not None and getattr(outcome.error, "errors", None):
        message += ": " + "; ".join(f"{e.path} — {e.message}" for e in outcome.error.errors)
    return {"task_id": outcome.task_id, "instance_id": outcome.instance_id, "ok": False, "message": message}


def _latest(uow: Any) -> definitions.Compiled | None:
    """The address aid's latest version: its forms and step names (each case is still checked
    against its own version when completed)."""
    definition = definitions.latest(uow, PROCESS, required=False)
    return definitions.compiled(definition) if definition else None


def _instances(uow: Any, ids: list[int]) -> dict[int, Instance]:
    if not ids:
        return {}
    return {i.id: i for i in uow.session.scalars(select(Instance).where(Instance.id.in_(sorted(set(ids)))))}


def _name(data: dict[str, Any]) -> str:
    return " ".join(str(data.get(k) or "") for k in ("surname", "first_name", "patronymic")).strip()


def _row(task: Any, instance: Instance, row_schema: dict[str, Any]) -> dict[str, Any]:
    """One case as the meeting sees it: the facts, the recommendation, its own fields pre-filled."""
    data = instance.data or {}
    minimum, income = _decimal(data.get("subsistence_minimum")), _decimal(data.get("income_per_member"))
    line = minimum * Decimal("1.3") if minimum is not None else None
    recommendation = data.get("eligibility_recommendation")
    committee = {"grant": "granted", "refuse": "refused"}.get(data.get("commission_recommendation") or recommendation or "")
    values = {"commission_recommendation": recommendation, "decision": committee,
              "aid_amount": data.get("recommended_amount"), "refusal_ground": _ground_key(row_schema, data)}
    values = {k: v for k, v in values.items() if v is not None and k in row_schema["properties"]}
    own = fields(row_schema, values)
    for f in own:
        f.name = f"r{task.id}__{f.name}"
    return {
        "task_id": task.id, "instance_id": instance.id, "number": instance.number, "name": _name(data),
        "address": data.get("address", ""), "family": data.get("family_members", ""),
        "income": _money(income), "line": _money(line),
        "percent": f"{income * 100 / minimum:.0f} %" if income is not None and minimum else "—",
        "above": bool(line is not None and income is not None and income > line),
        "recommendation": {"grant": "надати", "refuse": "відмовити"}.get(recommendation or "", "—"),
        "reason": data.get("eligibility_reason", ""), "documents": data.get("documents") or [],
        "commission": {"grant": "надати", "refuse": "відмовити"}.get(data.get("commission_recommendation") or "", ""),
        "amount": data.get("recommended_amount"), "fields": own,
    }


def _ground_key(row_schema: dict[str, Any], data: dict[str, Any]) -> str | None:
    """The refusal ground the eligibility check points to (card item 13.1 or 13.2), as the form names it."""
    prop = row_schema["properties"].get("refusal_ground")
    reason = data.get("eligibility_reason") or ""
    if not prop or data.get("eligibility_recommendation") != "refuse":
        return None
    wanted = "income" if "13.2" in reason else "working" if "13.1" in reason else None
    return next((str(v) for v, _t in choices(prop) or [] if wanted and wanted in str(v)), None)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") and not isinstance(value, bool) else None
    except ArithmeticError:
        return None


def _money(value: Decimal | None) -> str:
    return f"{value:,.2f}".replace(",", " ").replace(".", ",") if value is not None else "—"


@bp.route("/papers/<kind>", methods=["POST"])
@login_required()
def paper(kind: str, actor: Actor):
    """Документ засідання (DOCX/XLSX) зі справ, позначених на сторінці"""
    ids = [int(v) for v in request.form.getlist("instance_id") if v.isdigit()]
    with operation() as (uow, ctx):
        try:
            made = paperwork.generate(uow, actor, ctx, kind, ids, {"number": request.form.get("number") or None,
                                                                   "date": request.form.get("date") or None},
                                      settings().templates_dir)
        except EngineError as error:
            return error_page(error)
        uow.commit()
    response = send_file(io.BytesIO(made.content), mimetype=made.content_type, as_attachment=True, download_name=made.filename)
    response.headers["Cache-Control"] = "no-store"
    return response
