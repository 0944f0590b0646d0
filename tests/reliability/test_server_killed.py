"""The server killed with SIGKILL in the middle of a load (SPEC §8: a crash loses nothing that
was acknowledged): every completion answered 200 is in the database, and every case loads
with its rows and its saved workflow agreeing."""

import signal
import threading
import time
from typing import Any

import requests
from sqlalchemy import select

from marshrut.engine import definitions, queries, runtime
from marshrut.engine.models import AuditEvent, Instance, Task
from tests.conftest import context_at, kyiv, set_now
from tests.reliability.conftest import kill_group, register_cases, requires_postgres, server
from tests.walks import ADDRESS_AID_STEPS

pytestmark = requires_postgres

CASES = 40
DRIVERS = 4
KILL_AFTER = 40  # acknowledged completions before the kill
REGISTERED = kyiv("2026-02-02 10:00")


def test_a_server_killed_mid_load_keeps_every_acknowledged_completion_and_every_case_loads(
        deployed, db, settings, actors, tmp_path):
    pairs = register_cases(db, settings, actors["programs_dept"], CASES, REGISTERED)
    set_now(db, REGISTERED)
    acknowledged: list[dict[str, Any]] = []
    lock = threading.Lock()
    stop = threading.Event()

    with server(settings, tmp_path / "server.log") as (process, base):
        def drive(mine: list[tuple[int, int]]) -> None:
            """Walk this driver's cases a step at a time, round robin, until the server is gone."""
            sessions: dict[str, requests.Session] = {}
            current = {instance_id: (task_id, "programs_dept", "accept_documents") for instance_id, task_id in mine}
            while current and not stop.is_set():
                for instance_id, (task_id, role, element_id) in list(current.items()):
                    session = sessions.setdefault(role, requests.Session())
                    session.headers["Authorization"] = f"Bearer token-{role}"
                    try:
                        answer = session.post(f"{base}/tasks/{task_id}/complete", timeout=30,
                                              json={"data": ADDRESS_AID_STEPS[element_id]})
                    except requests.RequestException:
                        return  # the server is gone; what was in flight is not acknowledged
                    assert answer.status_code == 200, answer.text[:500]
                    with lock:
                        acknowledged.append({"task_id": task_id, "instance_id": instance_id, "element_id": element_id,
                                             "by": role})
                    following = answer.json()["instance"]["open_tasks"]
                    if following:
                        step = following[0]
                        current[instance_id] = (step["id"], step["role"], step["element_id"])
                    else:
                        del current[instance_id]  # waiting for the committee

        drivers = [threading.Thread(target=drive, args=(pairs[i::DRIVERS],), daemon=True) for i in range(DRIVERS)]
        for driver in drivers:
            driver.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < KILL_AFTER and time.monotonic() < deadline and any(d.is_alive() for d in drivers):
            time.sleep(0.02)
        in_flight = sum(d.is_alive() for d in drivers)
        kill_group(process, signal.SIGKILL)  # the gunicorn master and its workers, mid-request
        stop.set()
        for driver in drivers:
            driver.join(timeout=60)
    assert len(acknowledged) >= KILL_AFTER, "the load did not get going before the kill"
    assert in_flight == DRIVERS, "every driver was still sending when the server was killed"

    with db.unit_of_work() as uow:
        for done in acknowledged:
            task = uow.session.get(Task, done["task_id"])
            assert task is not None and (task.state, task.completed_by) == ("completed", done["by"]), done
            events = uow.session.scalars(select(AuditEvent).where(
                AuditEvent.task_id == done["task_id"], AuditEvent.event == "task_completed")).all()
            assert len(events) == 1, done
        ctx = context_at(settings, REGISTERED)
        for instance_id, _first in pairs:
            instance = uow.session.get(Instance, instance_id)
            workflow = runtime.load(instance.state, definitions.compiled(queries.definition_of(uow, instance)), ctx)
            assert instance.status == "running"
            assert {s.spiff_id for s in runtime.open_steps(workflow)} == {t.spiff_id for t in queries.open_tasks(uow, instance_id)}
            assert {t.spiff_id for t in runtime.waiting_timers(workflow)} == {
                t.spiff_id for t in queries.waiting_timers(uow, instance_id)}
            completed = uow.session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "completed")).all()
            logged = uow.session.scalars(select(AuditEvent.task_id).where(
                AuditEvent.instance_id == instance_id, AuditEvent.event == "task_completed")).all()
            assert sorted(t.id for t in completed) == sorted(logged), "a completed step without its audit event, or the reverse"
