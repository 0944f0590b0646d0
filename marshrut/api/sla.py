"""Managers' deadline views: overdue now (or at a moment), counts by step, step durations."""

from datetime import datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from marshrut.api.auth import require
from marshrut.api.deps import operation
from marshrut.api.presenters import task_list_body
from marshrut.api.schemas import MAX_INT, within_service_years, InstanceSchema, TaskSchema
from marshrut.engine import queries, sla, views
from marshrut.engine.access import Actor

bp = Blueprint("sla", __name__, description="Контроль строків")


class AtArgs(Schema):
    at = fields.AwareDateTime(validate=within_service_years, metadata={"description": "момент, на який відповідати (ISO 8601 з поясом)"})


class StepsArgs(Schema):
    process_key = fields.String()


class LateInstanceSchema(InstanceSchema):
    breached = fields.List(fields.String())


class OverdueArgs(AtArgs):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_INT))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500),
                              metadata={"description": "завдань і справ на сторінці (кожного)"})


class OverdueSchema(Schema):
    at = fields.String()
    tasks = fields.List(fields.Nested(TaskSchema))
    instances = fields.List(fields.Nested(LateInstanceSchema))
    total_tasks = fields.Integer()
    total_instances = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class OpenStepSchema(Schema):
    process_key = fields.String()
    element_id = fields.String()
    name = fields.String(allow_none=True)
    on_track = fields.Integer()
    at_risk = fields.Integer()
    overdue = fields.Integer()
    total = fields.Integer()


class CaseStatusesSchema(Schema):
    on_track = fields.Integer()
    at_risk = fields.Integer()
    breached = fields.Integer()


class RunningProcessSchema(Schema):
    process_key = fields.String()
    running = fields.Integer()
    target = fields.Nested(CaseStatusesSchema, metadata={"description": "справи за цільовим строком"})
    legal = fields.Nested(CaseStatusesSchema, metadata={"description": "справи за граничним (законним) строком"})


class SlaSummarySchema(Schema):
    at = fields.String()
    steps = fields.List(fields.Nested(OpenStepSchema), metadata={"description": "відкриті завдання за кроком і статусом"})
    processes = fields.List(fields.Nested(RunningProcessSchema))


class StepDurationSchema(Schema):
    process_key = fields.String()
    element_id = fields.String()
    name = fields.String(allow_none=True)
    completed = fields.Integer()
    median_hours = fields.Float(allow_none=True)
    p90_hours = fields.Float(allow_none=True)
    share_late = fields.Float()
    limit_days = fields.Raw(allow_none=True, metadata={"description": "строк кроку за карткою"})
    limit_days_min = fields.Raw(allow_none=True)
    calendar = fields.Raw(allow_none=True)
    deadline = fields.Raw(allow_none=True)


class StepDurationsSchema(Schema):
    items = fields.List(fields.Nested(StepDurationSchema))


def _moment(args: dict, now: datetime) -> datetime:
    return args.get("at") or now


@bp.route("/sla/overdue")
@require("manager", "admin")
@bp.arguments(OverdueArgs, location="query")
@bp.response(200, OverdueSchema)
def overdue(args: dict, actor: Actor):
    """Tasks and cases overdue now, or at ?at= (oldest due first, a page of each; totals in total_*)"""
    with operation() as (uow, ctx):
        moment = _moment(args, ctx.now())
        found = sla.overdue_page(uow, moment, args["page"], args["per_page"], now=ctx.now())
        late = found.instances
        task_items = task_list_body(uow, ctx, found.tasks)
        for item in task_items:
            item["sla_status"] = "overdue"
        instances = [
            {**views.instance_view(i, queries.definition_of(uow, i), [], [], moment, ctx.calendar, with_data=False),
             "breached": which}
            for i, which in late
        ]
    return {"at": moment.isoformat(), "tasks": task_items, "instances": instances, "total_tasks": found.total_tasks,
            "total_instances": found.total_instances, "page": args["page"], "per_page": args["per_page"]}


@bp.route("/sla/summary")
@require("manager", "admin")
@bp.arguments(AtArgs, location="query")
@bp.response(200, SlaSummarySchema)
def summary(args: dict, actor: Actor):
    """Open tasks by process, step and status; running cases by target and legal status"""
    with operation() as (uow, ctx):
        return sla.summary(uow, _moment(args, ctx.now()), now=ctx.now())


@bp.route("/sla/steps")
@require("manager", "admin")
@bp.arguments(StepsArgs, location="query")
@bp.response(200, StepDurationsSchema)
def steps(args: dict, actor: Actor):
    """Per step: completed count, median and 90th-percentile duration, share late, the card's limit"""
    with operation() as (uow, _ctx):
        return {"items": sla.step_durations(uow, args.get("process_key"))}
