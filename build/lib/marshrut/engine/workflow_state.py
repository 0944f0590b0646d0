"""Saving and restoring a case's running workflow, without its (cached) process spec.

Spiff's serializer writes the whole compiled diagram into every saved state; the spec is
the same for every case of a definition version, so it is left out here and supplied
from the compiled cache on load. Smaller rows, and no spec rebuilt per request.

A workflow just saved is also kept in this process, under the exact text saved
(:class:`RecentlySaved`): when the case's next step comes to the same process before anyone
else changed the case, the row still holds that text and the workflow is taken back instead
of being rebuilt from it. The row stays the only truth: any other text is rebuilt.
"""

import threading
from collections import OrderedDict
from typing import Any
from uuid import UUID

import orjson

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Converts the top workflow leaving out ``spec`` and ``subprocess_specs``."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


SERIALIZER = _serializer()


class RecentlySaved:
    """The last workflows this process saved, by their spec and saved text; a workflow is
    taken out while a step works on it, so no two requests share one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._held: OrderedDict[tuple[int, str], BpmnWorkflow] = OrderedDict()
        self._key_of: dict[int, tuple[int, str]] = {}  # a workflow saved twice is held under its last text only
        self._lock = threading.Lock()

    def resize(self, size: int) -> None:
        with self._lock:
            self.size = size
            while len(self._held) > size:
                _key, oldest = self._held.popitem(last=False)
                self._key_of.pop(id(oldest), None)

    def keep(self, state: str, workflow: BpmnWorkflow) -> None:
        if self.size <= 0:
            return
        key = (id(workflow.spec), state)
        with self._lock:
            if (earlier := self._key_of.pop(id(workflow), None)) is not None:
                self._held.pop(earlier, None)
            self._held[key] = workflow
            self._key_of[id(workflow)] = key
            while len(self._held) > self.size:
                _key, oldest = self._held.popitem(last=False)
                self._key_of.pop(id(oldest), None)

    def take(self, state: str, spec: Any) -> BpmnWorkflow | None:
        with self._lock:
            workflow = self._held.pop((id(spec), state), None)
            if workflow is not None:
                self._key_of.pop(id(workflow), None)
        return workflow if workflow is not None and workflow.spec is spec else None


RECENT = RecentlySaved(size=128)


def dump(workflow: BpmnWorkflow) -> str:
    """The workflow's state as compact JSON text (orjson: written on every step, 8 times faster
    than the standard library; keys that are not strings become strings, as ``json`` does).

    The workflow is kept under that text for the case's next step; the caller changes it no more.
    """
    state = orjson.dumps(SERIALIZER.to_dict(workflow), option=orjson.OPT_NON_STR_KEYS).decode()
    RECENT.keep(state, workflow)
    return state


def load(state: str, spec: Any, subprocess_specs: dict[str, Any], script_engine: Any) -> BpmnWorkflow:
    """The workflow a saved text describes: the one this process saved as that text if it still
    holds it, else rebuilt from the text and its compiled spec."""
    workflow = RECENT.take(state, spec)
    if workflow is None:
        workflow = SERIALIZER.from_dict(orjson.loads(state), spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
