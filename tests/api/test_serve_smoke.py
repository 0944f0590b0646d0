"""``marshrut serve`` for real: gunicorn with two workers on a free port, walked over HTTP with ``requests``."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from marshrut.engine.config import PROJECT_ROOT
from tests.walks import ADDRESS_AID_STEPS, APPLICATION

MARSHRUT = str(Path(sys.executable).parent / "marshrut")
ROLES = ("admin", "programs_dept", "appeals_office", "case_manager")
START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log_tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-3000:] if log.exists() else ""


class Server:
    """The running server's base URL and a ``requests`` call per role that checks the status code."""

    def __init__(self, base: str, log: Path) -> None:
        self.base, self.log = base, log
        self.http = requests.Session()

    def call(self, role: str | None, method: str, path: str, expect: int, headers: dict[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
        sent = {**({"Authorization": f"Bearer token-{role}"} if role else {}), **(headers or {})}
        response = self.http.request(method, f"{self.base}/api/v1{path}", headers=sent, timeout=30, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:1000]}"
        return response


@pytest.fixture
def server(db, settings, tmp_path: Path) -> Iterator[Server]:
    """Users created with ``marshrut users create``, then ``marshrut serve --workers 2`` until the test ends."""
    env = {**os.environ, "MARSHRUT_DATABASE_URL": settings.database_url, "MARSHRUT_CONTROLLED_CLOCK": "1"}
    creating = {role: subprocess.Popen([MARSHRUT, "users", "create", role, "--role", role, "--token", f"token-{role}"],
                                       env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for role in ROLES}  # side by side: each command spends its time importing
    for role, command in creating.items():
        out, err = command.communicate(timeout=60)
        assert command.returncode == 0, err
        assert out.strip() == f"token-{role}"

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen([MARSHRUT, "serve", "--port", str(port), "--workers", "2"], env=env,
                                   cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, f"the server exited with {process.returncode}:\n{log_tail(log)}"
            try:
                if requests.get(f"{base}/api/v1/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or a worker still loading the app
                pass
            assert time.monotonic() < deadline, f"no /health within {START_SECONDS} s:\n{log_tail(log)}"
            time.sleep(0.2)  # polling the port: nothing to wait on but the socket
        running = Server(base, log)
        yield running
        running.http.close()  # no idle keep-alive connection for the graceful shutdown to wait on
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group this test started (gunicorn, its workers, the timer worker)
            process.wait(timeout=10)


def test_the_real_server_answers_health_auth_and_walks_the_first_steps_of_an_address_aid_case(server):
    assert server.call(None, "GET", "/health", 200).json() == {"status": "ok", "database": "ok"}
    refused = server.call(None, "GET", "/tasks", 401)
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["status"] == 401
    assert server.call("programs_dept", "GET", "/me", 200).json()["roles"] == ["programs_dept"]
    assert {d["key"] for d in server.call("programs_dept", "GET", "/process-definitions", 200).json()} == {
        "address_aid", "social_services_roadmap", "needs_assessment_plan"}  # serve deployed the shipped diagrams

    clock = server.call("admin", "PUT", "/admin/clock", 200, json={"now": "2026-02-02T10:00:00+02:00"}).json()
    assert clock["now"] == "2026-02-02T10:00:00+02:00"
    case = server.call("programs_dept", "POST", "/process-instances", 201,
                       json={"process_key": "address_aid", "data": APPLICATION}).json()
    assert case["number"] == "АД-2026-000001"
    assert (case["target_date"], case["legal_date"]) == ("2026-02-23", "2026-03-04")

    for element_id in ("accept_documents", "form_personal_file"):
        [task] = server.call("programs_dept", "GET", "/tasks", 200, params={"instance_id": case["id"]}).json()["items"]
        assert task["element_id"] == element_id
        assert server.call("programs_dept", "GET", f"/tasks/{task['id']}", 200).json()["form"]["type"] == "object"
        assert server.call("programs_dept", "POST", f"/tasks/{task['id']}/claim", 200).json()["assignee"] == "programs_dept"
        done = server.call("programs_dept", "POST", f"/tasks/{task['id']}/complete", 200,
                           json={"data": ADDRESS_AID_STEPS[element_id]}).json()
        assert done["task"]["state"] == "completed"
        server.call("programs_dept", "POST", f"/tasks/{task['id']}/complete", 409, json={"data": ADDRESS_AID_STEPS[element_id]})

    [register] = server.call("appeals_office", "GET", "/tasks", 200).json()["items"]
    assert (register["element_id"], register["instance_id"]) == ("register_application", case["id"])
    server.call("case_manager", "GET", f"/process-instances/{case['id']}", 403)
    server.call("admin", "GET", f"/process-instances/{case['id']}/history", 403)  # admins read no case
    history = server.call("programs_dept", "GET", f"/process-instances/{case['id']}/history", 200).json()["items"]
    assert [e["event"] for e in history if e["event"] == "task_completed"] == ["task_completed", "task_completed"]
    malformed = server.call("programs_dept", "POST", f"/tasks/{task['id']}/complete", 400, data="{",
                            headers={"Content-Type": "application/json"})
    assert malformed.headers["Content-Type"].startswith("application/problem+json")

    # SPEC §8: personal data is seen by the case's roles and managers, not by whoever reads the
    # server's log (SpiffWorkflow logs every step's data at INFO, the level the service runs at).
    written = server.log.read_text(encoding="utf-8", errors="replace")
    assert "register_application" in written or "task_completed" in written  # the walk was logged
    for personal in (APPLICATION["surname"], APPLICATION["iban"], APPLICATION["phone"]):
        assert personal not in written, personal


def json_lines(log: Path) -> list[dict[str, Any]]:
    """The server's log as JSON objects (every line it writes is one)."""
    import json

    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = []
    for line in lines:
        if line.startswith("{"):
            parsed.append(json.loads(line))
    return parsed


def test_a_request_can_be_followed_from_its_access_line_to_its_log_lines_and_is_counted(server):
    server.call("admin", "PUT", "/admin/clock", 200, json={"now": "2026-02-02T10:00:00+02:00"})
    started = server.call("programs_dept", "POST", "/process-instances", 201, headers={"X-Request-ID": "trace-7f3a"},
                          json={"process_key": "address_aid", "data": APPLICATION})
    assert started.headers["X-Request-ID"] == "trace-7f3a"
    generated = server.call(None, "GET", "/health", 200).headers["X-Request-ID"]
    assert len(generated) >= 16 and generated != "trace-7f3a"
    assert server.call(None, "GET", "/health", 200, headers={"X-Request-ID": "bad id\twith spaces"}).headers[
        "X-Request-ID"] != "bad id\twith spaces"

    assert server.call(None, "GET", "/ready", 200).json()["status"] == "ready"
    metrics = requests.get(f"{server.base}/metrics", timeout=10).text
    assert 'marshrut_http_requests_total{endpoint="instances.new",method="POST",status="201"} 1.0' in metrics
    assert 'marshrut_open_tasks{status="on_track"} 1.0' in metrics
    assert "marshrut_timers_due" in metrics and "marshrut_email_outbox" in metrics

    deadline = time.monotonic() + 10
    while True:
        traced = [line for line in json_lines(server.log) if line.get("request_id") == "trace-7f3a"]
        if any(line["logger"] == "gunicorn.access" for line in traced) or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # the access line is written after the answer
    access = [line for line in traced if line["logger"] == "gunicorn.access"]
    assert len(access) == 1 and access[0]["status"] == 201 and access[0]["path"] == "/api/v1/process-instances"
    events = [line for line in traced if line["logger"] == "marshrut.audit"]
    assert events and all(line["user"] == "programs_dept" and line["case"] == started.json()["id"] for line in events)
    assert {"time", "level", "message"} <= set(access[0])
