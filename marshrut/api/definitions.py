"""Process definitions: the card view, the XML, deploy and validate (analysts)."""

from flask import Response, request
from flask_smorest import Blueprint

from marshrut.api.auth import require
from marshrut.api.deps import operation, settings
from marshrut.api.schemas import DefinitionArgs, DefinitionSchema, DefinitionSummarySchema, DeployedSchema, ValidationResultSchema
from marshrut.engine import card_export, definitions
from marshrut.engine.access import Actor
from marshrut.engine.errors import FieldError, InvalidInput, NotFound
from marshrut.engine.forecast import card_warnings
from marshrut.engine.models import Definition

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
bp = Blueprint("definitions", __name__, description="Визначення процесів (BPMN)")


def summary(row: Definition) -> dict:
    return {
        "key": row.key, "name": row.name, "version": row.version,
        "target_days": _int(row.properties.get("target_days")), "legal_days": _int(row.properties.get("legal_days")),
        "deployed_at": row.deployed_at.isoformat(), "deployed_by": row.deployed_by,
    }


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@bp.route("/process-definitions")
@require()
@bp.response(200, DefinitionSummarySchema(many=True))
def index(actor: Actor):
    """Latest version of each process"""
    with operation() as (uow, _ctx):
        return [summary(row) for row in definitions.latest_all(uow)]


def _version(key: str, version: int | None) -> Definition:
    with operation() as (uow, _ctx):
        rows = definitions.versions(uow, key)
    if version is None:
        return rows[0]
    found = next((r for r in rows if r.version == version), None)
    if found is None:
        raise NotFound(f"Версії {version} процесу «{key}» немає")
    return found


@bp.route("/process-definitions/<key>")
@require()
@bp.arguments(DefinitionArgs, location="query")
@bp.response(200, DefinitionSchema)
def get(args: dict, key: str, actor: Actor):
    """The card view of a process: steps in flow order, roles, actions, limits, start form"""
    row = _version(key, args.get("version"))
    with operation() as (uow, ctx):
        all_versions = [r.version for r in definitions.versions(uow, key)]
        warnings = card_warnings(definitions.compiled(row).facts, ctx, row.checksum, ctx.calendar.local_date(ctx.now()).year)
        warnings += definitions.shared_field_warnings(row.forms)
    return {**summary(row), "start_form": row.forms.get("start", {}), "forms": row.forms, "steps": row.steps,
            "versions": all_versions, "warnings": warnings}


@bp.route("/process-definitions/<key>/xml")
@require()
@bp.arguments(DefinitionArgs, location="query")
@bp.response(200, {"type": "string", "description": "BPMN 2.0 XML"}, content_type="application/xml")
def xml(args: dict, key: str, actor: Actor):
    """The BPMN XML of a version (latest by default)"""
    return Response(_version(key, args.get("version")).bpmn_xml, mimetype="application/xml")


@bp.route("/process-definitions/<key>/card.docx")
@require()
@bp.arguments(DefinitionArgs, location="query")
@bp.response(200, {"type": "string", "format": "binary"}, content_type=DOCX)
def card_docx(args: dict, key: str, actor: Actor):
    """The technological card of a version (latest by default) as DOCX, in the card's own layout"""
    row = _version(key, args.get("version"))
    return Response(card_export.card_docx(row), mimetype=DOCX,
                    headers={"Content-Disposition": f'attachment; filename="{key}-v{row.version}-card.docx"'})


def _uploaded_bundle() -> definitions.Bundle:
    """The diagram from the body (application/xml) or a multipart ``file`` (+ ``.dmn``/``.json`` files)."""
    config = settings()
    if request.files:
        uploads = {f.filename or f"file{i}": f.read() for i, f in enumerate(request.files.getlist("file"))}
        uploads.update({f.filename or "extra": f.read() for f in request.files.getlist("files")})
        bpmn = [name for name in uploads if not name.endswith((".dmn", ".json"))]
        if len(bpmn) != 1:
            raise InvalidInput("Потрібен один файл BPMN у полі file", [FieldError("file", "Додайте один файл .bpmn")])
        extras = {n: d for n, d in uploads.items() if n not in bpmn}
        return definitions.assemble(bpmn[0], uploads[bpmn[0]], extras, config.bpmn_dir, config.forms_dir)
    body = request.get_data()
    if not body:
        raise InvalidInput("Порожній запит", [FieldError("body", "Надішліть BPMN XML (application/xml) або файл у полі file")])
    return definitions.assemble("diagram.bpmn", body, {}, config.bpmn_dir, config.forms_dir)


@bp.route("/process-definitions", methods=["POST"])
@require("analyst")
@bp.response(201, DeployedSchema)
def deploy(actor: Actor):
    """Validate and deploy a new version (BPMN XML body or multipart file)"""
    bundle = _uploaded_bundle()
    with operation() as (uow, ctx):
        row, created = definitions.deploy(uow, bundle, actor.login, ctx.now())
        warnings = [{"path": w.path, "message": w.message} for w in definitions.compiled(row).warnings]
        uow.commit()
    return {"key": row.key, "version": row.version, "created": created, "warnings": warnings}


@bp.route("/process-definitions/validate", methods=["POST"])
@require("analyst")
@bp.response(200, ValidationResultSchema)
def validate(actor: Actor):
    """Run the deploy checks without deploying; 422 lists what to change per element"""
    compiled = definitions.compile_bundle(_uploaded_bundle())
    warnings = [{"path": w.path, "message": w.message} for w in compiled.warnings]
    return {"valid": True, "key": compiled.key, "steps": compiled.steps, "warnings": warnings}
