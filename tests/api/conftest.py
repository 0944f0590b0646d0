"""HTTP-level fixtures: the Flask app on the test database, a client, and callers by role.

Every request goes through the real app (routing, auth, schemas, error handlers); the
helpers assert the status code of each answer so a test reads as the conversation it is.
"""

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from marshrut.api.app import create_app
from marshrut.engine import definitions
from marshrut.engine.config import Settings
from marshrut.engine.store import Database
from tests.conftest import kyiv

API = "/api/v1"


_COMPILED_SHIPPED: dict[str, definitions.Compiled] = {}


@pytest.fixture
def deployed(db: Database, settings: Settings) -> Database:
    """Every shipped diagram deployed (as the shared fixture), compiling each bundle once per session."""
    original = definitions.compile_bundle

    def compile_once(bundle: definitions.Bundle) -> definitions.Compiled:
        checksum = bundle.checksum()
        if checksum not in _COMPILED_SHIPPED:
            _COMPILED_SHIPPED[checksum] = original(bundle)
        return _COMPILED_SHIPPED[checksum]

    paths = sorted(settings.bpmn_dir.glob("*.bpmn"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(definitions, "compile_bundle", compile_once)
        for bundle in definitions.bundles_from_paths(paths, settings.bpmn_dir, settings.forms_dir):
            with db.unit_of_work() as uow:
                definitions.deploy(uow, bundle, "test", kyiv("2026-01-01 09:00"))
                uow.commit()
    return db


@pytest.fixture(scope="session")
def built_apps(migrated: str) -> Iterator[dict[Settings, Flask]]:
    """Apps by their settings; building one (blueprints, OpenAPI) costs more than most tests."""
    apps: dict[Settings, Flask] = {}
    yield apps
    for application in apps.values():
        application.extensions["marshrut"]["db"].dispose()


@pytest.fixture
def app(settings: Settings, db: Database, built_apps: dict[Settings, Flask]) -> Flask:
    """``create_app(settings)`` on the emptied test database, with the controlled clock enabled.

    The app keeps no state of its own between requests (everything is in the database, which
    ``db`` empties before each test), so one app per distinct settings serves the session.
    """
    if settings not in built_apps:
        application = create_app(settings)
        application.config["TESTING"] = True
        built_apps[settings] = application
    return built_apps[settings]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Caller:
    """Requests to ``/api/v1`` as one role (``Authorization: Bearer token-<role>``).

    Each method takes the expected status (``expect``) and fails with the body when the
    answer differs; it returns the response, whose ``.json`` is the parsed body.
    """

    def __init__(self, client: FlaskClient, role: str | None) -> None:
        self.client, self.role = client, role

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        result = {"Authorization": f"Bearer token-{self.role}"} if self.role else {}
        return {**result, **(extra or {})}

    def request(self, method: str, path: str, expect: int, *, json: Any = None, query: dict[str, Any] | None = None,
                data: Any = None, headers: dict[str, str] | None = None, content_type: str | None = None) -> TestResponse:
        kwargs: dict[str, Any] = {"headers": self.headers(headers), "query_string": query}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        if content_type is not None:
            kwargs["content_type"] = content_type
        response = self.client.open(API + path, method=method, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path} as {self.role}: expected {expect}, got {response.status_code}: "
            f"{response.get_data(as_text=True)[:2000]}"
        )
        return response

    def get(self, path: str, expect: int = 200, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, expect, **kwargs)

    def post(self, path: str, expect: int = 200, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, expect, **kwargs)

    def put(self, path: str, expect: int = 200, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, expect, **kwargs)

    # The few conversations every walk repeats.

    def start(self, process_key: str, data: dict[str, Any], received_at: str | None = None, expect: int = 201) -> dict[str, Any]:
        body: dict[str, Any] = {"process_key": process_key, "data": data}
        if received_at is not None:
            body["received_at"] = received_at
        return self.post("/process-instances", expect, json=body).json

    def tasks(self, **query: Any) -> list[dict[str, Any]]:
        return self.get("/tasks", query=query).json["items"]

    def task_in(self, instance_id: int, element_id: str) -> dict[str, Any]:
        """The one ready task ``element_id`` of the case that this caller may act on."""
        found = [t for t in self.tasks(instance_id=instance_id) if t["element_id"] == element_id]
        assert len(found) == 1, f"{self.role} sees {len(found)} ready {element_id} tasks in case {instance_id}"
        return found[0]

    def complete(self, task_id: int, data: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        return self.post(f"/tasks/{task_id}/complete", expect, json={"data": data}).json

    def instance(self, instance_id: int, expect: int = 200) -> dict[str, Any]:
        return self.get(f"/process-instances/{instance_id}", expect).json


class Http:
    """Callers by role plus the admin's controlled clock; ``http.as_("director")``."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.anonymous = Caller(client, None)

    def as_(self, role: str) -> Caller:
        return Caller(self.client, role)

    def set_clock(self, moment: datetime | str) -> str:
        """``PUT /admin/clock`` as admin; returns the clock's "now" as the API reports it."""
        value = moment.isoformat() if isinstance(moment, datetime) else moment
        return self.as_("admin").put("/admin/clock", json={"now": value}).json["now"]

    def tick(self) -> dict[str, Any]:
        """``POST /admin/tick`` as admin: one worker pass now."""
        return self.as_("admin").post("/admin/tick").json


@pytest.fixture
def http(client: FlaskClient, actors: dict) -> Http:
    """Callers for every role (users exist), no diagrams deployed."""
    return Http(client)


@pytest.fixture
def api(http: Http, deployed: Database) -> Http:
    """Callers for every role with the shipped diagrams deployed."""
    return http


class Browser:
    """A page client that submits each form with its CSRF token, as a browser posting the page's form does.

    Everything else is the wrapped test client's; requests to ``/api/`` are left as they are
    (bearer-only, no CSRF).
    """

    TOKEN = re.compile(r'name="csrf[-_]token" (?:content|value)="([^"]+)"')

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def token(self) -> str:
        """The session's CSRF token, read from the login form or any page's ``<meta name="csrf-token">``."""
        page = self.client.get("/login", follow_redirects=True).get_data(as_text=True)
        found = self.TOKEN.search(page)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def post(self, path: str, *args: Any, data: Any = None, **kwargs: Any) -> TestResponse:
        if not path.startswith("/api/") and (data is None or (isinstance(data, dict) and "csrf_token" not in data)):
            data = {**(data or {}), "csrf_token": self.token()}
        return self.client.post(path, *args, data=data, **kwargs)


def sign_in(client: FlaskClient, role: str) -> Browser:
    """Log ``client`` in through the login form as the fixture user of ``role`` (password ``pw-<role>``)."""
    browser = Browser(client)
    response = browser.post("/login", data={"login": role, "password": f"pw-{role}"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    return browser


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    """Check an RFC 9457 answer (``application/problem+json`` with type, title, status, detail); return its body."""
    assert response.status_code == status
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.json
    assert isinstance(body["type"], str) and body["type"].startswith("https://")
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["status"] == status
    if status == 422:
        assert body["errors"], "a 422 lists what is wrong"
        for error in body["errors"]:
            assert set(error) == {"path", "message"} and error["path"] and error["message"]
    return body


def count_rows(db: Database, model: type, **where: Any) -> int:
    """Rows of ``model`` matching ``where`` (column = value), read straight from the database."""
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    with db.unit_of_work() as uow:
        return uow.session.scalar(query) or 0

