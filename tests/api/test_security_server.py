"""The web attacks of issue 11 against ``marshrut serve`` for real: gunicorn with two workers,
no ``MARSHRUT_SECRET_KEY`` (the key kept under ``var/``), driven with ``requests`` as an
attacker would. Two workers matter: a revoked session or a login's failures must be known to
both, whichever answers.
"""

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from marshrut.engine import logins
from marshrut.engine.config import PROJECT_ROOT
from tests.api.test_serve_smoke import MARSHRUT, START_SECONDS, free_port, log_tail

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ROLES = ("manager", "programs_dept")


@pytest.fixture
def base(db, settings, tmp_path: Path) -> Iterator[str]:
    """Users with passwords (``pw-<role>``) made by ``marshrut users create``; ``marshrut serve --workers 2``."""
    env = {key: value for key, value in os.environ.items() if key != "MARSHRUT_SECRET_KEY"}
    env.update({"MARSHRUT_DATABASE_URL": settings.database_url, "MARSHRUT_SECURE_COOKIES": "0"})
    for role in ROLES:
        subprocess.run([MARSHRUT, "users", "create", role, "--role", role, "--token", f"token-{role}", "--password",
                        f"pw-{role}"], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=60)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen([MARSHRUT, "serve", "--port", str(port), "--workers", "2", "--no-worker"], env=env,
                                   cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, f"the server exited with {process.returncode}:\n{log_tail(log)}"
            try:
                if requests.get(f"{url}/api/v1/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"no /health within {START_SECONDS} s:\n{log_tail(log)}"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def log_in(base: str, role: str, password: str | None = None, next_: str = "") -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    token = CSRF.search(browser.get(f"{base}/login", timeout=30).text).group(1)
    answer = browser.post(f"{base}/login" + (f"?next={next_}" if next_ else ""), timeout=30, allow_redirects=False,
                          data={"login": role, "password": password or f"pw-{role}", "csrf_token": token})
    return browser, answer


def forged(secret_key: str, login: str) -> str:
    forger = Flask("forger")
    forger.secret_key = secret_key
    return SecureCookieSessionInterface().get_signing_serializer(forger).dumps({"login": login})


def test_the_real_server_refuses_forged_cookies_cross_site_posts_open_redirects_and_copied_cookies(base: str):
    # A cookie signed with the old constant secret: neither the pages nor the API take it.
    attacker = requests.Session()
    attacker.cookies.set("session", forged("dev-only-secret", "manager"))
    page = attacker.get(f"{base}/dashboard", allow_redirects=False, timeout=30)
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert attacker.get(f"{base}/api/v1/sla/overdue", timeout=30).status_code == 401

    # A form on another site posting to the login page (login CSRF): refused, in Ukrainian.
    cross = requests.post(f"{base}/login", data={"login": "manager", "password": "pw-manager"}, timeout=30,
                          headers={"Origin": "http://127.0.0.1:1", "Referer": "http://127.0.0.1:1/"})
    assert cross.status_code == 400 and "Запит відхилено" in cross.text

    # Logged in for real: the API still wants a bearer token, not the session cookie.
    manager, answer = log_in(base, "manager", next_="/%09/evil.example/")
    assert answer.status_code == 302 and answer.headers["Location"] == "/"  # no open redirect
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert manager.get(f"{base}/dashboard", timeout=30).status_code == 200
    assert manager.get(f"{base}/api/v1/me", timeout=30).status_code == 401

    # Security headers, on a page and on the API.
    for response in (manager.get(f"{base}/dashboard", timeout=30), manager.get(f"{base}/api/v1/health", timeout=30)):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"

    # A copy of the cookie dies with logout, whichever worker answers.
    copied = manager.cookies.get("session")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', manager.get(f"{base}/dashboard", timeout=30).text).group(1)
    assert manager.post(f"{base}/logout", data={"csrf_token": token}, allow_redirects=False, timeout=30).status_code == 302
    thief = requests.Session()
    thief.cookies.set("session", copied)
    for _ in range(4):  # spread over both workers
        refused = thief.get(f"{base}/dashboard", allow_redirects=False, timeout=30)
        assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")


def test_the_real_server_slows_password_guessing_down_across_its_workers(base: str):
    for _ in range(logins.MAX_FAILURES_PER_LOGIN):
        _browser, answer = log_in(base, "manager", password="guess")
        assert answer.status_code == 401
    _browser, answer = log_in(base, "manager")
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
    _browser, answer = log_in(base, "programs_dept")  # another login from the same address
    assert answer.status_code == 302
