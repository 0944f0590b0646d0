"""The OpenAPI document made true to what the service answers.

flask-smorest documents each operation's success answer from its schema; what it cannot
know is read here from the routes themselves, once, when the document is served:

- every error is ``application/problem+json`` (RFC 9457, :data:`PROBLEM`), documented for each
  status the operation can answer: 401/403 where a token is needed, 404 where the path names
  something, 400/422 where a body or a query is read, 409 where a step or a case may have
  moved on, 413/415 for uploads;
- every operation has a stable ``operationId`` (a generated client's method names);
- deploy and validate take BPMN XML or a multipart upload, documented as request bodies;
- operations open to anyone say ``security: []``.
"""

import re
from typing import Any

from flask import Flask

PROBLEM: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "URI of the problem kind"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array", "description": "what is wrong, field by field (422)",
            "items": {"type": "object", "required": ["path", "message"],
                      "properties": {"path": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
}

TITLES = {
    400: "Неправильний запит (не JSON, NUL, надто глибоке вкладення)", 401: "Потрібен токен (Authorization: Bearer)",
    403: "Роль не дозволяє цю дію", 404: "Не знайдено", 405: "Метод не дозволено", 409: "Конфлікт: стан змінився",
    413: "Завеликий запит", 415: "Непідтримуваний тип вмісту", 422: "Дані не пройшли перевірку",
    429: "Забагато запитів", 500: "Внутрішня помилка",
}

#: Endpoints (blueprint.view) that need no token.
PUBLIC = frozenset({"health.get", "health.ready", "metrics.get", "reference.contacts"})

#: Names a client author would choose; any endpoint not listed gets ``<view><Blueprint>``.
OPERATION_IDS = {
    "health.get": "getHealth", "health.ready": "getReadiness", "me.get": "getMe",
    "definitions.index": "listProcessDefinitions", "definitions.get": "getProcessDefinition",
    "definitions.xml": "getProcessDefinitionXml", "definitions.deploy": "deployProcessDefinition",
    "definitions.validate": "validateProcessDefinition",
    "instances.new": "startProcessInstance", "instances.index": "listProcessInstances",
    "instances.get": "getProcessInstance", "instances.history": "getProcessInstanceHistory",
    "instances.cancel": "cancelProcessInstance",
    "tasks.index": "listTasks", "tasks.get": "getTask", "tasks.claim": "claimTask", "tasks.unclaim": "unclaimTask",
    "tasks.complete": "completeTask",
    "sla.overdue": "getOverdue", "sla.summary": "getSlaSummary", "sla.steps": "getStepDurations",
    "notifications.index": "listNotifications", "notifications.read": "markNotificationRead",
    "reference.services": "listServices", "reference.service": "getService", "reference.providers": "listProviders",
    "reference.circumstances": "listCircumstances", "reference.contacts": "getContacts",
    "admin.set_clock": "setClock", "admin.get_clock": "getClock", "admin.tick": "tick",
}

#: Operations that take a diagram: BPMN XML as the body, or a multipart upload.
DIAGRAM_BODY = {
    "required": True,
    "content": {
        "application/xml": {"schema": {"type": "string", "description": "BPMN 2.0 XML (UTF-8)"}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "one .bpmn file"},
                "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                          "description": "its .dmn files and forms (<task_id>.json, start.json)"},
            },
        }},
    },
}
DIAGRAM_ENDPOINTS = frozenset({"definitions.deploy", "definitions.validate"})


def _openapi_path(rule: str) -> str:
    """``/api/v1/tasks/<int:task_id>`` → ``/api/v1/tasks/{task_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _operation_id(endpoint: str) -> str:
    if endpoint in OPERATION_IDS:
        return OPERATION_IDS[endpoint]
    blueprint, _, view = endpoint.partition(".")
    words = re.split(r"[_\W]+", view) + re.split(r"[_\W]+", blueprint)
    return words[0].lower() + "".join(w.capitalize() for w in words[1:] if w)


def endpoints_by_operation(app: Flask) -> dict[tuple[str, str], str]:
    """``(path, method)`` → endpoint, for the API's routes."""
    found = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                found[(_openapi_path(rule.rule), method.lower())] = rule.endpoint
    return found


def _error_statuses(path: str, method: str, operation: dict[str, Any], endpoint: str) -> list[int]:
    statuses = []
    public = endpoint in PUBLIC
    body = operation.get("requestBody")
    queries = [p for p in operation.get("parameters", []) if isinstance(p, dict) and p.get("in") == "query"]
    if body:
        statuses.append(400)
    if not public:
        statuses += [401, 403]
    if "{" in path:
        statuses.append(404)
    if method in ("post", "put", "delete") and not public:
        statuses.append(409)
    if body and "multipart/form-data" in body.get("content", {}):
        statuses += [413, 415]
    if body or queries or "{" in path or method in ("post", "put"):
        statuses.append(422)
    return sorted(set(statuses))


def finalize(spec: dict[str, Any], app: Flask) -> dict[str, Any]:
    """Rewrite flask-smorest's document (a fresh dict each call) to match the answers."""
    components = spec.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    responses = components.setdefault("responses", {})
    for status, title in TITLES.items():
        responses[f"Problem{status}"] = {"description": title, "content": content}
    responses["DEFAULT_ERROR"] = {"description": "Помилка (RFC 9457)", "content": content}
    responses.pop("UNPROCESSABLE_ENTITY", None)
    components.get("schemas", {}).pop("Error", None)
    endpoints = endpoints_by_operation(app)
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            endpoint = endpoints.get((path, method), "")
            operation["operationId"] = _operation_id(endpoint) if endpoint else f"{method}{path}"
            if endpoint in DIAGRAM_ENDPOINTS:
                operation["requestBody"] = DIAGRAM_BODY
            if endpoint in PUBLIC:
                operation["security"] = []
            answers = operation.setdefault("responses", {})
            if endpoint in ("health.get", "health.ready") and "503" not in answers:
                answers["503"] = {"description": "База даних недоступна", "content": answers.get("200", {}).get("content", {})}
            for status in _error_statuses(path, method, operation, endpoint):
                answers[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
            for status, answer in answers.items():  # flask-smorest's own 422 names a response removed above
                if answer == {"$ref": "#/components/responses/UNPROCESSABLE_ENTITY"}:
                    answers[status] = {"$ref": "#/components/responses/Problem422"}
            answers["default"] = {"$ref": "#/components/responses/DEFAULT_ERROR"}
    return spec
