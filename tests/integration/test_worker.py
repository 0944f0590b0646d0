"""The worker fires each due timer exactly once: under a race between workers, and after a
worker dies mid-pass (SPEC §5, §8). Runs on SQLite and on PostgreSQL (SKIP LOCKED)."""

import threading
import time
import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from marshrut.engine import cases, definitions, incidents, worker
from marshrut.engine.models import AuditEvent, Instance, Task, Timer
from marshrut.engine.operation import operation
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
    assert walker.tick().timers_fired == 0  # it waits out its back-off (a minute after the first failure)
    walker.at(kyiv("2026-02-18 10:01"))
    assert walker.tick().timers_fired == 1
    assert fired_events(walker, broken) == [COMMITTEE]
    assert fired_events(walker, healthy) == [COMMITTEE]


def failing_cases(walker: Walker, count: int, fires_at, attempts: int = 0, next_attempt_at=None) -> set[int]:
    """``count`` cases whose only row that matters is a due timer (their firing is made to fail)."""
    with operation(walker.db, walker.settings) as (uow, ctx):
        definition = definitions.latest(uow, "address_aid")
        rows = [Instance(number=f"ЗБ-{n:06d}", process_key="address_aid", definition_id=definition.id, status="running",
                         received_at=fires_at, data={}, state="", created_at=fires_at, updated_at=fires_at)
                for n in range(count)]
        uow.session.add_all(rows)
        uow.flush()
        uow.session.add_all(Timer(instance_id=row.id, spiff_id=str(uuid.uuid4()), element_id=COMMITTEE, name="Засідання",
                                  fires_at=fires_at, state="waiting", attempts=attempts, next_attempt_at=next_attempt_at)
                            for row in rows)
        uow.commit()
        return {row.id for row in rows}


def failing_for(monkeypatch, broken: set[int]) -> Counter:
    """Make firing the ``broken`` cases' timers fail; returns how often each case was tried."""
    tries: Counter = Counter()
    real_fire = cases.fire_due_timers

    def fire(uow, ctx, instance_id):
        tries[instance_id] += 1
        if instance_id in broken:
            raise RuntimeError("the timer's continuation failed")
        return real_fire(uow, ctx, instance_id)

    monkeypatch.setattr(cases, "fire_due_timers", fire)
    return tries


def timers_of(walker: Walker, ids: set[int]) -> list[Timer]:
    with operation(walker.db, walker.settings) as (uow, _ctx):
        return list(uow.session.scalars(select(Timer).where(Timer.instance_id.in_(sorted(ids)))))


def test_500_failing_cases_do_not_delay_a_healthy_cases_timer(walker, monkeypatch):
    healthy = walker.address_aid_to_committee()
    broken = failing_cases(walker, 500, kyiv("2026-02-10 09:00"))  # due long before the healthy one
    tries = failing_for(monkeypatch, broken)
    walker.at(kyiv("2026-02-18 10:00"))

    first = walker.tick()
    assert first.timers_fired == 1 and committee_timer(walker, healthy).state == "fired"
    assert {tries[i] for i in broken} == {1}  # each failing case tried once, then backed off
    assert all(t.attempts == 1 and t.next_attempt_at > kyiv("2026-02-18 10:00") for t in timers_of(walker, broken))
    assert walker.tick().timers_fired == 0
    assert {tries[i] for i in broken} == {1}  # not retried within the back-off


def test_a_timer_that_never_failed_goes_before_500_being_retried_in_a_small_batch(walker, monkeypatch):
    healthy = walker.address_aid_to_committee()
    walker.at(kyiv("2026-02-18 10:00"))
    broken = failing_cases(walker, 500, kyiv("2026-02-10 09:00"), attempts=1, next_attempt_at=kyiv("2026-02-18 09:59"))
    tries = failing_for(monkeypatch, broken)

    worker.run_pass(walker.db, walker.settings, batch=20, rounds=1)  # room for 20 cases only
    assert tries[healthy] == 1 and committee_timer(walker, healthy).state == "fired"
    assert sum(tries[i] for i in broken) == 19  # the oldest of the rest


def test_a_timer_failing_three_times_becomes_an_incident_and_is_no_longer_tried(walker, monkeypatch):
    case = walker.address_aid_to_committee()
    tries = failing_for(monkeypatch, {case})
    moments = ["2026-02-18 10:00", "2026-02-18 10:01", "2026-02-18 10:03"]  # back-off: 1, then 2 minutes
    for moment in moments:
        walker.at(kyiv(moment)).tick()
    assert tries[case] == 3
    [incident] = open_incidents(walker, case)
    assert incident.element_id == COMMITTEE and "RuntimeError" in incident.message
    walker.at(kyiv("2026-02-20 10:00")).tick()
    assert tries[case] == 3  # held by the incident
    assert committee_timer(walker, case).state == "waiting"

    monkeypatch.undo()
    with operation(walker.db, walker.settings) as (uow, ctx):
        retried = incidents.retry(uow, walker.actors["admin"], ctx, incident.id)
        uow.commit()
    assert retried.resolved_at is not None
    assert committee_timer(walker, case).state == "fired"
    assert walker.open_ids(case) == ["record_committee_decision"]


def open_incidents(walker: Walker, case: int):
    with operation(walker.db, walker.settings) as (uow, _ctx):
        return incidents.open_of(uow, case)
