"""Reliability: races, a server killed mid-load, a worker killed mid-pass, fuzzing, hostile diagrams.

The shared fixtures (database, settings, deployed diagrams) come from ``tests/conftest.py``;
here: one user per role with the token ``token-<role>`` (no web password), the app on the
test database and callers by role (``tests/api/conftest.py``'s ``Http``). Tests that need
several processes or row locks on one database run on PostgreSQL only
(``MARSHRUT_TEST_BACKEND=postgresql``, as ``scripts/test`` does the second time).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
import requests
from flask import Flask

from marshrut.api.app import create_app
from marshrut.engine import cases, queries
from marshrut.engine.access import Actor
from marshrut.engine.clock import FixedClock
from marshrut.engine.config import Settings
from marshrut.engine.context import Context
from marshrut.engine.store import Database
from tests.api.conftest import Http
from tests.conftest import BACKEND, ROOT
from tests.walks import APPLICATION

requires_postgres = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="needs PostgreSQL (MARSHRUT_TEST_BACKEND=postgresql): several processes or row-locking "
           "transactions on one database, which SQLite serialises through its single writer",
)


@pytest.fixture
def app(settings: Settings, db: Database) -> Iterator[Flask]:
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["marshrut"]["db"].dispose()


@pytest.fixture
def http(app: Flask, actors: dict[str, Actor]) -> Http:
    """Callers by role through the app (``http.as_("analyst").post(...)``)."""
    return Http(app.test_client())


def register_cases(db: Database, settings: Settings, registrar: Actor, count: int, moment: datetime) -> list[tuple[int, int]]:
    """``count`` address-aid cases registered at ``moment`` in one transaction; (case id, first task id) each."""
    ctx = Context(replace(settings, controlled_clock=True), FixedClock(moment))
    registered = []
    with db.unit_of_work() as uow:
        for _ in range(count):
            instance = cases.start_case(uow, registrar, ctx, "address_aid", APPLICATION)
            registered.append(instance)
        uow.commit()
        return [(i.id, queries.open_tasks(uow, i.id)[0].id) for i in registered]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def marshrut(args: list[str], settings: Settings, log: Path, env_extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``marshrut ARGS`` as a child in a process group of its own, on the test database, controlled clock on
    (``env_extra``: more ``MARSHRUT_*`` settings)."""
    env = {**os.environ, "MARSHRUT_DATABASE_URL": settings.database_url, "MARSHRUT_CONTROLLED_CLOCK": "1", **(env_extra or {})}
    with open(log, "ab") as output:
        return subprocess.Popen([sys.executable, "-m", "marshrut.api.cli", *args], cwd=ROOT, env=env, stdout=output, stderr=output,
                                start_new_session=True)


def kill_group(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Signal the process and every child of its group (a gunicorn master and its workers)."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@contextmanager
def server(settings: Settings, log: Path, workers: int = 2) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``marshrut serve --no-worker`` on a free port; yields the process and the API's base URL."""
    port = free_port()
    process = marshrut(["serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                       settings, log)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited: {log.read_text(errors='replace')[-3000:]}")
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not start: {log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield process, base
    finally:
        if process.poll() is None:
            kill_group(process, signal.SIGTERM)
