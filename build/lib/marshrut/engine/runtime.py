"""The running workflow of one case: create, load, save, and read its open steps and timers.

This is the only module that touches SpiffWorkflow's task objects.
"""

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util.diff import diff_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from marshrut.engine import workflow_state
from marshrut.engine.context import Context
from marshrut.engine.definitions import Compiled
from marshrut.engine.errors import CaseChanged
from marshrut.engine.evaluator import ScriptEngine
from marshrut.engine.timers import ClockedTimeDate, fires_at


@dataclass(frozen=True)
class OpenStep:
    """A READY user task as the workflow has it."""

    spiff_id: str
    element_id: str
    name: str
    local_data: dict[str, Any]
    spiff_task: Any


@dataclass(frozen=True)
class WaitingTimer:
    spiff_id: str
    element_id: str
    name: str
    fires_at: datetime


@dataclass(frozen=True)
class Standing:
    """Where a workflow stands after a change, read in one walk of its task tree."""

    open_steps: list[OpenStep]
    waiting_timers: list[WaitingTimer]
    data: dict[str, Any]  # as :func:`case_data`
    ended_status: str | None  # as :func:`ended_status`


def standing(workflow: BpmnWorkflow, compiled: Compiled) -> Standing:
    """Open steps, waiting timers, case data and how it ended, from one walk (each alone walks
    the whole tree, and a step's sync needs them all)."""
    steps, timers, with_data = [], [], []
    for task in workflow.get_tasks():
        state = task.state
        if state == TaskState.READY:
            with_data.append(task)
            if task.task_spec.manual:
                steps.append(_open_step(task))
        elif state == TaskState.COMPLETED:
            with_data.append(task)
        elif state == TaskState.WAITING and (timer := _waiting_timer(task)) is not None:
            timers.append(timer)
    return Standing(steps, timers, _merged_data(with_data), ended_status(workflow, compiled))


def script_engine(ctx: Context) -> ScriptEngine:
    return ScriptEngine(ctx.clock, ctx.calendar)


@dataclass(frozen=True)
class Failure:
    """Automatic work that failed: its element, its task (left in Spiff's ERROR state, the
    workflow standing at the last good point before it) and what went wrong."""

    element_id: str
    spiff_id: str
    message: str


#: How much of an error's text an incident keeps.
MESSAGE_LIMIT = 2000


def run_automatic(workflow: BpmnWorkflow) -> Failure | None:
    """Run the workflow's automatic work (scripts, gateways, decisions) up to its next wait.

    A failing element stops the run there: Spiff leaves that task in ERROR and everything
    before it done, so what people did is kept and the failure is returned, not raised.
    A failure Spiff cannot pin on a task (the workflow's state unknown) is raised as before.
    """
    started = time.time()  # Spiff's clock for state changes: a task failed in this run changed after it
    try:
        workflow.do_engine_steps()
    except Exception as err:  # noqa: BLE001 - whatever a diagram's code raised, sandbox limits included
        failed = _failed_task(workflow, err, started)
        if failed is None:
            raise
        return Failure(failed.task_spec.bpmn_id or failed.task_spec.name, str(failed.id), describe(err)[:MESSAGE_LIMIT])
    return None


def describe(err: BaseException) -> str:
    """What failed and why: Spiff's "Error evaluating expression …" alone does not say why, so
    the underlying error (``ValueError: invalid literal for int() …``) is added to it."""
    message = str(err).strip() or type(err).__name__
    cause, seen = err.__cause__ or err.__context__, 0
    while cause is not None and seen < 10:  # Spiff re-raises inside ``except``: the original is the context
        if str(cause) and str(cause) not in message:
            return f"{message} {type(cause).__name__}: {cause}"
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return message


