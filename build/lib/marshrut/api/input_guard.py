"""Refuse requests at the edge of what a parser or the database takes, before any view runs.

A JSON body is read once here, strictly (no ``NaN``/``Infinity``, bounded depth), and every
value in it is checked by :mod:`engine.input_limits`; a NUL in the path or the query string is
refused too (PostgreSQL cannot compare text with it). Views then parse the body as before.
"""

import json
from typing import Any

from flask import Flask, Response, request

from marshrut.api.errors import problem
from marshrut.engine.input_limits import TOO_DEEP, text_problem, value_problems


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} не є числом JSON")


def _strict_json(raw: bytes) -> Any:
    """Parse ``raw`` as JSON (RFC 8259): no ``NaN``/``Infinity``.

    The C decoder refuses nesting deeper than the interpreter's recursion limit with a
    RecursionError, cheaply; shallower documents are bounded by :func:`value_problems`.
    """
    return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)


def _guard() -> Response | None:
    if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                     for key, values in request.args.lists() for value in [key, *values]):
        return problem(400, "Неправильний запит", "Адреса запиту містить символ NUL (%00)", "nul_character")
    for key, values in request.args.lists():
        for value in values:
            reason = text_problem(value)
            if reason:
                return problem(422, "Неправильні дані", reason, "validation", [{"path": f"query.{key}", "message": reason}])
    if request.method in ("POST", "PUT", "PATCH") and request.is_json:
        try:
            body = _strict_json(request.get_data(cache=True))
        except (ValueError, RecursionError) as error:
            detail = str(error) if isinstance(error, _NotJson) else "Тіло запиту не є коректним JSON"
            return problem(400, "Неправильний запит", detail, "malformed_json")
        problems = value_problems(body)
        if any(p.message == TOO_DEEP for p in problems):
            return problem(400, "Неправильний запит", TOO_DEEP, "too_deep")
        if problems:
            return problem(422, "Неправильні дані", "Дані містять значення, які неможливо зберегти так, як їх надіслано",
                           "validation", [{"path": p.path, "message": p.message} for p in problems])
    return None


def register(app: Flask) -> None:
    """Check every request to the API (``/api/…``) before its view."""

    @app.before_request
    def guard_api_input() -> Response | None:
        if request.path.startswith("/api/"):
            return _guard()
        if "\x00" in request.path or any("\x00" in value for values in request.args.listvalues() for value in values):
            return problem(400, "Неправильний запит", "Адреса запиту містить символ NUL (%00)", "nul_character")
        return None
