"""The floor: the address-aid diagram run in-process by raw SpiffWorkflow, no database, no HTTP.

Spiff's own CamundaParser, its ``PythonScriptEngine`` (given the three helper functions the
diagram calls: ``today``, ``now``, ``next_committee_meeting``) and its default serializer
(``BpmnWorkflowSerializer`` with the Camunda config, which writes the spec into every
state). A case is the start plus the 13 user tasks of the granted path, with the
workflow serialized to JSON and deserialized again after the start and after every step,
as a service that keeps no workflow in memory between requests must.

Two state formats: ``spiff`` (Spiff's default serializer and stdlib json, the whole compiled
diagram inside every state) and ``product`` (the default): the service's own format,
:mod:`engine.workflow_state`'s spec-less converter with orjson, the spec supplied on load, and
no kept workflow taken back (a cold cache, as for a case nobody touched a moment ago). The
honest floor runs in as many processes as the service has gunicorn workers
(:func:`measure_parallel`): the service uses every core, so the floor must too.

Marshrut's committee timer asks for the first meeting after ``today()``; here ``today()``
answers a month ago, so the meeting has passed and Spiff fires the timer on the next
refresh without waiting. The escalation timers (target and legal dates) stay in the
future, as in a case finished on time.
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.util.task import TaskState

import orjson

from bench.samples import APPLICATION, STEPS
from marshrut.engine import workflow_state
from marshrut.engine.business_calendar import KYIV, BusinessCalendar
from marshrut.engine.config import Settings


def _day(value: str) -> date:
    return datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)


class RawCase:
    """The parsed diagram and what one raw case needs."""

    def __init__(self, state_format: str = "product") -> None:
        self.state_format = state_format
        settings = Settings()
        parser = CamundaParser()
        parser.add_bpmn_file(str(settings.bpmn_dir / "address_aid.bpmn"))
        for path in sorted(settings.bpmn_dir.glob("*.dmn")):
            parser.add_dmn_file(str(path))
        self.spec = parser.get_spec("address_aid")
        self.subprocess_specs = parser.get_subprocess_specs("address_aid")
        calendar = BusinessCalendar(ZoneInfo("Europe/Kyiv"))
        month_ago = (datetime.now(KYIV) - timedelta(days=30)).date()
        functions = {
            "today": lambda: month_ago.isoformat(),
            "now": lambda: datetime.now(KYIV).isoformat(),
            "next_committee_meeting": lambda day: calendar.committee_meeting_start(_day(day)).isoformat(),
        }
        self.script_engine = PythonScriptEngine(environment=TaskDataEnvironment(functions))
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
        now = datetime.now(KYIV)
        self.start_data = {
            **APPLICATION, "received_at": now.isoformat(), "received_date": now.date().isoformat(),
            "target_due": (now + timedelta(days=21)).isoformat(), "legal_due": (now + timedelta(days=31)).isoformat(),
        }

    def _roundtrip(self, workflow: BpmnWorkflow, sizes: list[int]) -> BpmnWorkflow:
        if self.state_format == "product":
            state = orjson.dumps(workflow_state.SERIALIZER.to_dict(workflow), option=orjson.OPT_NON_STR_KEYS).decode()
            sizes.append(len(state.encode()))
            restored = workflow_state.SERIALIZER.from_dict(orjson.loads(state), spec=self.spec,
                                                           subprocess_specs=self.subprocess_specs)
        else:
            state = self.serializer.serialize_json(workflow)
            sizes.append(len(state.encode()))
            restored = self.serializer.deserialize_json(state)
        restored.script_engine = self.script_engine
        return restored

    def run(self) -> tuple[int, list[int]]:
        """One whole case; returns the user steps completed and the size of each saved state."""
        sizes: list[int] = []
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(self.start_data)
        workflow.do_engine_steps()
        workflow = self._roundtrip(workflow, sizes)
        steps = 0
        while not workflow.completed:
            ready = workflow.get_tasks(state=TaskState.READY, manual=True)
            if not ready:  # waiting for the committee meeting, which has passed
                workflow.refresh_waiting_tasks()
                workflow.do_engine_steps()
                workflow = self._roundtrip(workflow, sizes)
                if not workflow.get_tasks(state=TaskState.READY, manual=True) and not workflow.completed:
                    raise RuntimeError("raw case stuck on a timer")
                continue
            task = ready[0]
            task.data.update(STEPS[task.task_spec.bpmn_id])
            task.run()
            workflow.do_engine_steps()
            steps += 1
            workflow = self._roundtrip(workflow, sizes)
        return steps, sizes


def measure(seconds: float, min_cases: int = 5, state_format: str = "product") -> dict[str, Any]:
    """Whole raw cases back to back for about ``seconds``; cases per second on one core."""
    raw = RawCase(state_format)
    steps, sizes = raw.run()  # warm-up: imports, first evaluations
    durations: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds or len(durations) < min_cases:
        begin = time.perf_counter()
        steps, sizes = raw.run()
        durations.append(time.perf_counter() - begin)
    total = sum(durations)
    return {
        "cases": len(durations), "steps_per_case": steps, "seconds": round(total, 3),
        "cases_per_s": round(len(durations) / total, 3), "ms_per_case": round(total / len(durations) * 1000, 2),
        "ms_per_step": round(total / len(durations) / steps * 1000, 2),
        "state_bytes_max": max(sizes), "state_format": state_format, "serializer": SERIALIZERS[state_format],
        "cores": 1,
    }


SERIALIZERS = {"product": "engine.workflow_state (spec-less, orjson; rebuilt from text every step)",
               "spiff": "SpiffWorkflow BpmnWorkflowSerializer (Camunda config, spec included, stdlib json)"}


def _one(args: tuple[float, str]) -> dict[str, Any]:
    return measure(args[0], state_format=args[1])


def measure_parallel(seconds: float, processes: int, state_format: str = "product") -> dict[str, Any]:
    """The floor in ``processes`` processes at once (as many as the service's workers), each
    running whole cases for about ``seconds``; cases per second is their sum."""
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_one, [(seconds, state_format)] * processes)
    rate = sum(p["cases_per_s"] for p in parts)
    steps = parts[0]["steps_per_case"]
    return {
        "processes": processes, "state_format": state_format, "serializer": SERIALIZERS[state_format],
        "cases": sum(p["cases"] for p in parts), "steps_per_case": steps, "cases_per_s": round(rate, 3),
        "steps_per_s": round(rate * steps, 2),
        "ms_per_case": round(sum(p["ms_per_case"] for p in parts) / processes, 2), "ms_per_step": round(sum(p["ms_per_step"] for p in parts) / processes, 2),
        "state_bytes_max": max(p["state_bytes_max"] for p in parts), "cores": processes,
    }
