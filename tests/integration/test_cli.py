"""The ``marshrut`` console script (SPEC §7), run as a real subprocess against the test database.

Starting the script costs a second or two, so the commands run once per module as one shell
session on an emptied database, independent ones side by side; each test then checks what
one command printed and left in the database.
"""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from marshrut.engine import sla, users
from marshrut.engine.models import AuditEvent, Definition, Task, User
from marshrut.engine.store import Database
from tests.conftest import ROOT, empty_tables, kyiv, set_now
from tests.walks import APPLICATION

MARSHRUT = Path(sys.executable).parent / "marshrut"
ROADMAP = ROOT / "bpmn" / "social_services_roadmap.bpmn"
SHIPPED = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bpmn").iterdir() if p.suffix in (".bpmn", ".dmn"))


@dataclass
class Session:
    db: Database
    out: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)
    task_id: str = ""


def run(database_url: str, commands: dict[str, list[str]]) -> dict[str, subprocess.CompletedProcess]:
    """Run ``marshrut`` commands side by side; their results by name."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARSHRUT_")}
    env.update(MARSHRUT_DATABASE_URL=database_url, MARSHRUT_CONTROLLED_CLOCK="1")
    running = {
        name: subprocess.Popen([str(MARSHRUT), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        for name, args in commands.items()
    }
    results = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=120)
        results[name] = subprocess.CompletedProcess(commands[name], process.returncode, out, err)
    return results


def latin_b_diagram(folder: Path) -> Path:
    """The roadmap with a Latin "B" as the action of register_application."""
    marker = '<bpmn:userTask id="register_application"'
    head, tail = ROADMAP.read_text(encoding="utf-8").split(marker)
    tail = tail.replace('<camunda:property name="action" value="В"/>', '<camunda:property name="action" value="B"/>', 1)
    path = folder / "social_services_roadmap.bpmn"
    path.write_text(head + marker + tail, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shell(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    db = Database(migrated)
    with db.engine.begin() as connection:  # empty, as the ``db`` fixture leaves it
        empty_tables(connection)
    set_now(db, kyiv("2026-02-02 10:00"))
    folder = tmp_path_factory.mktemp("cli")
    application = folder / "application.json"
    application.write_text(json.dumps(APPLICATION, ensure_ascii=False), encoding="utf-8")
    session = Session(db)

    session.out.update(run(migrated, {
        "validate_shipped": ["validate", *[p for p in SHIPPED if p.endswith(".bpmn")]],
        "validate_latin": ["validate", str(latin_b_diagram(folder))],
        "deploy": ["deploy", *SHIPPED],
        "create_olena": ["users", "create", "olena", "--role", "programs_dept", "--role", "manager",
                         "--name", "Олена Петренко", "--password", "Пароль-123"],
        "create_unknown_role": ["users", "create", "petro", "--role", "janitor"],
        "create_provider": ["users", "create", "maryna", "--role", "provider", "--provider", "myloserdia"],
        "create_unknown_provider": ["users", "create", "ivan", "--role", "provider", "--provider", "nobody"],
    }))
    session.out.update(run(migrated, {
        "upgrade": ["db", "upgrade"],  # on a database already at the newest schema, with data
        "case_start": ["case", "start", "address_aid", "--as", "olena", "--data", f"@{application}"],
    }))
    session.out.update(run(migrated, {"task_list": ["task", "list", "--as", "olena"]}))
    rows = session.out["task_list"].stdout.splitlines()
    session.task_id = rows[0].split("\t")[0] if rows else "0"
    session.out.update(run(migrated, {
        "task_complete": ["task", "complete", session.task_id, "--as", "olena", "--data", '{"package_complete": true}'],
    }))
    set_now(db, kyiv("2026-02-24 00:00"))  # the day after the target date: its escalation is due
    session.out.update(run(migrated, {"worker_once": ["worker", "--once"]}))
    with db.engine.begin() as connection:  # the counters lost (rows loaded or fixed with the triggers off)
        connection.execute(text("DELETE FROM sla_tally_changes"))
        connection.execute(text("DELETE FROM sla_tallies"))
    session.out.update(run(migrated, {"recount": ["db", "recount"]}))
    yield session
    db.dispose()


def ok(shell: Session, name: str) -> subprocess.CompletedProcess:
    result = shell.out[name]
    assert result.returncode == 0, result.stderr
    return result


def test_the_console_script_is_installed():
    assert MARSHRUT.is_file()


def test_validate_accepts_every_shipped_diagram(shell):
    result = ok(shell, "validate_shipped")
    for name in ("address_aid.bpmn", "social_services_roadmap.bpmn", "needs_assessment_plan.bpmn"):
        assert f"{name}: гаразд" in result.stdout


def test_validate_refuses_a_latin_action_naming_the_element_and_the_cyrillic_letter(shell):
    result = shell.out["validate_latin"]
    assert result.returncode == 1
    line = next(line for line in result.stderr.splitlines() if "register_application" in line)
    assert "«В»" in line and "латиниц" in line


def test_deploy_prints_the_version_of_each_process(shell):
    assert sorted(ok(shell, "deploy").stdout.splitlines()) == [
        "address_aid: версія 1 (розгорнуто)",
        "needs_assessment_plan: версія 1 (розгорнуто)",
        "social_services_roadmap: версія 1 (розгорнуто)",
    ]
    with shell.db.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Definition)) == 3


def test_users_create_prints_a_token_that_authenticates(shell):
    token = ok(shell, "create_olena").stdout.strip()
    assert len(token) >= 32 and "\n" not in token
    with shell.db.unit_of_work() as uow:
        actor = users.by_token(uow, token)
        assert actor is not None
        assert (actor.login, actor.name, actor.roles) == ("olena", "Олена Петренко", frozenset({"programs_dept", "manager"}))
        assert users.by_token(uow, token + "x") is None
        assert users.by_password(uow, "olena", "Пароль-123") == actor
        stored = uow.session.scalars(select(User).where(User.login == "olena")).one()
        assert token not in (stored.token_hash, stored.password_hash)
        assert "Пароль-123" not in (stored.password_hash or "")


def test_users_create_with_an_unknown_role_fails_clearly_and_creates_no_one(shell):
    result = shell.out["create_unknown_role"]
    assert result.returncode == 1
    assert "Невідомі ролі: janitor" in result.stderr
    assert result.stdout == ""
    with shell.db.unit_of_work() as uow:
        assert uow.session.scalars(select(User).where(User.login == "petro")).first() is None


def test_users_create_binds_a_provider_user_to_its_organisation(shell):
    token = ok(shell, "create_provider").stdout.strip()
    with shell.db.unit_of_work() as uow:
        actor = users.by_token(uow, token)
        assert (actor.login, actor.roles, actor.provider_id) == ("maryna", frozenset({"provider"}), "myloserdia")
    result = shell.out["create_unknown_provider"]
    assert result.returncode == 1 and "nobody" in result.stderr


def test_db_upgrade_on_an_upgraded_database_changes_nothing_and_keeps_the_data(shell):
    assert "Схему бази даних оновлено" in ok(shell, "upgrade").stdout
    with shell.db.unit_of_work() as uow:
        assert sorted(uow.session.scalars(select(User.login)).all()) == ["maryna", "olena"]


def test_db_recount_counts_the_sla_tallies_afresh_from_the_rows(shell):
    assert "Лічильники строків перераховано" in ok(shell, "recount").stdout
    with shell.db.unit_of_work() as uow:
        figures = sla.summary(uow, kyiv("2026-02-24 00:00"))
    assert [(s["element_id"], s["overdue"], s["total"]) for s in figures["steps"]] == [("form_personal_file", 1, 1)]
    assert figures["processes"][0]["running"] == 1 and figures["processes"][0]["target"]["breached"] == 1


def test_case_start_registers_the_application_from_a_file(shell):
    assert re.fullmatch(r"АД-2026-000001 \(id \d+\)", ok(shell, "case_start").stdout.strip())


def test_task_list_shows_the_first_step_with_its_role_and_due_date(shell):
    [row] = [line.split("\t") for line in ok(shell, "task_list").stdout.splitlines()]
    assert row[1:4] == ["accept_documents", "programs_dept", "2026-02-03"]


def test_task_complete_moves_the_case_to_the_next_step(shell):
    assert ok(shell, "task_complete").stdout.strip() == "accept_documents: виконано; справа АД-2026-000001: running"
    with shell.db.unit_of_work() as uow:
        first = uow.session.get(Task, int(shell.task_id))
        assert (first.state, first.completed_by) == ("completed", "olena")
        assert uow.session.scalars(select(Task.element_id).where(Task.state == "ready")).all() == ["form_personal_file"]


def test_worker_once_prints_how_many_timers_fired(shell):
    assert ok(shell, "worker_once").stdout.strip() == "Таймерів спрацювало: 1 (справ: 1)"
    with shell.db.unit_of_work() as uow:
        fired = uow.session.scalars(select(AuditEvent).where(AuditEvent.event == "timer_fired")).all()
        assert [e.data["element_id"] for e in fired] == ["escalate_target"]
