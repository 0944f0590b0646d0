"""The wheel is the product: built from the checkout, installed into a clean venv, it serves.

Everything the service needs at run time travels inside the ``marshrut`` package (diagrams,
forms, reference data, migrations, templates, the built pages' assets): nothing is read from
the checkout. Runs once, on the SQLite pass of the suite (it builds and installs, ~1–2 min).
"""

import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest
import requests

from marshrut.engine.config import PROJECT_ROOT
from tests.api.test_serve_smoke import free_port
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="the wheel is built and tried once, on the SQLite pass")


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_wheel_installs_into_a_clean_venv_and_serves_migrates_deploys_and_shows_pages(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MARSHRUT_", "VIRTUAL_ENV", "PYTHON"))}
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path / "dist"),
         str(PROJECT_ROOT)], PROJECT_ROOT, env)
    [wheel] = (tmp_path / "dist").glob("marshrut-*.whl")
    venv.create(tmp_path / "venv", with_pip=True)
    bin_ = tmp_path / "venv" / "bin"
    run([str(bin_ / "python"), "-m", "pip", "install", "--quiet", str(wheel)], tmp_path, env)

    elsewhere = tmp_path / "elsewhere"  # no checkout around: only what the wheel carries
    elsewhere.mkdir()
    env = {**env, "MARSHRUT_DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}", "MARSHRUT_SECRET_KEY": "wheel-test-key"}
    marshrut = str(bin_ / "marshrut")
    run([marshrut, "db", "upgrade"], elsewhere, env)
    run([marshrut, "db", "check"], elsewhere, env)
    assert run([marshrut, "users", "create", "ana", "--role", "analyst", "--token", "token-ana"], elsewhere, env).strip() == "token-ana"
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen([marshrut, "serve", "--port", str(port), "--workers", "1", "--no-worker"], cwd=elsewhere,
                                  env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if requests.get(f"{base}/api/v1/ready", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.3)
        keys = {d["key"] for d in requests.get(f"{base}/api/v1/process-definitions", timeout=10,
                                                headers={"Authorization": "Bearer token-ana"}).json()}
        assert keys == {"address_aid", "social_services_roadmap", "needs_assessment_plan"}  # the shipped diagrams deployed
        login = requests.get(f"{base}/login", timeout=10)
        assert login.status_code == 200 and "Маршрут" in login.text
        css = requests.get(f"{base}/ui/static/marshrut.css", timeout=10)
        assert css.status_code == 200
        chart = requests.get(f"{base}/vendor/chart.js/dist/chart.umd.js", timeout=10)
        assert chart.status_code == 200 and len(chart.content) > 10_000
    finally:
        server.terminate()
        server.wait(timeout=20)
    site = next((tmp_path / "venv" / "lib").glob("python3*/site-packages"))
    assert {p.name for p in site.iterdir()} >= {"marshrut"}
    assert not {"engine", "api", "ui"} & {p.name for p in site.iterdir()}, "no generic top-level packages"
