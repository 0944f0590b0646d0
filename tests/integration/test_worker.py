"""The worker fires each due timer exactly once: under a race between workers, and after a
worker dies mid-pass (SPEC §5, §8). Runs on SQLite and on PostgreSQL (SKIP LOCKED)."""

import threading
import time

import pytest
from sqlalchemy import select

from engine import cases, worker
from engine.models import AuditEvent, Task, Timer
from engine.operation import operation
from tests.conftest import kyiv
from tests.integration.engine_walk import Walker

COMMITTEE = "wait_committee_meeting"


@pytest.fixture
def walker(deployed, settings, actors) -> Walker:
    return Walker(deployed, settings, actors).at(kyiv("2026-02-02 10:00"))


def fired_events(walker: Walker, case: int) -> list[str]:
    with operation(walker.db, walker.settings) as (uow, _ctx):
        query = select(AuditEvent).where(AuditEvent.instance_id == case, AuditEvent.event == "timer_fired")
        return [e.data["element_id"] for e in uow.session.scalars(query)]


def decision_tasks(walker: Walker, case: int) -> list[Task]:
    with operation(walker.db, walker.settings) as (uow, _ctx):
        query = select(Task).where(Task.instance_id == case, Task.element_id == "record_committee_decision")
        return list(uow.session.scalars(query))


def committee_timer(walker: Walker, case: int) -> Timer:
    with operation(walker.db, walker.settings) as (uow, _ctx):
        return uow.session.scalars(select(Timer).where(Timer.instance_id == case, Timer.element_id == COMMITTEE)).one()


def test_two_racing_worker_passes_fire_the_committee_timer_exactly_once(walker, monkeypatch):
    case = walker.address_aid_to_committee()
    walker.at(kyiv("2026-02-18 10:00"))

    real_fire = cases.fire_due_timers

    def slow_fire(uow, ctx, instance_id):
        fired = real_fire(uow, ctx, instance_id)
        time.sleep(0.3)  # hold the case while the other pass arrives
        return fired

    monkeypatch.setattr(cases, "fire_due_timers", slow_fire)
    start = threading.Barrier(2)
    results, failures = [], []

    def one_pass():
        start.wait()
        try:
            results.append(worker.run_pass(walker.db, walker.settings))
        except Exception as err:  # noqa: BLE001 - reported below
            failures.append(err)

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert sorted(r.timers_fired for r in results) == [0, 1]
    assert fired_events(walker, case) == [COMMITTEE]
    assert len(decision_tasks(walker, case)) == 1
    assert committee_timer(walker, case).state == "fired"
    assert walker.open_ids(case) == ["record_committee_decision"]


def test_a_worker_killed_mid_pass_leaves_the_timer_waiting_and_the_next_pass_fires_it_once(walker, monkeypatch):
    first = walker.address_aid_to_committee()
    walker.at(kyiv("2026-02-02 11:00"))
    second = walker.address_aid_to_committee()
    assert first < second  # the pass handles cases in id order: the first is done before the crash
    walker.at(kyiv("2026-02-18 10:00"))

    real_fire = cases.fire_due_timers

    def dies_on_second(uow, ctx, instance_id):
        fired = real_fire(uow, ctx, instance_id)  # the work is done but never committed
        if instance_id == second:
            raise SystemExit("worker killed")
        return fired

    monkeypatch.setattr(cases, "fire_due_timers", dies_on_second)
    with pytest.raises(SystemExit):
        worker.run_pass(walker.db, walker.settings)

    assert committee_timer(walker, first).state == "fired"
    assert committee_timer(walker, second).state == "waiting"
    assert fired_events(walker, second) == []
    assert decision_tasks(walker, second) == []

    monkeypatch.setattr(cases, "fire_due_timers", real_fire)
    assert walker.tick().timers_fired == 1
    assert walker.tick().timers_fired == 0
    for case in (first, second):
        assert fired_events(walker, case) == [COMMITTEE]
        assert len(decision_tasks(walker, case)) == 1


def test_a_timer_not_yet_due_is_left_alone(walker):
    case = walker.address_aid_to_committee()
    walker.at(kyiv("2026-02-18 08:59:59"))
    assert walker.tick().timers_fired == 0
    assert committee_timer(walker, case).state == "waiting"
    assert decision_tasks(walker, case) == []


def test_a_case_whose_timer_fails_does_not_hold_back_the_others_and_is_retried(walker, monkeypatch, caplog):
    broken = walker.address_aid_to_committee()
    walker.at(kyiv("2026-02-02 11:00"))
    healthy = walker.address_aid_to_committee()
    assert broken < healthy  # the broken case comes first in the pass
    walker.at(kyiv("2026-02-18 10:00"))

    real_fire = cases.fire_due_timers

    def fails_on_broken(uow, ctx, instance_id):
        if instance_id == broken:
            raise RuntimeError("the timer's expression failed")
        return real_fire(uow, ctx, instance_id)

    monkeypatch.setattr(cases, "fire_due_timers", fails_on_broken)
    assert walker.tick().timers_fired == 1
    assert committee_timer(walker, healthy).state == "fired"
    assert committee_timer(walker, broken).state == "waiting"
    assert any(f"case {broken}" in r.getMessage() for r in caplog.records)

    monkeypatch.setattr(cases, "fire_due_timers", real_fire)
    assert walker.tick().timers_fired == 1
    assert fired_events(walker, broken) == [COMMITTEE]
    assert fired_events(walker, healthy) == [COMMITTEE]
