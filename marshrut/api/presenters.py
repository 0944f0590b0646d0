"""Turning engine rows into the API's dicts, with the access rules applied."""

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import defer

from marshrut.engine import audit, definitions, incidents, queries, views
from marshrut.engine.access import Actor
from marshrut.engine.cases import Completed
from marshrut.engine.context import Context
from marshrut.engine.errors import Forbidden
from marshrut.engine.models import Definition, Incident, Instance, Task
from marshrut.engine.store import UnitOfWork


def instance_body(uow: UnitOfWork, ctx: Context, actor: Actor, instance: Instance, record_read: bool = True,
                  held: Completed | None = None, open_incidents: list[Incident] | None = None) -> dict[str, Any]:
    """The case as its viewer may see it; a read of personal data goes to the audit log.

    ``held``: a completion whose use case already holds the case's open steps and timers.
    ``open_incidents``: the case's open incidents, already read (else read here).
    """
    involved = frozenset({held.task.role}) if held else frozenset()
    if not queries.can_see(uow, actor, instance, involved):
        raise Forbidden("Справа доступна лише ролям, залученим до неї, та керівництву")
    if record_read:
        audit.record(uow, "case_viewed", actor.login, ctx.now(), instance.id)
    open_tasks = held.open_tasks if held else queries.open_tasks(uow, instance.id)
    timers = held.timers if held else queries.waiting_timers(uow, instance.id)
    if open_incidents is None:
        open_incidents = incidents.open_of(uow, instance.id)
    failures = [incidents.view(i, instance.number, ctx.calendar) for i in open_incidents]
    body = views.instance_view(instance, queries.definition_of(uow, instance), open_tasks, timers, ctx.now(), ctx.calendar,
                               incidents=failures)
    if held is None:  # a completion's answer leaves them out: the case page reads them with the case
        body["steps"] = [views.step_record(t, ctx.calendar) for t in queries.completed_tasks(uow, instance.id)]
    return body


def moved_body(uow: UnitOfWork, ctx: Context, actor: Actor, instance: Instance) -> dict[str, Any]:
    """A case after a repair (migration): in full for those who may see it, else without its data."""
    if queries.can_see(uow, actor, instance):
        return instance_body(uow, ctx, actor, instance, record_read=False)
    failures = [incidents.view(i, instance.number, ctx.calendar) for i in incidents.open_of(uow, instance.id)]
    return views.instance_view(instance, queries.definition_of(uow, instance), queries.open_tasks(uow, instance.id),
                               queries.waiting_timers(uow, instance.id), ctx.now(), ctx.calendar, with_data=False,
                               incidents=failures)


def completed_body(uow: UnitOfWork, ctx: Context, actor: Actor, done: Completed,
                   open_incidents: list[Incident] | None = None) -> dict[str, Any]:
    """The answer to a completion: the step as done and the case as it now stands
    (``open_incidents``: the case's, read in the completion's transaction)."""
    return {"task": task_body(uow, ctx, done.task, with_data=True),  # the data the caller just sent
            "instance": instance_body(uow, ctx, actor, done.instance, record_read=False, held=done,
                                      open_incidents=open_incidents)}


_CASE_LABELS = [defer(Instance.state), defer(Instance.data)]
_CASE_AND_VERSION = (select(Instance, Definition).options(*_CASE_LABELS)
                     .join(Definition, Definition.id == Instance.definition_id).where(Instance.id == bindparam("instance_id")))


def task_body(uow: UnitOfWork, ctx: Context, task: Task, with_form: bool = False, with_data: bool = False) -> dict[str, Any]:
    """A task; ``with_data`` adds its form data, which the caller audits as a read unless it just wrote it."""
    # The case's number, applicant and version only: not its saved workflow (~14 KB, decompressed
    # by the server) and data, unless the session holds the case already (a completion's).
    instance = uow.session.identity_map.get(uow.session.identity_key(Instance, task.instance_id))
    if instance is None and with_form:  # the case's version with it, in the same statement
        row = uow.session.execute(_CASE_AND_VERSION, {"instance_id": task.instance_id}).first()
        if row is not None:
            instance = row.Instance
            queries.hold_definition(uow, row.Definition)
    elif instance is None:
        instance = uow.session.get(Instance, task.instance_id, options=_CASE_LABELS)
    form = None
    if with_form and instance is not None:
        form = definitions.compiled(queries.definition_of(uow, instance)).forms.get(task.element_id)
    return views.task_view(task, ctx.now(), ctx.calendar, instance.number if instance else None, form, with_data,
                           applicant=instance.applicant_name if instance else None)


def read_task_body(uow: UnitOfWork, ctx: Context, actor: Actor, task: Task) -> dict[str, Any]:
    """A task with its form and its data; reading a step's data (personal data, once completed) is
    audited like a case read (``task_viewed``). A ready step has no data yet: nothing to audit."""
    if task.data:
        audit.record(uow, "task_viewed", actor.login, ctx.now(), task.instance_id, task.id,
                     data={"element_id": task.element_id})
    return task_body(uow, ctx, task, with_form=True, with_data=True)


def task_list_body(uow: UnitOfWork, ctx: Context, tasks: list[Task], actor: Actor | None = None,
                   labels: dict[int, tuple[str, str | None]] | None = None) -> list[dict[str, Any]]:
    """``labels``: each case's number and applicant, if already read with the tasks (else read here)."""
    if labels is None:
        labels = queries.labels_of(uow, {t.instance_id for t in tasks})
    items = []
    for t in tasks:
        number, applicant = labels.get(t.instance_id, (None, None))
        items.append(views.task_view(t, ctx.now(), ctx.calendar, number, applicant=applicant,
                                     acting_roles=actor.roles if actor else None))
    return items
