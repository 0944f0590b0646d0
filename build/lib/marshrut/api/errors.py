"""Every error as application/problem+json (RFC 9457), engine failures included."""

import logging

from flask import Flask, Response, g, json
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, InternalServerError

from marshrut.engine.errors import Conflict, EngineError, Forbidden, InvalidInput, NotFound, TooLarge, Unauthenticated, UnsupportedContent
from marshrut.ui import errors as ui_errors

log = logging.getLogger(__name__)
STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 422, Unauthenticated: 401, TooLarge: 413,
          UnsupportedContent: 415}


def problem_body(status: int, title: str, detail: str, code: str = "error", errors: list[dict] | None = None) -> dict:
    """The RFC 9457 body ``{type, title, status, detail[, errors]}`` (also inside batch answers)."""
    body: dict = {"type": f"https://marshrut.zt-rada.gov.ua/problems/{code}", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return body


def problem(status: int, title: str, detail: str, code: str = "error", errors: list[dict] | None = None) -> Response:
    """Build a problem+json response."""
    body = problem_body(status, title, detail, code, errors)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="marshrut"'
    return response


def engine_problem(error: EngineError) -> dict:
    """An engine failure as a problem body (its status in ``status``)."""
    status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
    errors = None
    if isinstance(error, InvalidInput):
        errors = [{"path": e.path, "message": e.message} for e in error.errors]
    return problem_body(status, _TITLES.get(status, "Помилка"), error.message, error.code, errors)


def internal_problem() -> dict:
    return problem_body(500, "Внутрішня помилка", "Сталася непередбачена помилка; її записано в журнал", "internal")


def _engine_error(error: EngineError) -> Response:
    body = engine_problem(error)
    return problem(body["status"], body["title"], body["detail"], error.code, body.get("errors"))


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if ui_errors.wants_page():  # the web pages: a Ukrainian page, not JSON
        return ui_errors.page(status)  # type: ignore[return-value]
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if messages and status == 400:  # webargs: the body is not JSON at all ({"json": ["Invalid JSON body."]})
        return problem(400, _TITLES[400], "Тіло запиту не є коректним JSON", "malformed_json")
    if messages:  # webargs/marshmallow validation of query or body
        errors = [{"path": f"{location}.{field}" if location != "json" else f"/{field}", "message": "; ".join(_flat(msg))}
                  for location, fields in messages.items() for field, msg in fields.items()]
        return problem(422, "Неправильні дані", "Запит не пройшов перевірку", "validation", errors)
    response = problem(status, _TITLES.get(status, error.name), error.description or error.name,
                       error.name.lower().replace(" ", "_"))
    for name, value in error.get_headers():  # Allow (405), Retry-After (429), …
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _flat(message: object) -> list[str]:
    if isinstance(message, str):
        return [message]
    if isinstance(message, dict):
        return [f"{k}: {m}" for k, v in message.items() for m in _flat(v)]
    if isinstance(message, list):
        return [m for item in message for m in _flat(item)]
    return [str(message)]


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unexpected error", exc_info=error)
    if ui_errors.wants_page():
        return ui_errors.page(500)  # type: ignore[return-value]
    request_id = g.get("request_id", "")
    return problem(500, "Внутрішня помилка",
                   f"Сталася непередбачена помилка; її записано в журнал (номер запиту {request_id})", "internal")


_TITLES = {
    400: "Неправильний запит", 401: "Потрібна автентифікація", 403: "Доступ заборонено", 404: "Не знайдено",
    405: "Метод не дозволено", 409: "Конфлікт", 413: "Завеликий запит", 415: "Непідтримуваний тип", 422: "Неправильні дані",
    500: "Внутрішня помилка",
}


def register(app: Flask, api: Api) -> None:
    """Install the handlers on the app (and replace flask-smorest's own)."""
    app.register_error_handler(EngineError, _engine_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _http_error)
    app.register_error_handler(Exception, _unexpected)
    api.handle_http_exception = _http_error  # type: ignore[method-assign]
