"""Intake: a new application from the process's start form, and the printable receipt with the
registration number and the expected completion date (card item 1).
"""

from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from marshrut.api.deps import operation
from marshrut.api.presenters import instance_body
from marshrut.engine import cases, definitions, queries, reference, users
from marshrut.engine.access import Actor
from marshrut.engine.errors import EngineError, FieldError, InvalidInput, NotFound
from marshrut.engine.roles import INTAKE_ROLES
from marshrut.ui import bp
from marshrut.ui.auth import login_required
from marshrut.ui.cases import error_page
from marshrut.ui.forms import fields, parse, place_errors

#: The start form's parts that name the applicant on the receipt.
NAME_PARTS = ("surname", "first_name", "patronymic")


def _summary(definition: Any) -> dict[str, Any]:
    props = definition.properties
    return {"key": definition.key, "name": definition.name, "version": definition.version,
            "target_days": props.get("target_days"), "legal_days": props.get("legal_days"),
            "description": (definition.forms.get("start") or {}).get("description") or ""}


def _offices(process_key: str) -> list[dict[str, Any]]:
    return [o for o in reference.contacts().get("offices", []) if process_key in (o.get("processes") or [])]


@bp.route("/intake")
@login_required(*INTAKE_ROLES)
def intake_index(actor: Actor):
    """Нове звернення"""
    with operation() as (uow, _ctx):
        processes = [_summary(d) for d in definitions.latest_all(uow)]
    return render_template("intake_index.html", processes=processes, contacts=reference.contacts())


@bp.route("/intake/<process_key>", methods=["GET", "POST"])
@login_required(*INTAKE_ROLES)
def intake(process_key: str, actor: Actor):
    """Заява"""
    with operation() as (uow, ctx):
        try:
            definition = definitions.latest(uow, process_key)
        except NotFound as error:
            return error_page(error)
        assert definition is not None
        schema = definition.forms.get("start") or {}
        summary = _summary(definition)
        now = ctx.now().astimezone(ctx.calendar.tz)
    values: dict[str, Any] | None = None
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    received_text = request.form.get("received_at", "") if request.method == "POST" else ""
    if request.method == "POST":
        values, notes = parse(schema, request.form)
        received, received_error = _received(received_text, now)
        try:
            if received_error:
                raise InvalidInput("Дата надходження", [FieldError("/received_at", received_error)])
            with operation() as (uow, ctx):
                instance = cases.start_case(uow, actor, ctx, process_key, values, received)
                number, instance_id = instance.number, instance.id
                uow.commit()
            flash(f"Звернення зареєстровано за № {number}", "success")
            return redirect(url_for("ui.receipt", instance_id=instance_id))
        except InvalidInput as error:
            errors, general = place_errors(schema, error.errors, notes)
            for item in error.errors:
                if item.path == "/received_at":
                    errors["received_at"] = [item.message]
                    general = [g for g in general if g != item.message]
            general = [error.message, *(g for g in general if g != error.message)]
        except EngineError as error:
            return error_page(error)
    return render_template(
        "intake.html", process=summary, fields=fields(schema, values, errors, now.date()), general=general,
        received_at=received_text, received_errors=errors.get("received_at", []), now=now,
        offices=_offices(process_key), contacts=reference.contacts(),
        services=reference.services() if process_key == "social_services_roadmap" else [],
    ), (422 if general else 200)


def _received(text: str, now: datetime) -> tuple[datetime | None, str | None]:
    """The optional «received at» (``datetime-local``, Kyiv time); empty means now."""
    if not text.strip():
        return None, None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None, "Вкажіть дату й час у форматі РРРР-ММ-ДД ГГ:ХХ"
    return (moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)), None


@bp.route("/cases/<int:instance_id>/receipt")
@login_required()
def receipt(instance_id: int, actor: Actor):
    """Розписка про прийняття звернення"""
    with operation() as (uow, ctx):
        try:
            case = instance_body(uow, ctx, actor, queries.get_instance(uow, actor, instance_id))  # audited read
        except EngineError as error:
            return error_page(error)
        registrar = users.by_login(uow, case["created_by"]) if case["created_by"] else None
        uow.commit()
        printed = ctx.now().astimezone(ctx.calendar.tz)
    data = case["data"] or {}
    applicant = " ".join(str(data[k]) for k in NAME_PARTS if data.get(k))
    return render_template("receipt.html", case=case, applicant=applicant, offices=_offices(case["process_key"]),
                           contacts=reference.contacts(), printed=printed,
                           registrar=registrar.name if registrar else case["created_by"], documents=data.get("documents") or [])
