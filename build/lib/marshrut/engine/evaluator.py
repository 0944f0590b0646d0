"""The restricted evaluator for gateway conditions, scripts, timer dates and DMN entries.

Diagrams are data that analysts edit, so what runs from them gets an explicit allow-list:
no imports, no names or attributes with a leading underscore (which closes the dunder
escape hatches), and only the builtins below. There is deliberately no switch to turn this
off.
"""

import ast
import builtins
from datetime import date, datetime
from typing import Any, Callable

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from marshrut.engine.business_calendar import BusinessCalendar
from marshrut.engine.clock import Clock
from marshrut.engine import sandbox
from marshrut.engine.sandbox import BUILTIN_NAMES, UnsafeExpression
from marshrut.engine.sandbox_guards import GUARD_SCOPE, evaluation

__all__ = ["SAFE_BUILTINS", "ScriptEngine", "UnsafeExpression", "check_source", "evaluate", "engine_functions"]

SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name) for name in sorted(BUILTIN_NAMES - {"True", "False", "None"})
}


def check_source(source: str, mode: str = "exec") -> Any:
    """Parse ``source`` and refuse what the sandbox's grammar does not allow.

    :raise UnsafeExpression: on a syntax error or a construct outside the grammar.
    """
    return sandbox.parse(source, mode=mode)


def checked_code(source: str, mode: str) -> Any:
    """``source`` checked, guarded and compiled, once per text (:func:`engine.sandbox.compiled`)."""
    return sandbox.compiled(source, mode)


def run_eval(code: Any, scope: dict[str, Any]) -> Any:
    """Evaluate checked code under the limits of one evaluation."""
    scope.update(GUARD_SCOPE)
    scope["__builtins__"] = SAFE_BUILTINS
    with evaluation():
        return eval(code, scope)  # noqa: S307 - checked and guarded by engine.sandbox


def _as_date(day: str | date | datetime) -> date:
    if isinstance(day, datetime):
        return day.date()
    if isinstance(day, date):
        return day
    return datetime.fromisoformat(day).date() if "T" in day else date.fromisoformat(day)


def engine_functions(clock: Clock, calendar: BusinessCalendar) -> dict[str, Callable[..., Any]]:
    """The functions diagrams may call, bound to the clock and calendar of this operation."""

    def next_committee_meeting(day: str | date | datetime) -> str:
        return calendar.committee_meeting_start(_as_date(day)).isoformat()

    return {
        "now": lambda: clock.now().isoformat(),
        "today": lambda: calendar.local_date(clock.now()).isoformat(),
        "next_committee_meeting": next_committee_meeting,
    }


def evaluate(expression: str, data: dict[str, Any], functions: dict[str, Callable[..., Any]]) -> Any:
    """``expression`` over ``data`` under the allow-list, as a diagram's condition is evaluated;
    for the engine's own simulations (forecast, step rules), which need no Spiff task."""
    return run_eval(checked_code(expression, "eval"), {**functions, **data})


class RestrictedEnvironment(TaskDataEnvironment):
    """Spiff's task-data environment with the allow-list applied before every run."""

    def __init__(self, functions: dict[str, Callable[..., Any]]) -> None:
        super().__init__({"__builtins__": SAFE_BUILTINS, **GUARD_SCOPE, **functions})

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        # The module's evaluate: the task's data over the external context over the functions.
        return evaluate(expression, {**(external_context or {}), **context}, self.globals)

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        code = checked_code(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        context.update(self.globals)
        context.update(external_context or {})
        context["__builtins__"] = SAFE_BUILTINS
        try:
            with evaluation():
                exec(code, context)  # noqa: S102 - checked and guarded by engine.sandbox
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


class ScriptEngine(PythonScriptEngine):
    """Spiff's script engine over the restricted environment; carries the clock for timers."""

    def __init__(self, clock: Clock, calendar: BusinessCalendar) -> None:
        super().__init__(environment=RestrictedEnvironment(engine_functions(clock, calendar)))
        self.clock = clock
        self.calendar = calendar

    def validate(self, expression: str) -> None:
        # Spiff's DMN engine probes entries such as ``>= 5`` by catching SyntaxError.
        compile(expression, "<dmn>", "eval", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        check_source(expression, mode="eval")
