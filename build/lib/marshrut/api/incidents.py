"""Incidents (failed automatic work of cases): list, retry; moving all cases of a version."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from marshrut.api.auth import require
from marshrut.api.deps import database, operation, operation_attempts, settings
from marshrut.api.schemas import MAX_INT, IncidentSchema, PageArgs, page_of
from marshrut.engine import incidents, migration
from marshrut.engine.access import Actor

bp = Blueprint("incidents", __name__, description="Інциденти: збої автоматичної роботи справ і їх виправлення")
IncidentPage = page_of(IncidentSchema, "IncidentPage")


class VersionMigrateSchema(Schema):
    to_version = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_INT))


class MigrationResultSchema(Schema):
    instance_id = fields.Integer()
    number = fields.String()
    status = fields.Integer()
    problem = fields.String(allow_none=True)
    missing = fields.List(fields.String())


class VersionMigrationSchema(Schema):
    key = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    migrated = fields.Integer()
    refused = fields.Integer()
    results = fields.List(fields.Nested(MigrationResultSchema))


@bp.route("/incidents")
@require()
@bp.arguments(PageArgs, location="query")
@bp.response(200, IncidentPage)
def index(args: dict, actor: Actor):
    """Open incidents, oldest first (admin, analyst, manager)"""
    with operation() as (uow, ctx):
        page = incidents.list_open(uow, actor, args["page"], args["per_page"])
        items = incidents.views_of(uow, page.items, ctx.calendar)
    return {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page}


@bp.route("/incidents/<int:incident_id>/retry", methods=["POST"])
@require()
@bp.response(200, IncidentSchema)
def retry(incident_id: int, actor: Actor):
    """Run the failed element again (after fixing the diagram and migrating the case).

    200 with the incident either way: ``resolved_at`` set when it ran (the case went on),
    else ``attempts`` counted one more and ``message`` is the new error. 409 when the
    incident was already resolved or its case no longer runs.
    """
    for attempt in operation_attempts():
        with attempt as (uow, ctx):
            incident = incidents.retry(uow, actor, ctx, incident_id)
            [result] = incidents.views_of(uow, [incident], ctx.calendar)
            uow.commit()
            return result


@bp.route("/process-definitions/<key>/versions/<int:version>/migrate", methods=["POST"])
@require()
@bp.arguments(VersionMigrateSchema)
@bp.response(200, VersionMigrationSchema)
def migrate_version(body: dict, key: str, version: int, actor: Actor):
    """Move every running case of a version to another one, each on its own (per-case results)"""
    outcomes = migration.migrate_version(database(), settings(), actor, key, version, body["to_version"])
    results = [{"instance_id": o.instance_id, "number": o.number, "status": o.status, "problem": o.problem,
                "missing": list(o.missing)} for o in outcomes]
    return {"key": key, "from_version": version, "to_version": body["to_version"],
            "migrated": sum(1 for o in outcomes if o.status == 200), "refused": sum(1 for o in outcomes if o.status != 200),
            "results": results}
