"""Analysts' decision tables (DMN) in the browser: view and edit with dmn-js, validate with the
same checks as a deploy, and deploy a new version of the process with the changed table."""

from flask import Response, abort, jsonify, render_template, request, url_for

from marshrut.api.deps import database, operation
from marshrut.engine import decision_tables, definitions
from marshrut.engine.access import Actor
from marshrut.engine.errors import FieldError, InvalidInput, NotFound
from marshrut.engine.models import Definition
from marshrut.ui import bp
from marshrut.ui.auth import login_required
from marshrut.ui.cards import MODELER_ROLES, bundle_version

DMN_BUNDLE = "build/dmn_editor.js"


def _latest(key: str) -> Definition:
    try:
        with database().unit_of_work() as uow:
            return definitions.versions(uow, key)[0]
    except NotFound:
        abort(404)


def used_tables(row: Definition) -> list[dict]:
    """The decision tables the version's diagram calls (``camunda:decisionRef``), as rows for the card view."""
    return [t for t in decision_tables.tables(row.dmn_xml) if f'decisionRef="{t["id"]}"' in row.bpmn_xml]


def _used_files(row: Definition) -> list[str]:
    return sorted({t["file"] for t in used_tables(row)})


@bp.route("/definitions/<key>/decisions")
@login_required(*MODELER_ROLES)
def decisions(key: str, actor: Actor):
    """Таблиці рішень"""
    row = _latest(key)
    files = _used_files(row)
    if not files:
        abort(404)
    current = request.args.get("file") or files[0]
    if current not in files:
        abort(404)
    return render_template(
        "decisions.html", row=row, files=files, current=current, bundle_version=bundle_version(),
        xml_url=url_for("ui.decision_xml", key=key, file=current),
        validate_url=url_for("ui.decision_validate", key=key), deploy_url=url_for("ui.decision_deploy", key=key),
        card_url=url_for("ui.definition", key=key),
    )


@bp.route("/definitions/<key>/decisions/<file>")
@login_required(*MODELER_ROLES)
def decision_xml(key: str, file: str, actor: Actor):
    row = _latest(key)
    if file not in row.dmn_xml:
        abort(404)
    return Response(row.dmn_xml[file], mimetype="application/xml")


def _bundle_with_table(key: str) -> definitions.Bundle:
    """The latest version with one DMN file replaced (multipart ``file`` named as the table it replaces)."""
    row = _latest(key)
    upload = request.files.get("file")
    if upload is None or upload.filename not in row.dmn_xml:
        raise InvalidInput("Потрібна таблиця рішень", [FieldError("file", f"Надішліть одну з таблиць: {', '.join(sorted(row.dmn_xml))}")])
    dmn = {name: xml.encode("utf-8") for name, xml in row.dmn_xml.items()} | {upload.filename: upload.read()}
    return definitions.Bundle(f"{key}.bpmn", row.bpmn_xml.encode("utf-8"), dmn, row.forms)


@bp.route("/definitions/<key>/decisions/validate", methods=["POST"])
@login_required(*MODELER_ROLES)
def decision_validate(key: str, actor: Actor):
    compiled = definitions.compile_bundle(_bundle_with_table(key))
    return jsonify({"valid": True, "key": compiled.key})


@bp.route("/definitions/<key>/decisions/deploy", methods=["POST"])
@login_required(*MODELER_ROLES)
def decision_deploy(key: str, actor: Actor):
    bundle = _bundle_with_table(key)
    with operation() as (uow, ctx):
        row, created = definitions.deploy(uow, bundle, actor.login, ctx.now())
        uow.commit()
        return jsonify({"key": row.key, "version": row.version, "created": created}), 201
