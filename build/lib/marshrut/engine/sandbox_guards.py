"""The guards that sandboxed code calls at run time, and the limits they keep.

:mod:`engine.sandbox` rewrites checked code so that every attribute read, call, loop,
``**``/``*``/``<<``/``+``/``%`` and slice goes through a function here. Each guard checks
its operands BEFORE computing: a number or a sequence that would break a limit is refused
with :class:`SandboxLimitExceeded` without the interpreter ever holding the GIL on it. Loops
and calls count iterations and look at a per-evaluation deadline.
"""

import math
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable, Iterator

from marshrut.engine.errors import InvalidInput, SandboxLimitExceeded


@dataclass
class Limits:
    """What one evaluation may use. ``timeout_ms`` comes from ``MARSHRUT_SCRIPT_TIMEOUT_MS``."""

    timeout_ms: int = 1000
    max_int_bits: int = 14_300          # about 10**4300
    max_items: int = 1_000_000          # characters of a text, items of a list/dict/set
    max_iterations: int = 1_000_000     # loop and comprehension steps plus calls
    max_allocated: int = 10_000_000     # items and characters created in one evaluation


LIMITS = Limits()


class UnsafeExpression(InvalidInput):
    """An expression or script uses something the sandbox does not allow."""

    code = "unsafe_expression"


def configure(timeout_ms: int | None = None) -> None:
    """Set the per-evaluation deadline (the adapters call this from the settings)."""
    if timeout_ms is not None:
        if timeout_ms <= 0:
            raise ValueError("MARSHRUT_SCRIPT_TIMEOUT_MS must be positive")
        LIMITS.timeout_ms = timeout_ms


class _Budget(threading.local):
    depth = 0
    deadline = 0.0
    ticks = 0
    allocated = 0


_budget = _Budget()


class evaluation:  # noqa: N801 - used as ``with evaluation():``
    """The budget of one evaluation (nested evaluations share the outermost one)."""

    def __enter__(self) -> None:
        if _budget.depth == 0:
            _budget.deadline = time.monotonic() + LIMITS.timeout_ms / 1000
            _budget.ticks = 0
            _budget.allocated = 0
        _budget.depth += 1

    def __exit__(self, *exc: object) -> None:
        _budget.depth -= 1


def _exceeded(what: str) -> SandboxLimitExceeded:
    return SandboxLimitExceeded(f"Скрипт або вираз діаграми перевищив обмеження: {what}")


def tick() -> None:
    _budget.ticks += 1
    if _budget.ticks > LIMITS.max_iterations:
        raise _exceeded(f"понад {LIMITS.max_iterations} кроків циклів і викликів")
    if _budget.ticks & 63 == 0 and time.monotonic() > _budget.deadline:
        raise _exceeded(f"час виконання понад {LIMITS.timeout_ms} мс")


def _charge(items: int) -> None:
    if items > LIMITS.max_items:
        raise _exceeded(f"текст або список довший за {LIMITS.max_items} елементів")
    _budget.allocated += items
    if _budget.allocated > LIMITS.max_allocated:
        raise _exceeded(f"пам'ять: створено понад {LIMITS.max_allocated} елементів")
    if time.monotonic() > _budget.deadline:
        raise _exceeded(f"час виконання понад {LIMITS.timeout_ms} мс")


_SEQUENCES = (str, list, tuple)
_CONTAINERS = (list, tuple, dict, set, frozenset)
_SCALARS = frozenset({int, float, bool, str, type(None), date, datetime, timedelta})
_FLAT = _SCALARS - {str}


def _int_bits(value: int) -> None:
    if value.bit_length() > LIMITS.max_int_bits:
        raise _exceeded(f"число більше за 2**{LIMITS.max_int_bits} (близько 10**4300)")


def guard_pow(base: Any, exponent: Any) -> Any:
    if type(base) in (int, bool) and type(exponent) in (int, bool) and exponent > 0 and abs(base) > 1:
        if exponent * math.log2(abs(base)) > LIMITS.max_int_bits:
            raise _exceeded(f"результат піднесення до степеня більший за 2**{LIMITS.max_int_bits}")
    return base ** exponent


