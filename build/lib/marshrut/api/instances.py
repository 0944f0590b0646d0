"""Cases (process instances): register, list, read, history, cancel."""

from flask import jsonify
from flask_smorest import Blueprint

from marshrut.api.auth import require
from marshrut.api.deps import operation, operation_attempts
from marshrut.api.presenters import instance_body, moved_body
from marshrut.api.schemas import CancelSchema, HistorySchema, InstanceListArgs, InstanceSchema, MigrateSchema, StartInstanceSchema, page_of
from marshrut.engine import audit, cases, migration, queries, search, views
from marshrut.engine.access import Actor

bp = Blueprint("instances", __name__, description="Справи (екземпляри процесів)")
InstancePage = page_of(InstanceSchema, "InstancePage")


@bp.route("/process-instances", methods=["POST"])
@require()
@bp.arguments(StartInstanceSchema)
@bp.response(201, InstanceSchema)
def new(body: dict, actor: Actor):
    """Register a case from its start form"""
    with operation() as (uow, ctx):
        instance = cases.start_case(uow, actor, ctx, body["process_key"], body["data"], body.get("received_at"))
        uow.commit()  # before the answer is built: writers wait for each other only as long as they must
        # Already InstanceSchema's plain values (views): answered as they are, not dumped again.
        return jsonify(instance_body(uow, ctx, actor, instance, record_read=False)), 201


@bp.route("/process-instances")
@require()
@bp.arguments(InstanceListArgs, location="query")
@bp.response(200, InstancePage)
def index(args: dict, actor: Actor):
    """Cases the caller may see; filters process_key, status, sla"""
    with operation() as (uow, ctx):
        page = queries.list_instances(
            uow, actor, ctx.now(), process_key=args.get("process_key"), status=args.get("status"),
            sla=args.get("sla"), q=args.get("q"), page=args["page"], per_page=args["per_page"],
        )
        search.record(uow, actor, ctx.now(), args.get("q"), page.total)
        waiting = queries.open_tasks_of(uow, [i.id for i in page.items])
        items = [
            views.instance_view(i, queries.definition_of(uow, i), waiting[i.id], [], ctx.now(),
                                ctx.calendar, with_data=False)
            for i in page.items
        ]
        uow.commit()
    return {"items": items, "total": page.total, "page": page.page, "per_page": page.per_page}


@bp.route("/process-instances/<int:instance_id>")
@require()
@bp.response(200, InstanceSchema)
def get(instance_id: int, actor: Actor):
    """A case with its data, open steps, timers and SLA (the read is audited)"""
    with operation() as (uow, ctx):
        result = instance_body(uow, ctx, actor, queries.get_instance(uow, actor, instance_id))
        uow.commit()
    return result


@bp.route("/process-instances/<int:instance_id>/history")
@require()
@bp.response(200, HistorySchema)
def history(instance_id: int, actor: Actor):
    """The case's audit events: who, what, when, data changed"""
    with operation() as (uow, ctx):
        instance = queries.get_instance(uow, actor, instance_id)
        instance_body(uow, ctx, actor, instance)
        events = audit.history(uow, instance_id)
        items = [
            {"id": e.id, "event": e.event, "actor": e.actor, "at": e.at.astimezone(ctx.calendar.tz).isoformat(),
             "task_id": e.task_id, "data": e.data}
            for e in events
        ]
        uow.commit()
    return {"items": items, "total": len(items)}


@bp.route("/process-instances/<int:instance_id>/cancel", methods=["POST"])
@require("manager", "admin")
@bp.arguments(CancelSchema)
@bp.response(200, InstanceSchema)
def cancel(body: dict, instance_id: int, actor: Actor):
    """Cancel a running case with a reason"""
    with operation() as (uow, ctx):
        instance = cases.cancel_case(uow, actor, ctx, instance_id, body["reason"])
        if queries.can_see(uow, actor, instance):
            result = instance_body(uow, ctx, actor, instance, record_read=False)
        else:  # an admin cancels a case without reading its personal data
            result = views.instance_view(instance, queries.definition_of(uow, instance), [], [], ctx.now(), ctx.calendar,
                                         with_data=False)
        uow.commit()
    return result


@bp.route("/process-instances/<int:instance_id>/migrate", methods=["POST"])
@require("admin", "analyst")
@bp.arguments(MigrateSchema)
@bp.response(200, InstanceSchema)
def migrate(body: dict, instance_id: int, actor: Actor):
    """Move a running case to another version of its process (422 names the open steps it lacks)"""
    for attempt in operation_attempts():
        with attempt as (uow, ctx):
            instance = migration.migrate_case(uow, actor, ctx, instance_id, body["version"])
            result = moved_body(uow, ctx, actor, instance)
            uow.commit()
            return result