def _failed_task(workflow: BpmnWorkflow, err: Exception, started: float) -> Any:
    task = getattr(err, "task", None)  # Spiff's WorkflowTaskException names it
    if task is not None and task.state == TaskState.ERROR:
        return task
    new = [t for t in workflow.get_tasks(state=TaskState.ERROR) if t.last_state_change >= started]
    return max(new, key=lambda t: t.last_state_change) if new else None


def start(compiled: Compiled, data: dict[str, Any], ctx: Context) -> tuple[BpmnWorkflow, Failure | None]:
    """A new workflow with ``data`` as the start event's data, run up to its first wait (or failure)."""
    workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=script_engine(ctx))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    return workflow, run_automatic(workflow)


def load(state: str, compiled: Compiled, ctx: Context) -> BpmnWorkflow:
    return workflow_state.load(state, compiled.spec, compiled.subprocess_specs, script_engine(ctx))


def open_steps(workflow: BpmnWorkflow) -> list[OpenStep]:
    """READY user tasks, with the data that belongs to that task alone (a multi-instance item)."""
    return [_open_step(task) for task in workflow.get_tasks(state=TaskState.READY, manual=True)]


def _open_step(task: Any) -> OpenStep:
    return OpenStep(str(task.id), task.task_spec.bpmn_id, task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                    _item_data(task), task)


def _item_data(task: Any) -> dict[str, Any]:
    parent_spec = task.parent.task_spec if task.parent is not None else None
    item = getattr(parent_spec, "input_item", None)
    if item is not None and item.bpmn_id in task.data:
        return {item.bpmn_id: task.data[item.bpmn_id]}
    return {}


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    """Timers waiting for the engine's clock, with the moment each fires."""
    return [timer for task in workflow.get_tasks(state=TaskState.WAITING) if (timer := _waiting_timer(task)) is not None]


def _waiting_timer(task: Any) -> WaitingTimer | None:
    definition = getattr(task.task_spec, "event_definition", None)
    value = task._get_internal_data("event_value")
    if not isinstance(definition, ClockedTimeDate) or value is None:
        return None
    return WaitingTimer(str(task.id), task.task_spec.bpmn_id, task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                        fires_at(value))


def fired(workflow: BpmnWorkflow, spiff_id: str) -> bool:
    """Whether a timer that no longer waits fired (rather than being withdrawn)."""
    try:
        return workflow.get_task_from_id(UUID(spiff_id)).state == TaskState.COMPLETED
    except TaskNotFoundException:
        return False


def complete(workflow: BpmnWorkflow, spiff_id: str, data: dict[str, Any]) -> Failure | None:
    """Merge the form's data into the task, run it and everything automatic after it.

    :return: the automatic work that failed after it (the step itself stays done), if any.

    :raise CaseChanged: the step is not ready in this state of the case (someone completed it
        after its row was read).
    """
    try:
        task = workflow.get_task_from_id(UUID(spiff_id))
    except TaskNotFoundException:
        task = None
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise CaseChanged("Завдання щойно виконав інший користувач; оновіть сторінку")
    task.data.update(data)
    task.run()
    return run_automatic(workflow)


def fire_timers(workflow: BpmnWorkflow) -> Failure | None:
    """Let timers whose moment has come (by the engine's clock) fire, and run on.

    :return: the automatic work after a timer that failed (the timer stays fired), if any.
    """
    workflow.refresh_waiting_tasks()
    return run_automatic(workflow)


def retry(workflow: BpmnWorkflow, spiff_id: str) -> Failure | None:
    """Run a failed (ERROR) task again from its own start, under the workflow's current spec,
    and everything automatic after it.

    :raise CaseChanged: the task is not failed in this state of the case.
    """
    try:
        task = workflow.get_task_from_id(UUID(spiff_id))
    except TaskNotFoundException:
        task = None
    if task is None or task.state != TaskState.ERROR:
        raise CaseChanged("Цей елемент справи вже не в стані помилки; оновіть сторінку")
    task.reset_branch(None)  # the data it was given, its spec as the case's version now has it
    return run_automatic(workflow)


