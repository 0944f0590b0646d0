"""BPMN timers that read the engine's clock instead of the machine's.

Spiff's ``TimeDateEventDefinition`` compares with ``datetime.now()``; with the controlled
clock a timer must fire by the engine's "now" and only when the worker says so. After
parsing, time-date timers are re-classed to :class:`ClockedTimeDate`, which asks the
workflow's script engine for the moment.
"""

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition, TimerEventDefinition


class ClockedTimeDate(TimeDateEventDefinition):
    """A time-date timer that fires when the engine's clock has reached its moment."""

    def has_fired(self, my_task: Any) -> bool:
        if my_task._get_internal_data("event_fired", False):
            return True
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=event_value)
        if fires_at(event_value) <= my_task.workflow.script_engine.clock.now():
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


def fires_at(event_value: str) -> datetime:
    """The moment a timer's evaluated expression names (timezone-aware)."""
    return TimerEventDefinition.get_datetime(str(event_value))


def use_engine_clock(specs: dict[str, Any]) -> None:
    """Re-class every time-date timer in the given process specs (in place, idempotent)."""
    for spec in specs.values():
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if type(definition) is TimeDateEventDefinition:
                definition.__class__ = ClockedTimeDate
