"""The incidents page (admins, analysts): open incidents with their errors, the failed element
highlighted on the case's diagram, and the repair: move the case to another version, retry."""

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from marshrut.api.deps import operation, operation_attempts
from marshrut.engine import definitions, incidents, migration, queries
from marshrut.engine.access import Actor
from marshrut.engine.errors import EngineError
from marshrut.engine.models import Instance
from marshrut.ui import bp
from marshrut.ui.auth import login_required
from marshrut.ui.cases import error_page

PAGE_ROLES = ("admin", "analyst")


@bp.route("/incidents")
@login_required(*PAGE_ROLES)
def incidents_page(actor: Actor):
    """Інциденти"""
    with operation() as (uow, ctx):
        page = incidents.list_open(uow, actor, 1, 500)
        items = incidents.views_of(uow, page.items, ctx.calendar)
        chosen = request.args.get("id", type=int) or (items[0]["id"] if items else None)
        selected = next((i for i in items if i["id"] == chosen), None)
        detail: dict[str, Any] = {}
        if selected is not None:
            instance = uow.session.get(Instance, selected["instance_id"])
            assert instance is not None
            definition = queries.definition_of(uow, instance)
            detail = {
                "process_key": instance.process_key, "version": definition.version,
                "versions": [row.version for row in definitions.versions(uow, instance.process_key)],
                "diagram_xml_url": url_for("ui.definition_xml", key=definition.key, version=definition.version),
                "active_ids": [t.element_id for t in queries.open_tasks(uow, instance.id)],
            }
    return render_template("incidents.html", items=items, total=page.total, selected=selected, **detail)


@bp.route("/incidents/<int:incident_id>/retry", methods=["POST"])
@login_required(*PAGE_ROLES)
def incident_retry(incident_id: int, actor: Actor):
    """Повторити елемент, на якому стався інцидент"""
    try:
        for attempt in operation_attempts():
            with attempt as (uow, ctx):
                incident = incidents.retry(uow, actor, ctx, incident_id)
                resolved, attempts, message = incident.resolved_at is not None, incident.attempts, incident.message
                uow.commit()
    except EngineError as error:
        return error_page(error)
    if resolved:
        flash("Елемент виконано; справа продовжується.", "success")
        return redirect(url_for("ui.incidents_page"))
    flash(f"Повтор не вдався (спроба {attempts}): {message}", "error")
    return redirect(url_for("ui.incidents_page", id=incident_id))


@bp.route("/incidents/<int:incident_id>/migrate", methods=["POST"])
@login_required(*PAGE_ROLES)
def incident_migrate(incident_id: int, actor: Actor):
    """Перенести справу інциденту на іншу версію процесу"""
    version = request.form.get("version", type=int)
    try:
        if version is None or version < 1:
            raise migration.MissingSteps("Оберіть версію процесу")
        for attempt in operation_attempts():
            with attempt as (uow, ctx):
                incident = incidents.get(uow, actor, incident_id)
                instance = migration.migrate_case(uow, actor, ctx, incident.instance_id, version)
                number = instance.number
                uow.commit()
    except EngineError as error:
        flash(error.message, "error")
        return redirect(url_for("ui.incidents_page", id=incident_id))
    flash(f"Справу {number} перенесено на версію {version}. Тепер повторіть елемент.", "success")
    return redirect(url_for("ui.incidents_page", id=incident_id))