def failed_tasks(workflow: BpmnWorkflow) -> list[str]:
    """Spiff ids of the tasks left failed (ERROR)."""
    return [str(task.id) for task in workflow.get_tasks(state=TaskState.ERROR)]


#: Tasks a case stands at: a person's step, a waiting timer or join, a failed element.
_OPEN = TaskState.READY | TaskState.WAITING | TaskState.ERROR | TaskState.STARTED


def missing_in(workflow: BpmnWorkflow, compiled: Compiled) -> list[str]:
    """Element ids of the open tasks (ready, waiting, failed) the version ``compiled`` lacks,
    by SpiffWorkflow's own diff of the workflow against that version's spec."""
    top, subprocesses = diff_workflow(workflow_state.SERIALIZER.registry, workflow, compiled.spec,
                                      compiled.subprocess_specs)
    removed = list(top.removed)
    for sp_id, diff in subprocesses.items():
        if diff is None:  # the whole subprocess is gone: its parent task is the open step
            removed.append(workflow.get_task_from_id(sp_id))
        else:
            removed.extend(diff.removed)
    return sorted({t.task_spec.bpmn_id or t.task_spec.name for t in removed if t.has_state(_OPEN)})


def migrate(workflow: BpmnWorkflow, compiled: Compiled) -> None:
    """Move the workflow onto another version's spec (SpiffWorkflow's diff and alignment).

    Each task is re-pointed at its element in the new version; the predicted future of every
    ready or waiting task is rebuilt from the new flow. Unlike Spiff's ``migrate_workflow``,
    open tasks are not reset: a step keeps its id and data (its row stays the same) and a
    waiting timer keeps the moment it was set for. A failed task keeps its state: retrying it
    runs the new version's element. Call :func:`missing_in` first: it must be empty.
    """
    top, subprocesses = diff_workflow(workflow_state.SERIALIZER.registry, workflow, compiled.spec,
                                      compiled.subprocess_specs)
    _move(workflow, top, compiled.spec)
    for sp_id, diff in subprocesses.items():
        subprocess = workflow.subprocesses[sp_id]
        _move(subprocess, diff, compiled.subprocess_specs[subprocess.spec.name])
    workflow.subprocess_specs = compiled.subprocess_specs


def _move(workflow: Any, diff: Any, spec: Any) -> None:
    workflow.spec = spec
    for task in workflow.tasks.values():
        aligned = diff.alignment.get(task)
        if aligned is not None:
            task.task_spec = aligned
    for task in list(workflow.get_tasks(state=TaskState.READY | TaskState.WAITING, skip_subprocesses=True)):
        if task.id in workflow.tasks:  # not dropped with an earlier task's future
            task._drop_children(force=True)
            task.task_spec._predict(task, mask=TaskState.PREDICTED_MASK | task.state)
    if workflow.last_task is not None and workflow.last_task.id not in workflow.tasks:
        workflow.last_task = None


def ended_status(workflow: BpmnWorkflow, compiled: Compiled) -> str | None:
    """``None`` while running; else ``returned`` or another status an end event declares."""
    if not workflow.completed:
        return None
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        props = compiled.facts.properties.get(task.task_spec.bpmn_id or "", {})
        if compiled.facts.kinds.get(task.task_spec.bpmn_id or "") == "endEvent" and props.get("status"):
            return props["status"]
    return "completed"


def case_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The case's data as its latest completed step left it, merged over every branch."""
    return _merged_data(workflow.get_tasks(state=TaskState.COMPLETED | TaskState.READY))


def _merged_data(tasks: list[Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for task in sorted(tasks, key=lambda t: t.last_state_change):
        merged.update({k: v for k, v in task.data.items() if not k.startswith("_")})
    return merged


def dump(workflow: BpmnWorkflow) -> str:
    return workflow_state.dump(workflow)
