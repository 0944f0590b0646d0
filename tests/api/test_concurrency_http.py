"""Staff racing for the same task (SPEC §8): exactly one wins, the others get 409, nothing is done twice.

Each racer is its own thread with its own test client; a barrier releases them together so
the requests overlap inside the app and the database, on SQLite and on PostgreSQL alike.
"""

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from marshrut.engine import users
from marshrut.engine.models import AuditEvent, Task
from tests.api.conftest import Http, count_rows, problem
from tests.conftest import kyiv
from tests.walks import ADDRESS_AID_STEPS, APPLICATION, ROADMAP_APPLICATION, ROADMAP_STEPS

JOIN_SECONDS = 60


def staff(db, role: str, count: int) -> list[str]:
    """``count`` members of ``role`` (logins ``<role>_1`` …, token ``token-<login>``)."""
    logins = [f"{role}_{i}" for i in range(1, count + 1)]
    with db.unit_of_work() as uow:
        for login in logins:
            users.create_user(uow, login, [role], kyiv("2026-01-01 09:00"), token=f"token-{login}")
        uow.commit()
    return logins


@contextmanager
def all_at_the_task_at_once(app: Flask, racers: int) -> Iterator[None]:
    """Hold each racing thread just before its first statement on the task until every racer is there.

    Authentication and parsing are done by then; this forces the worst interleaving (everyone
    reaches for the task at the same moment) instead of hoping the threads overlap. No racer
    holds a lock at that point, on either backend: the task is locked by that very statement.
    """
    engine = app.extensions["marshrut"]["db"].engine
    barrier = threading.Barrier(racers)
    seen = threading.local()

    def before_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.current_thread().name.startswith("racer-") and ("FROM tasks" in statement or "UPDATE tasks" in statement) \
                and not getattr(seen, "done", False):
            seen.done = True
            barrier.wait(timeout=JOIN_SECONDS)

    event.listen(engine, "before_cursor_execute", before_execute)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before_execute)


def race(app: Flask, requests: list[tuple[str, str]], body: dict[str, Any] | None = None) -> list[Any]:
    """POST each ``(login, path)`` from its own thread, all released at once; the answers in order."""
    start = threading.Barrier(len(requests))
    answers: list[Any] = [None] * len(requests)

    def run(index: int, login: str, path: str) -> None:
        client = app.test_client()
        try:
            start.wait(timeout=JOIN_SECONDS)
            answers[index] = client.post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer token-{login}"})
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            answers[index] = error

    threads = [threading.Thread(target=run, args=(i, login, path), name=f"racer-{i}", daemon=True)
               for i, (login, path) in enumerate(requests)]
    with all_at_the_task_at_once(app, len(requests)):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(JOIN_SECONDS)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    failures = [a for a in answers if isinstance(a, BaseException)]
    assert not failures, failures
    return answers


def statuses(answers: list[Any]) -> Counter[int]:
    return Counter(a.status_code for a in answers)


@pytest.fixture
def case(api: Http) -> dict[str, Any]:
    api.set_clock("2026-02-02T10:00:00+02:00")
    return api.as_("programs_dept").start("address_aid", APPLICATION)


@pytest.mark.parametrize("racers", [2, 8])
def test_staff_completing_the_same_task_at_once_one_wins_and_the_rest_get_409(app, api, db, case, racers):
    logins = staff(db, "programs_dept", racers)
    task_id = case["open_tasks"][0]["id"]

    answers = race(app, [(login, f"/tasks/{task_id}/complete") for login in logins],
                   {"data": ADDRESS_AID_STEPS["accept_documents"]})

    assert statuses(answers) == Counter({200: 1, 409: racers - 1}), [a.get_data(as_text=True)[:300] for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            problem(answer, 409)
    [winner] = [a.json for a in answers if a.status_code == 200]
    winner_login = winner["task"]["completed_by"]
    assert winner_login in logins

    assert count_rows(db, AuditEvent, instance_id=case["id"], event="task_completed") == 1
    assert count_rows(db, Task, instance_id=case["id"], element_id="form_personal_file") == 1
    task = api.as_("manager").get(f"/tasks/{task_id}").json
    assert (task["state"], task["completed_by"]) == ("completed", winner_login)
    after = api.as_("manager").instance(case["id"])
    assert [t["element_id"] for t in after["open_tasks"]] == ["form_personal_file"]
    history = api.as_("manager").get(f"/process-instances/{case['id']}/history").json["items"]
    assert [e["actor"] for e in history if e["event"] == "task_completed"] == [winner_login]


@pytest.mark.parametrize("racers", [2, 8])
def test_staff_claiming_the_same_task_at_once_one_holds_it_and_the_rest_get_409(app, api, db, case, racers):
    logins = staff(db, "programs_dept", racers)
    task_id = case["open_tasks"][0]["id"]

    answers = race(app, [(login, f"/tasks/{task_id}/claim") for login in logins])

    assert statuses(answers) == Counter({200: 1, 409: racers - 1}), [a.get_data(as_text=True)[:300] for a in answers]
    [holder] = [a.json["assignee"] for a in answers if a.status_code == 200]
    assert api.as_("manager").get(f"/tasks/{task_id}").json["assignee"] == holder
    assert count_rows(db, AuditEvent, instance_id=case["id"], event="task_claimed") == 1


def test_two_providers_finishing_the_two_parallel_deliveries_at_once_both_succeed_and_the_case_completes(app, api, db):
    api.set_clock("2026-02-02T10:00:00+02:00")
    case_id = api.as_("dept_specialist").start("social_services_roadmap", ROADMAP_APPLICATION)["id"]
    for element_id, role in [("register_application", "dept_specialist"), ("assess_needs", "case_manager"),
                             ("decide", "dept_specialist"), ("notify_decision", "dept_specialist"),
                             ("draft_individual_plan", "case_manager"), ("sign_contract", "case_manager")]:
        caller = api.as_(role)
        caller.complete(caller.task_in(case_id, element_id)["id"], ROADMAP_STEPS[element_id])
    # each branch is its provider's (issue 12 item 4): services 1 and 5 of the sample decision
    first, second = sorted(api.as_("manager").tasks(instance_id=case_id, all=True), key=lambda t: t["inputs"]["service"])
    logins = [f"provider-{first['provider_id']}", f"provider-{second['provider_id']}"]

    answers = race(app, [(logins[0], f"/tasks/{first['id']}/complete"), (logins[1], f"/tasks/{second['id']}/complete")],
                   {"data": ROADMAP_STEPS["deliver_service"]})

    assert [a.status_code for a in answers] == [200, 200], [a.get_data(as_text=True)[:300] for a in answers]
    finished = api.as_("manager").instance(case_id)
    assert finished["status"] == "completed"
    assert count_rows(db, AuditEvent, instance_id=case_id, event="case_finished") == 1
    assert count_rows(db, Task, instance_id=case_id, element_id="deliver_service", state="completed") == 2
    assert [a.json["task"]["completed_by"] for a in answers] == logins
