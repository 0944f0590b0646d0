"""The edges of what the service accepts from a person (SPEC §8), in one place.

Values past these edges are refused as bad input before they reach a parser, SpiffWorkflow or
the database, where each would otherwise fail late and loudly: a lone surrogate cannot be
encoded to UTF-8, PostgreSQL stores no NUL in text, an integer beyond 64 bits fits no column
and no JSON library's fast path, ``NaN`` and ``Infinity`` are not JSON and were silently stored
as ``null``, and a date in year 1 or 9999 overflows the calendar's arithmetic.
"""

import math
from datetime import datetime
from typing import Any

from marshrut.engine.business_calendar import KYIV
from marshrut.engine.errors import FieldError, InvalidInput

#: Moments the service reasons about: receipts, the controlled clock, ``?at=``.
EARLIEST = datetime(2000, 1, 1, tzinfo=KYIV)
LATEST = datetime(2100, 12, 31, 23, 59, 59, tzinfo=KYIV)
INT64 = (-(2**63), 2**63 - 1)
#: How deep a JSON document a person may send (the forms nest two or three levels).
MAX_DEPTH = 32
TOO_DEEP = f"Дані вкладені глибше ніж {MAX_DEPTH} рівнів"


def moment_problem(value: datetime) -> str | None:
    """Why ``value`` is outside the service's years, or None."""
    if value.tzinfo is None:
        return "Потрібен час із часовим поясом (ISO 8601, напр. 2026-02-02T10:00:00+02:00)"
    if not EARLIEST <= value <= LATEST:
        return "Дата має бути між 01.01.2000 і 31.12.2100"
    return None


def check_moment(value: datetime, path: str) -> datetime:
    """``value`` when it is within the service's years.

    :raise InvalidInput: naming ``path`` otherwise.
    """
    problem = moment_problem(value)
    if problem:
        raise InvalidInput(problem, [FieldError(path, problem)])
    return value


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as sent, or None."""
    if "\x00" in text:
        return "Текст містить символ NUL (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Текст містить непарний сурогатний символ Unicode"
    return None


def value_problems(value: Any, root: str = "") -> list[FieldError]:
    """Every place in a JSON-like ``value`` that the service would not store as sent.

    Walks iteratively, so a deep document cannot exhaust the stack; a document deeper than
    :data:`MAX_DEPTH` is one problem at the place it gets too deep.
    """
    problems: list[FieldError] = []
    pending: list[tuple[Any, str, int]] = [(value, root, 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, (dict, list)) and depth >= MAX_DEPTH:
            problems.append(FieldError(path or "/", TOO_DEEP))
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                key_problem = text_problem(key) if isinstance(key, str) else None
                if key_problem:
                    problems.append(FieldError(f"{path}/{_printable(key)}", key_problem))
                pending.append((child, f"{path}/{_printable(key)}", depth + 1))
        elif isinstance(item, list):
            pending.extend((child, f"{path}/{index}", depth + 1) for index, child in enumerate(item))
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                problems.append(FieldError(path or "/", problem))
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not INT64[0] <= item <= INT64[1]:
                problems.append(FieldError(path or "/", "Число виходить за межі 64-бітного цілого"))
        elif isinstance(item, float) and not math.isfinite(item):
            problems.append(FieldError(path or "/", "Число має бути скінченним (NaN і Infinity не приймаються)"))
    return sorted(problems, key=lambda problem: problem.path)


def check_value(value: Any, root: str = "") -> None:
    """:raise InvalidInput: when :func:`value_problems` finds anything."""
    problems = value_problems(value, root)
    if problems:
        raise InvalidInput("Дані містять значення, які неможливо зберегти так, як їх надіслано", problems)


def _printable(key: str) -> str:
    """A JSON-pointer token for ``key`` that survives being shown (surrogates escaped)."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8").replace("~", "~0").replace("/", "~1")
