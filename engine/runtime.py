"""The running workflow of one case: create, load, save, and read its open steps and timers.

This is the only module that touches SpiffWorkflow's task objects.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine import workflow_state
from engine.context import Context
from engine.definitions import Compiled
from engine.errors import CaseChanged
from engine.evaluator import ScriptEngine
from engine.timers import ClockedTimeDate, fires_at


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


def start(compiled: Compiled, data: dict[str, Any], ctx: Context) -> BpmnWorkflow:
    """A new workflow with ``data`` as the start event's data, run up to its first wait."""
    workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=script_engine(ctx))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    workflow.do_engine_steps()
    return workflow


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


def complete(workflow: BpmnWorkflow, spiff_id: str, data: dict[str, Any]) -> None:
    """Merge the form's data into the task, run it and everything automatic after it.

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
    workflow.do_engine_steps()


def fire_timers(workflow: BpmnWorkflow) -> None:
    """Let timers whose moment has come (by the engine's clock) fire, and run on."""
    workflow.refresh_waiting_tasks()
    workflow.do_engine_steps()


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
