"""Analysts' pages: the deployed processes with their versions, the card view of a version
(the technological card's table, generated from the BPMN) and the web modeler that
validates and deploys through routes of its own (session + CSRF token; the REST API takes
bearer tokens only), over the same engine use cases as the API.
"""

from typing import Any

from flask import Response, abort, render_template, request, url_for

from marshrut.api.deps import database
from marshrut.engine import definitions as engine_definitions
from marshrut.engine.access import Actor
from marshrut.engine.business_calendar import KYIV
from marshrut.engine.config import PACKAGE_ROOT
from marshrut.engine.errors import NotFound
from marshrut.engine.models import Definition
from marshrut.engine.roles import ACTIONS, ROLES
from marshrut.ui import bp, cards, decisions
from marshrut.ui.cards import MODELER_ROLES
from marshrut.ui.assets import content_version
from marshrut.ui.auth import login_required

#: Who may open the modeler; only analysts validate and deploy (as through the API).
MODELER_BUNDLE = PACKAGE_ROOT / "ui" / "static" / "build" / "modeler.js"

_UNIT_WORDS = {
    "working": ("робочий день", "робочі дні", "робочих днів"),
    "calendar": ("календарний день", "календарні дні", "календарних днів"),
}


def plural(number: int, forms: tuple[str, str, str]) -> str:
    """The Ukrainian form of a noun after ``number``: 1 день, 2–4 дні, 5+ днів (11–14 днів)."""
    if number % 10 == 1 and number % 100 != 11:
        return forms[0]
    if 2 <= number % 10 <= 4 and not 12 <= number % 100 <= 14:
        return forms[1]
    return forms[2]


def term(step: dict[str, Any], row: Definition) -> str:
    """The step's limit as the card says it: «3–4 робочі дні», «1 календарний день від надходження»,
    «до нормативної дати справи (20 днів від надходження)»."""
    parts = []
    days, days_min = step.get("days"), step.get("days_min")
    if days is not None:
        span = f"{days_min}–{days}" if days_min is not None and days_min != days else str(days)
        calendar = "calendar" if step.get("calendar") == "calendar" else "working"
        text = f"{span} {plural(days, _UNIT_WORDS[calendar])}"
        if step.get("from") == "received":
            text += " від надходження"
        parts.append(text)
    deadline = step.get("deadline")
    if deadline == "target":
        target = row.properties.get("target_days")
        parts.append(f"до нормативної дати справи ({target} дн. від надходження)" if target else "до нормативної дати справи")
    elif deadline == "legal":
        legal = row.properties.get("legal_days")
        parts.append(f"до граничної дати за законом ({legal} дн. від надходження)" if legal else "до граничної дати за законом")
    elif deadline == "year_end":
        parts.append("до 31 грудня року плану")
    if step.get("crisis_days") is not None:
        crisis = step["crisis_days"]
        calendar = "calendar" if step.get("calendar") == "calendar" else "working"
        suffix = " від надходження" if step.get("from") == "received" else ""
        parts.append(f"у кризових випадках — {crisis} {plural(crisis, _UNIT_WORDS[calendar])}{suffix}")
    if step.get("crisis_hours") is not None:
        hours = step["crisis_hours"]
        suffix = " від надходження" if step.get("from") == "received" else ""
        parts.append(f"у кризових випадках — {hours} год{suffix}, з точністю до хвилини")
    return "; ".join(parts) or "—"


def card_rows(row: Definition) -> list[dict[str, Any]]:
    """The card view: one row per user task in flow order, ready for the template."""
    rows = []
    for number, step in enumerate(row.steps, start=1):
        participants = [
            {"role": p.get("role"), "unit": ROLES.get(p.get("role") or "", p.get("role")), "action": p.get("action"),
             "meaning": ACTIONS.get(p.get("action") or "", "")}
            for p in step.get("participants") or []
        ]
        actions = [step.get("action")] + [p["action"] for p in participants]
        rows.append({
            "number": number,
            "element_id": step["element_id"],
            "name": step.get("name") or step["element_id"],
            "lane": step.get("lane") or ROLES.get(step.get("role") or "", "—"),
            "role": step.get("role"),
            "actions": [{"code": code, "meaning": ACTIONS.get(code, "")} for code in dict.fromkeys(a for a in actions if a)],
            "term": term(step, row),
            "participants": participants,
        })
    return rows


def when(moment: Any) -> str:
    """A stored moment as Kyiv wall time, «2026-01-01 09:00»."""
    return moment.astimezone(KYIV).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _latest_with_counts() -> list[tuple[Definition, int]]:
    with database().unit_of_work() as uow:
        rows = engine_definitions.latest_all(uow)
        return [(row, len(engine_definitions.versions(uow, row.key))) for row in rows]


def _versions(key: str) -> list[Definition]:
    try:
        with database().unit_of_work() as uow:
            return engine_definitions.versions(uow, key)
    except NotFound:
        abort(404)


def may_model(actor: Actor) -> bool:
    return actor.has(*MODELER_ROLES)


@bp.route("/definitions")
@login_required()
def definitions(actor: Actor):
    """Процеси"""
    return render_template("definitions.html", rows=_latest_with_counts(), may_model=may_model(actor), when=when)


@bp.route("/definitions/<key>")
@login_required()
def definition(key: str, actor: Actor):
    """Картка процесу"""
    versions = _versions(key)
    wanted = request.args.get("version", type=int)
    row = versions[0] if wanted is None else next((v for v in versions if v.version == wanted), None)
    if row is None:
        abort(404)
    xml_url = url_for("ui.definition_xml", key=key, version=row.version)
    return render_template(
        "definition.html", row=row, versions=versions, latest=versions[0], steps=card_rows(row),
        xml_url=xml_url, may_model=may_model(actor), when=when, running=cards.running(key),
        decision_tables=decisions.used_tables(row),
        card_docx_url=url_for("ui.card_docx", key=key, version=row.version),
    )


@bp.route("/definitions/<key>/modeler")
@login_required(*MODELER_ROLES)
def modeler(key: str, actor: Actor):
    """Модельєр"""
    latest = _versions(key)[0]
    bundle_version = content_version(MODELER_BUNDLE) if MODELER_BUNDLE.is_file() else None
    return render_template(
        "modeler.html", row=latest, bundle_version=bundle_version, roles=cards.known_roles(), source="deployed",
        xml_url=url_for("ui.definition_xml", key=key, version=latest.version),
        validate_url=url_for("ui.validate_bundle"), deploy_url=url_for("ui.deploy_bundle"),
        card_url=url_for("ui.definition", key=key), forms_url=url_for("ui.definition_forms", key=key),
    )


@bp.route("/definitions/<key>/xml")
@login_required()
def definition_xml(key: str, actor: Actor):
    """BPMN XML версії процесу (для переглядача діаграми й модельєра)"""
    versions = _versions(key)
    wanted = request.args.get("version", type=int)
    row = versions[0] if wanted is None else next((v for v in versions if v.version == wanted), None)
    if row is None:
        abort(404)
    return Response(row.bpmn_xml, mimetype="application/xml")
