"""Saving and restoring a case's running workflow, without its (cached) process spec.

Spiff's serializer writes the whole compiled diagram into every saved state; the spec is
the same for every case of a definition version, so it is left out here and supplied
from the compiled cache on load. Smaller rows, and no spec rebuilt per request.
"""

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


def dump(workflow: BpmnWorkflow) -> str:
    """The workflow's state as compact JSON text (orjson: written on every step, 8 times faster
    than the standard library; keys that are not strings become strings, as ``json`` does)."""
    return orjson.dumps(SERIALIZER.to_dict(workflow), option=orjson.OPT_NON_STR_KEYS).decode()


def load(state: str, spec: Any, subprocess_specs: dict[str, Any], script_engine: Any) -> BpmnWorkflow:
    """Rebuild a workflow from :func:`dump`'s text and its compiled spec."""
    workflow = SERIALIZER.from_dict(orjson.loads(state), spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
