"""Tasks: the work list, a task with its form, claim, unclaim, complete."""

from flask import jsonify
from flask_smorest import Blueprint

from marshrut.api.auth import require
from marshrut.api.deps import database, operation, operation_attempts, request_session, settings
from marshrut.api.errors import engine_problem, internal_problem
from marshrut.api.presenters import completed_body, read_task_body, task_body, task_list_body
from marshrut.api.schemas import (
    BatchResultSchema, CompleteBatchSchema, CompletedSchema, CompleteSchema, TaskListArgs, TaskSchema, page_of,
)
from marshrut.engine import batch, cases, incidents, queries, search
from marshrut.engine.access import Actor

bp = Blueprint("tasks", __name__, description="Завдання")
TaskPage = page_of(TaskSchema, "TaskPage")


@bp.route("/tasks")
@require()
@bp.arguments(TaskListArgs, location="query")
@bp.response(200, TaskPage)
def index(args: dict, actor: Actor):
    """Tasks; by default the ready ones the caller may act on"""
    with operation() as (uow, ctx):
        page = queries.list_tasks(
            uow, actor, ctx.now(), state=args["state"], role=args.get("role"), instance_id=args.get("instance_id"),
            process_key=args.get("process_key"), sla_status=args.get("sla_status"), mine=args["mine"],
            everything=args["all"], q=args.get("q"), page=args["page"], per_page=args["per_page"],
            element_id=args.get("element_id"), labelled=True,
        )
        items = task_list_body(uow, ctx, page.items, actor, page.labels)
        if search.may_match_personal_data(args.get("q")):
            search.record(uow, actor, ctx.now(), args.get("q"), page.total)
            uow.commit()
    # The items are already TaskSchema's plain values (views.task_view): answered as they are
    # rather than dumped again field by field, a third of the time of a full page.
    return jsonify({"items": items, "total": page.total, "page": page.page, "per_page": page.per_page})


@bp.route("/tasks/<int:task_id>")
@require()
@bp.response(200, TaskSchema)
def get(task_id: int, actor: Actor):
    """A task with its form (JSON Schema) and its data (the read is audited)"""
    with operation() as (uow, ctx):
        body = read_task_body(uow, ctx, actor, queries.get_task(uow, actor, task_id))
        uow.commit()
        return body


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@require()
@bp.response(200, TaskSchema)
def claim(task_id: int, actor: Actor):
    """Take the task into one's own work (409 when someone else holds it)"""
    with operation() as (uow, ctx):
        task = cases.claim(uow, actor, ctx, task_id)
        uow.commit()
        return task_body(uow, ctx, task)


@bp.route("/tasks/<int:task_id>/unclaim", methods=["POST"])
@require()
@bp.response(200, TaskSchema)
def unclaim(task_id: int, actor: Actor):
    """Give the task back to the role's queue"""
    with operation() as (uow, ctx):
        task = cases.unclaim(uow, actor, ctx, task_id)
        uow.commit()
        return task_body(uow, ctx, task)


@bp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@require()
@bp.arguments(CompleteSchema)
@bp.response(200, CompletedSchema)
def complete(body: dict, task_id: int, actor: Actor):
    """Complete the task with its form's data; the case moves on"""
    for attempt in operation_attempts():
        with attempt as (uow, ctx):
            done = cases.complete_task(uow, actor, ctx, task_id, body["data"])
            # The case's open incidents (one a failing script just recorded too) read in this
            # transaction: after the commit they would cost a second one (BEGIN, SELECT, COMMIT).
            failures = incidents.open_of(uow, done.instance.id)
            uow.commit()  # before the answer is built: writers wait for each other only as long as they must
            # Already CompletedSchema's plain values (views): answered as they are, not dumped again.
            return jsonify(completed_body(uow, ctx, actor, done, failures))
    raise AssertionError("the last attempt either returns or raises")


@bp.route("/tasks/complete-batch", methods=["POST"])
@require()
@bp.arguments(CompleteBatchSchema)
@bp.response(200, BatchResultSchema)
def complete_batch(body: dict, actor: Actor):
    """Complete many tasks at once, each in its own transaction, as single completions would (per-task results)"""
    done = batch.complete_batch(database(), settings(), actor, body["task_ids"], body["data"], body["per_task"],
                                request_session())
    return jsonify({"batch_id": done.batch_id, "results": [batch_result(o) for o in done.outcomes]})


def batch_result(outcome: batch.Outcome) -> dict:
    """One task's line of a batch answer: ``{task_id, status, instance_id, problem?}``."""
    result: dict = {"task_id": outcome.task_id, "status": 200, "instance_id": outcome.instance_id}
    if outcome.error is not None or outcome.unexpected:
        result["problem"] = engine_problem(outcome.error) if outcome.error is not None else internal_problem()
        result["status"] = result["problem"]["status"]
    return result