def guard_mul(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > LIMITS.max_int_bits:
            raise _exceeded(f"добуток більший за 2**{LIMITS.max_int_bits}")
    elif isinstance(left, _SEQUENCES) and isinstance(right, int):
        _repeat(left, right)
    elif isinstance(right, _SEQUENCES) and isinstance(left, int):
        _repeat(right, left)
    return left * right


def _repeat(sequence: Any, times: int) -> None:
    size = len(sequence) * max(times, 0)
    if size > LIMITS.max_items:
        raise _exceeded(f"повторення дає понад {LIMITS.max_items} елементів")
    if times > 1 and not isinstance(sequence, str) and not set(map(type, sequence)).issubset(_SCALARS):
        raise _exceeded("повторення списку, що містить списки чи словники (використайте [ ... for ... ])")
    _charge(size)


def guard_lshift(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and left and right > 0:
        if right > LIMITS.max_int_bits or left.bit_length() + right > LIMITS.max_int_bits:
            raise _exceeded(f"зсув дає число більше за 2**{LIMITS.max_int_bits}")
    return left << right


def guard_add(left: Any, right: Any) -> Any:
    if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _charge(len(left) + len(right))
    result = left + right
    if type(result) is int:
        _int_bits(result)  # one bit per addition, but a loop of them would pass any bound
    return result


def guard_sub(left: Any, right: Any) -> Any:
    result = left - right
    if type(result) is int:
        _int_bits(result)
    return result


def guard_mod(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        raise InvalidInput("Форматування рядків через % у діаграмах не підтримується: використайте f-рядок")
    return left % right


def guard_sized(value: Any) -> Any:
    if isinstance(value, _SEQUENCES):
        _charge(len(value))
    return value


def guard_iterate(iterable: Any) -> Iterator[Any]:
    for item in iterable:
        tick()
        yield item


def measure(value: Any) -> int:
    """``value``'s logical size in items and characters — what its text, a comparison or a hash
    walks: a list shared N times counts N times — refused beyond the size limit.

    Computed once per distinct object (post-order, memoised by id), so a tuple doubled forty
    times costs forty steps to measure, not 2**40.
    """
    if type(value) in _FLAT:
        return 1
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, _CONTAINERS):
        return 1
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, children_done = stack.pop()
        key = id(item)
        if children_done:
            on_path.discard(key)
            total = len(item)
            for part in _parts(item):
                types = set(map(type, part))  # at C speed: most lists hold numbers or texts only
                if str in types:
                    total += sum(len(i) for i in part if type(i) is str)
                if not types.issubset(_SCALARS):
                    total += sum(sizes.get(id(i), 1) for i in part if type(i) not in _SCALARS)
            if total > LIMITS.max_items:
                raise _exceeded(f"значення більше за {LIMITS.max_items} елементів і символів (з урахуванням вкладених)")
            sizes[key] = total
        elif key not in sizes and key not in on_path:  # a cycle counts once
            on_path.add(key)
            stack.append((item, True))
            for part in _parts(item):
                if not set(map(type, part)).issubset(_SCALARS):
                    stack.extend((i, False) for i in part if isinstance(i, _CONTAINERS))
    return sizes[id(value)]


def _parts(item: Any) -> tuple[Iterable[Any], ...]:
    return (item.keys(), item.values()) if isinstance(item, dict) else (item,)


def guard_formatted(value: Any) -> Any:
    _charge(measure(value))
    return value


def guard_compared(value: Any, membership: bool = False) -> Any:
    """An operand of ``==``, ``<``, ``in``…: comparing nested lists costs their whole size
    (``x in some_dict`` hashes ``x`` alone: the dict or set is not measured)."""
    if membership and isinstance(value, (dict, set, frozenset)):
        return value
    if isinstance(value, _CONTAINERS):
        measure(value)
        if time.monotonic() > _budget.deadline:
            raise _exceeded(f"час виконання понад {LIMITS.timeout_ms} мс")
    return value


#: Calls whose result may be as large as their arguments' text, or as large as asked.
_TEXT_BUILDERS = frozenset({str})
_COPIERS = frozenset({list, tuple, set, dict, sorted, frozenset})
#: Calls that neither compare nor hash their arguments' items (the others: nested ones are measured).
_CHEAP = frozenset({len, isinstance, bool, enumerate, zip, list, tuple, range, abs, int, float})


def guard_call(function: Any, *args: Any, **kwargs: Any) -> Any:
    tick()
    if function is range:
        try:
            size = len(range(*args))
        except OverflowError:
            size = LIMITS.max_items + 1
        if size > LIMITS.max_items:
            raise _exceeded(f"range довший за {LIMITS.max_items} елементів")
    elif function in _TEXT_BUILDERS and args:
        _charge(measure(args[0]))
    elif function is round:
        digits = args[1] if len(args) > 1 else kwargs.get("ndigits")
        if isinstance(digits, int) and abs(digits) > 400:
            raise _exceeded("round() з точністю понад 400 знаків")
    elif function is sum and not isinstance(args[1] if len(args) > 1 else kwargs.get("start", 0), (int, float)):
        raise _exceeded("sum() лише для чисел (початкове значення має бути числом)")
    if function not in _CHEAP:
        for argument in (*args, *kwargs.values()):
            if isinstance(argument, _CONTAINERS):
                guard_compared(argument)  # hashed, compared or walked by the callee
    if function in _COPIERS and args and hasattr(args[0], "__len__"):
        _charge(len(args[0]))
    return function(*args, **kwargs)


# --- attributes: listed methods of listed types ---------------------------------------------

def _join(separator: str) -> Callable[[Iterable[Any]], str]:
    def join(items: Iterable[Any]) -> str:
        items = list(items)
        _charge(len(items))
        _charge(sum(len(i) for i in items if isinstance(i, str)) + len(separator) * len(items))
        return separator.join(items)
    return join


def _replace(text: str) -> Callable[..., str]:
    def replace(old: str, new: str, count: int = -1) -> str:
        if isinstance(old, str) and isinstance(new, str):
            hits = text.count(old) if old else len(text) + 1
            if count >= 0:
                hits = min(hits, count)
            _charge(len(text) + hits * max(len(new) - len(old), 0))
        return text.replace(old, new, count)
    return replace


def _extend(items: list) -> Callable[[Iterable[Any]], None]:
    def extend(more: Iterable[Any]) -> None:
        more = list(more)
        _charge(len(items) + len(more))
        items.extend(more)
    return extend


_WRAPPED: dict[tuple[type, str], Callable[[Any], Callable[..., Any]]] = {
    (str, "join"): _join, (str, "replace"): _replace, (list, "extend"): _extend,
}

ALLOWED_ATTRIBUTES: dict[type, frozenset[str]] = {
    str: frozenset({
        "lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "rsplit",
        "splitlines", "replace", "join", "isdigit", "isdecimal", "isalpha", "isalnum", "isspace", "title",
        "capitalize", "casefold", "count", "find", "rfind", "index", "partition", "removeprefix",
        "removesuffix",
    }),
    list: frozenset({"append", "extend", "index", "count", "pop", "remove", "insert", "sort", "reverse"}),
    tuple: frozenset({"index", "count"}),
    dict: frozenset({"get", "keys", "values", "items", "pop", "setdefault", "update"}),
    set: frozenset({"add", "discard", "union", "intersection", "difference", "issubset", "issuperset"}),
    date: frozenset({"year", "month", "day", "weekday", "isoweekday", "isoformat"}),
    datetime: frozenset({"year", "month", "day", "hour", "minute", "second", "weekday", "isoweekday",
                         "isoformat", "date"}),
    timedelta: frozenset({"days", "seconds", "total_seconds"}),
    float: frozenset({"is_integer"}),
}
ALLOWED_ATTRIBUTE_NAMES = frozenset().union(*ALLOWED_ATTRIBUTES.values())
#: Allowed attributes that are values, not methods (``day.year``); every other one may only be called.
DATA_ATTRIBUTES = frozenset({"year", "month", "day", "hour", "minute", "second", "days", "seconds"})


def guard_attr(value: Any, name: str) -> Any:
    allowed = ALLOWED_ATTRIBUTES.get(type(value))
    if allowed is None or name not in allowed:
        raise UnsafeExpression(f"Атрибут «{name}» недоступний для значення типу {type(value).__name__}")
    wrapper = _WRAPPED.get((type(value), name))
    if wrapper is not None:
        return wrapper(value)
    if type(value) is str or (type(value) is set and name in _SET_BUILDERS):
        _charge(len(value))  # a new text (or set) about the size of this one
    return getattr(value, name)


_SET_BUILDERS = frozenset({"union", "intersection", "difference"})


GUARDS: dict[str, Callable[..., Any]] = {
    "pow": guard_pow, "mul": guard_mul, "lshift": guard_lshift, "add": guard_add, "mod": guard_mod,
    "sized": guard_sized, "iterate": guard_iterate, "formatted": guard_formatted, "call": guard_call,
    "compared": guard_compared, "sub": guard_sub,
    "attr": guard_attr,
}
#: The names the rewritten code calls the guards by (a leading ``_``: no diagram can name them).
GUARD_NAMES = {name: f"_sandbox_{name}" for name in GUARDS}
GUARD_SCOPE = {GUARD_NAMES[name]: guard for name, guard in GUARDS.items()}
