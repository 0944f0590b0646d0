"""Analysts' pages for technological cards: upload a card's DOCX, open the generated diagram in
the modeler, and validate or deploy a diagram together with its forms. The page's writes go
to these ui routes (session + CSRF header), not to the bearer-only API.
"""

import json

from flask import Response, abort, jsonify, render_template, request, url_for

from marshrut.api.deps import database, operation, settings
from marshrut.engine import card_export, card_to_bpmn, definitions, validation
from marshrut.engine.access import Actor
from marshrut.engine.config import PACKAGE_ROOT
from marshrut.engine.errors import FieldError, InvalidInput, NotFound
from marshrut.engine.roles import ROLES
from marshrut.ui import bp, forms
from marshrut.ui.auth import login_required

MODELER_ROLES = ("analyst", "admin")
#: Deploying (and checking what would be deployed) needs the analyst role (SPEC §8); admins only look.
DEPLOY_ROLES = ("analyst",)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MODELER_BUNDLE = PACKAGE_ROOT / "ui" / "static" / "build" / "modeler.js"


def bundle_version() -> int | None:
    return int(MODELER_BUNDLE.stat().st_mtime) if MODELER_BUNDLE.is_file() else None


def known_roles() -> dict[str, str]:
    """Roles for the modeler's choices: the fixed ones and those deployed diagrams declare."""
    with database().unit_of_work() as uow:
        declared = definitions.declared_roles(uow)
    return {key: name for key, name in ROLES.items() if key not in ("analyst", "admin")} | declared


def running(key: str) -> dict[int, int]:
    """Cases running on each version of ``key`` (for the analysts' versions table)."""
    with database().unit_of_work() as uow:
        return definitions.running_counts(uow, key)


@bp.route("/definitions/<key>/card.docx")
@login_required()
def card_docx(key: str, actor: Actor):
    """The technological card of a version as DOCX (the seed's layout)."""
    version = request.args.get("version", type=int)
    with database().unit_of_work() as uow:
        try:
            rows = definitions.versions(uow, key)
        except NotFound:
            abort(404)
        row = rows[0] if version is None else next((r for r in rows if r.version == version), None)
        if row is None:
            abort(404)
        data = card_export.card_docx(row)
    return Response(data, mimetype=DOCX, headers={"Content-Disposition": f'attachment; filename="{key}-v{row.version}-card.docx"'})


@bp.route("/definitions/<key>/forms.json")
@login_required(*MODELER_ROLES)
def definition_forms(key: str, actor: Actor):
    """The forms of the latest version, by task id (``start`` too), for the modeler's form editor."""
    with database().unit_of_work() as uow:
        try:
            return jsonify(definitions.versions(uow, key)[0].forms)
        except NotFound:
            abort(404)


@bp.route("/definitions/form-preview", methods=["POST"])
@login_required(*MODELER_ROLES)
def form_preview(actor: Actor):
    """A step's form (JSON body ``{"schema": {...}, "name": "..."}``) rendered as staff will see it; 422 when not a valid schema."""
    body = request.get_json(silent=True)
    schema = body.get("schema") if isinstance(body, dict) else None
    name = str(body.get("name") or "form") if isinstance(body, dict) else "form"
    if not isinstance(schema, dict):
        raise InvalidInput("Форма має бути JSON-об’єктом", [FieldError(name, "Очікується JSON Schema — об’єкт {…}")])
    errors = validation.form_errors(name, {name: schema})
    if errors:
        raise InvalidInput("Форма не є коректною JSON Schema", errors)
    return render_template("_form_preview.html", schema=schema, fields=forms.fields(schema))


@bp.route("/definitions/import")
@login_required(*MODELER_ROLES)
def card_import_page(actor: Actor):
    """Імпорт технологічної картки"""
    return render_template("card_import.html", import_url=url_for("ui.card_import"),
                           modeler_url=url_for("ui.imported_modeler"))


@bp.route("/definitions/import", methods=["POST"])
@login_required(*MODELER_ROLES)
def card_import(actor: Actor):
    """The card's DOCX (multipart ``file``, ``process_key``, ``name``) → ``{bpmn, forms, warnings, new_roles}``."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput("Потрібен файл картки", [FieldError("file", "Оберіть файл .docx з технологічною карткою")])
    generated = card_to_bpmn.import_card(upload.read(), request.form.get("process_key", "").strip(), request.form.get("name"))
    return jsonify({"bpmn": generated.bpmn, "forms": generated.forms, "warnings": generated.warnings,
                    "new_roles": generated.new_roles, "key": request.form.get("process_key", "").strip()})


@bp.route("/definitions/import/modeler")
@login_required(*MODELER_ROLES)
def imported_modeler(actor: Actor):
    """Модельєр: діаграма з картки"""
    return render_template(
        "modeler.html", row=None, source="import", bundle_version=bundle_version(), roles=known_roles(), xml_url="",
        validate_url=url_for("ui.validate_bundle"), deploy_url=url_for("ui.deploy_bundle"),
        card_url=url_for("ui.definitions") + "/",
    )


def _posted_bundle() -> definitions.Bundle:
    """A diagram (multipart ``file``) with its forms (``forms``: JSON object task id → schema)."""
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("Потрібна діаграма", [FieldError("file", "Надішліть діаграму .bpmn у полі file")])
    try:
        forms = json.loads(request.form.get("forms") or "{}")
    except ValueError as err:
        raise InvalidInput("Форми не є JSON", [FieldError("forms", f"Не JSON: {err}")]) from err
    if not isinstance(forms, dict):
        raise InvalidInput("Форми не є JSON-об’єктом", [FieldError("forms", "Очікується об’єкт {id_кроку: схема}")])
    config = settings()
    extras = {f"{name}.json": json.dumps(schema).encode() for name, schema in forms.items()}
    return definitions.assemble(upload.filename or "diagram.bpmn", upload.read(), extras, config.bpmn_dir, config.forms_dir)


@bp.route("/definitions/validate-bundle", methods=["POST"])
@login_required(*DEPLOY_ROLES)
def validate_bundle(actor: Actor):
    compiled = definitions.compile_bundle(_posted_bundle())
    return jsonify({"valid": True, "key": compiled.key, "steps": compiled.steps})


@bp.route("/definitions/deploy-bundle", methods=["POST"])
@login_required(*DEPLOY_ROLES)
def deploy_bundle(actor: Actor):
    bundle = _posted_bundle()
    with operation() as (uow, ctx):
        row, created = definitions.deploy(uow, bundle, actor.login, ctx.now())
        uow.commit()
        return jsonify({"key": row.key, "version": row.version, "created": created}), 201
