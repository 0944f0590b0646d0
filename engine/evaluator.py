"""The restricted evaluator for gateway conditions, scripts, timer dates and DMN entries.

Diagrams are data that analysts edit, so what runs from them gets an explicit allow-list:
no imports, no names or attributes with a leading underscore (which closes the dunder
escape hatches), and only the builtins below. There is deliberately no switch to turn this
off.
"""

import ast
import builtins
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Callable

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from engine.business_calendar import BusinessCalendar
from engine.clock import Clock
from engine.errors import InvalidInput

SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "dict", "enumerate", "filter", "float", "int", "isinstance",
    "len", "list", "map", "max", "min", "range", "round", "set", "sorted", "str", "sum",
    "tuple", "zip",
)
SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}

#: Attributes that reach outside the sandbox without a leading underscore: frame and code
#: introspection (``(g.gi_frame.f_back.f_globals for g in …)`` climbs to the engine's own
#: globals and from there to ``open``), as RestrictedPython's list; and ``str.format``, which
#: reads attributes named inside the string (``"{0.__class__}"``) out of the check's sight.
FORBIDDEN_ATTRIBUTES = frozenset({
    "tb_frame", "tb_next", "co_code", "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_trace",
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_await", "cr_frame", "cr_code", "cr_origin",
    "ag_await", "ag_code", "ag_frame", "format", "format_map",
})
FORBIDDEN_NODES = (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.AsyncFunctionDef,
                   ast.Await, ast.Yield, ast.YieldFrom, ast.ClassDef, ast.Lambda)


class UnsafeExpression(InvalidInput):
    """An expression or script uses something the restricted evaluator does not allow."""

    code = "unsafe_expression"


def check_source(source: str, mode: str = "exec") -> ast.AST:
    """Parse ``source`` and refuse what the allow-list does not permit.

    :raise UnsafeExpression: on a syntax error, an import or an underscore name.
    """
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        raise UnsafeExpression(f"Синтаксична помилка у виразі «{source}»: {err.msg}") from err
    for node in ast.walk(tree):
        if isinstance(node, FORBIDDEN_NODES):
            raise UnsafeExpression(f"У виразі «{source}» заборонено {type(node).__name__}")
        name = getattr(node, "id", None) or getattr(node, "attr", None) or ""
        if isinstance(node, (ast.Name, ast.Attribute)) and name.startswith("_"):
            raise UnsafeExpression(f"У виразі «{source}» заборонено ім'я «{name}»")
        if isinstance(node, ast.Attribute) and name in FORBIDDEN_ATTRIBUTES:
            raise UnsafeExpression(f"У виразі «{source}» заборонено атрибут «{name}»")
    return tree


@lru_cache(maxsize=4096)
def checked_code(source: str, mode: str) -> Any:
    """``source`` checked by :func:`check_source` and compiled, once per text: a diagram's few
    conditions and scripts run on every step of every case.

    :raise UnsafeExpression: as :func:`check_source` (not cached: asked again, refused again).
    """
    check_source(source, mode=mode)
    return compile(source, "<expression>" if mode == "eval" else "<script>", mode)


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
    scope = {**functions, **data, "__builtins__": SAFE_BUILTINS}
    return eval(checked_code(expression, "eval"), scope)  # noqa: S307 - checked by checked_code


class RestrictedEnvironment(TaskDataEnvironment):
    """Spiff's task-data environment with the allow-list applied before every run."""

    def __init__(self, functions: dict[str, Callable[..., Any]]) -> None:
        super().__init__({"__builtins__": SAFE_BUILTINS, **functions})

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
            exec(code, context)  # noqa: S102 - checked above
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
        ast.parse(expression)
        check_source(expression)
