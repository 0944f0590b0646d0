"""What every part of the benchmark shares: percentiles, databases to run on, the server.

The databases are throw-away: a SQLite file in a temporary folder, or a PostgreSQL schema
of its own (``MARSHRUT_BENCH_POSTGRES_URL``, default the test database) dropped afterwards.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from json import dumps as json_text, loads as json_loads
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3
from sqlalchemy import create_engine, text

from marshrut.engine import definitions, migrate, users
from marshrut.engine.business_calendar import KYIV
from marshrut.engine.config import PROJECT_ROOT, Settings
from marshrut.engine.context import set_controlled_clock
from marshrut.engine.roles import ROLES
from marshrut.engine.store import Database

POSTGRES_URL = os.environ.get(
    "MARSHRUT_BENCH_POSTGRES_URL",
    os.environ.get("MARSHRUT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
API = "/api/v1"


def kyiv(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=KYIV)


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def latency_stats(seconds: list[float]) -> dict[str, Any]:
    """Count and p50/p95/p99/max in milliseconds of a list of durations in seconds."""
    ms = [s * 1000 for s in seconds]
    pick = lambda share: round(percentile(ms, share), 2) if ms else None  # noqa: E731
    return {"count": len(ms), "p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
            "max_ms": round(max(ms), 2) if ms else None}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def postgres_available() -> bool:
    try:
        engine = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - the report says PostgreSQL was not reachable
        return False


@contextmanager
def scratch_database(backend: str) -> Iterator[str]:
    """A fresh, empty database URL on ``backend`` ("sqlite" or "postgresql"), removed afterwards."""
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="marshrut-bench-"))
        try:
            yield f"sqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def token(role: str) -> str:
    return f"bench-token-{role}"


def prepare(url: str, now: datetime) -> tuple[Database, Settings]:
    """Migrate, deploy the shipped diagrams, create one user per role, set the controlled clock."""
    settings = Settings(database_url=url, controlled_clock=True)
    migrate.upgrade(url)
    db = Database(url)
    paths = sorted(settings.bpmn_dir.glob("*.bpmn"))
    for bundle in definitions.bundles_from_paths(paths, settings.bpmn_dir, settings.forms_dir):
        with db.unit_of_work() as uow:
            definitions.deploy(uow, bundle, "bench", now)
            uow.commit()
    with db.unit_of_work() as uow:
        for role in ROLES:
            users.create_user(uow, role, [role], now, name=role, token=token(role))
        set_controlled_clock(uow, now)
        uow.commit()
    return db, settings


def set_clock(db: Database, moment: datetime) -> None:
    with db.unit_of_work() as uow:
        set_controlled_clock(uow, moment)
        uow.commit()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """``marshrut serve --no-worker`` (gunicorn) as a child process in its own process group."""

    process: subprocess.Popen[bytes]
    base: str
    log_path: Path

    def url(self, path: str) -> str:
        return self.base + API + path


@contextmanager
def serve(url: str, workers: int, log_dir: Path) -> Iterator[Server]:
    """Start the real server on ``url``'s database; stop it (SIGTERM, then SIGKILL) afterwards."""
    port = free_port()
    # Plain HTTP on 127.0.0.1: the page session's cookie must not be HTTPS-only for the dashboard's login.
    env = {**os.environ, "MARSHRUT_DATABASE_URL": url, "MARSHRUT_CONTROLLED_CLOCK": "1", "MARSHRUT_SECURE_COOKIES": "0"}
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"server-{port}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "marshrut.api.cli", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file, start_new_session=True,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_healthy(server)
        yield server
    finally:
        stop(process)


def wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited: {server.log_path.read_text(errors='replace')[-2000:]}")
        try:
            if requests.get(server.url("/health"), timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not become healthy")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


class HttpSession:
    """One keep-alive connection to the server, over urllib3 without requests' layers on top.

    The client threads run on the same two cores as the server, so every millisecond the
    client spends per call is taken from the service being measured.
    """

    def __init__(self, server: Server) -> None:
        port = int(server.base.rsplit(":", 1)[1])
        self.pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, block=True, retries=False, timeout=300)


class Caller:
    """Requests as one role through a keep-alive connection; each call returns (status, json, seconds)."""

    def __init__(self, server: Server, role: str, session: HttpSession | None = None) -> None:
        self.server = server
        # One connection per client thread, shared by its roles: a connection idle past gunicorn's
        # keep-alive (2 s) is closed by the server, and a request sent on it just then is lost.
        self.session = session or HttpSession(server)
        self.headers = {"Authorization": f"Bearer {token(role)}"}

    def raw(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> tuple[int, bytes, str, float]:
        """Status, body, content type and seconds of one call."""
        url = API + path + (f"?{urlencode(params)}" if params else "")
        headers, body = self.headers, None
        if json is not None:
            headers, body = {**self.headers, "Content-Type": "application/json"}, json_text(json)
        started = time.perf_counter()
        response = self.session.pool.urlopen(method, url, body=body, headers=headers, retries=False)
        elapsed = time.perf_counter() - started
        return response.status, response.data, response.headers.get("Content-Type", ""), elapsed

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any, float]:
        status, data, content_type, elapsed = self.raw(method, path, **kwargs)
        body = json_loads(data) if data and "json" in content_type else None
        return status, body, elapsed

    def ok(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> tuple[Any, float]:
        status, body, elapsed = self.call(method, path, **kwargs)
        if status != expect:
            raise RuntimeError(f"{method} {path}: expected {expect}, got {status}: {str(body)[:500]}")
        return body, elapsed
