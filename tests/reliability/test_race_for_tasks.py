"""Eight members of staff race for each of 200 ready tasks (SPEC §8): each task is completed
exactly once, the seven others get 409, and every case moves on by exactly one step.

The racers are eight client threads against the real server (``marshrut serve``, two
gunicorn workers of four threads each), released together for every task.
"""

import threading
from collections import Counter, defaultdict

import requests
from sqlalchemy import func, select

from marshrut.engine import definitions, queries, runtime, users
from marshrut.engine.models import AuditEvent, Instance, Task
from tests.conftest import context_at, kyiv, set_now
from tests.reliability.conftest import register_cases, requires_postgres, server
from tests.walks import ADDRESS_AID_STEPS

pytestmark = requires_postgres

TASKS = 200
RACERS = 8
REGISTERED = kyiv("2026-02-02 10:00")


def test_eight_threads_racing_to_complete_the_same_200_tasks_complete_each_exactly_once(deployed, db, settings, actors, tmp_path):
    pairs = register_cases(db, settings, actors["programs_dept"], TASKS, REGISTERED)
    set_now(db, REGISTERED)
    logins = [f"programs_dept_{i}" for i in range(RACERS)]
    with db.unit_of_work() as uow:
        for login in logins:
            users.create_user(uow, login, ["programs_dept"], kyiv("2026-01-01 09:00"), token=f"token-{login}")
        uow.commit()
    answers: dict[int, list[tuple[str, int]]] = defaultdict(list)
    failures: list[BaseException] = []
    lock = threading.Lock()
    together = threading.Barrier(RACERS)
    body = {"data": ADDRESS_AID_STEPS["accept_documents"]}

    with server(settings, tmp_path / "server.log") as (_process, base):
        def racer(login: str) -> None:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer token-{login}"
            try:
                for _instance_id, task_id in pairs:
                    together.wait(timeout=120)  # all eight go for this task at once
                    status = session.post(f"{base}/tasks/{task_id}/complete", json=body, timeout=120).status_code
                    with lock:
                        answers[task_id].append((login, status))
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)
                together.abort()

        threads = [threading.Thread(target=racer, args=(login,), name=f"racer-{login}", daemon=True) for login in logins]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    assert failures == []

    for _instance_id, task_id in pairs:
        assert Counter(status for _login, status in answers[task_id]) == Counter({200: 1, 409: RACERS - 1}), answers[task_id]
    winners = {task_id: next(login for login, status in answers[task_id] if status == 200) for _i, task_id in pairs}

    ids = [instance_id for instance_id, _task_id in pairs]
    with db.unit_of_work() as uow:
        tasks = list(uow.session.scalars(select(Task).where(Task.instance_id.in_(ids))))
        completions = dict(uow.session.execute(
            select(AuditEvent.task_id, func.count()).where(AuditEvent.event == "task_completed", AuditEvent.instance_id.in_(ids))
            .group_by(AuditEvent.task_id)).all())
        by_case = defaultdict(list)
        for task in tasks:
            by_case[task.instance_id].append(task)
        for instance_id, task_id in pairs:
            first = next(t for t in by_case[instance_id] if t.id == task_id)
            assert (first.state, first.completed_by) == ("completed", winners[task_id])
            assert completions.get(task_id) == 1, f"task {task_id} completed {completions.get(task_id)} times in the audit log"
            # no lost step and none doubled: the case stands at exactly its second step
            assert sorted((t.element_id, t.state) for t in by_case[instance_id]) == [
                ("accept_documents", "completed"), ("form_personal_file", "ready")]
            instance = uow.session.get(Instance, instance_id)
            workflow = runtime.load(instance.state, definitions.compiled(queries.definition_of(uow, instance)),
                                    context_at(settings, REGISTERED))
            assert [s.element_id for s in runtime.open_steps(workflow)] == ["form_personal_file"]
        assert len(completions) == TASKS
