"""The benchmark's generator (``python -m bench.generate``, issue 17): a small department made by it has
open cases of every process standing at every stage, two finished cases for each open one with their
whole history, and copies the engine loads and works like any case. On SQLite and PostgreSQL."""

import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from bench import fill, generate
from marshrut.engine import cases, users
from marshrut.engine.clock import FixedClock
from marshrut.engine.config import Settings
from marshrut.engine.context import Context
from marshrut.engine.store import Database
from tests.conftest import BACKEND, POSTGRES_URL

OPEN = 64

AID = ["accept_documents", "form_personal_file", "register_application", "send_to_director", "director_resolution",
       "send_to_executor", "prepare_commission_materials", "prepare_commission_minutes", "draft_committee_decision",
       "endorse_draft_decision", "record_committee_decision", "prepare_payment_registers", "notify_applicant"]
#: Where an open case can stand: its open steps (both parallel deliveries, or one), or the timer it waits for.
STAGES = {
    "address_aid": {(step,) for step in AID} | {("timer:escalate_target", "timer:wait_committee_meeting")},
    "social_services_roadmap": {(step,) for step in ("register_application", "assess_needs", "decide", "notify_decision",
                                                     "draft_individual_plan", "sign_contract")}
                               | {("deliver_service", "deliver_service"), ("deliver_service",)},
    "needs_assessment_plan": {(step,) for step in (
        "social_research", "analyse_development_documents", "analyse_service_system", "monitor_service_providers",
        "assess_needs_satisfaction", "forecast_vulnerable_groups", "define_required_services", "approve_needs_report",
        "introduce_services", "approve_services_list")},
}


@pytest.fixture(scope="module")
def generated() -> Iterator[tuple[str, dict]]:
    """An empty database filled by the generator with ``OPEN`` open cases and two finished for each."""
    if BACKEND == "postgresql":
        schema = f"g_{uuid.uuid4().hex[:12]}"
        admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        try:
            yield url, fill.fill(url, OPEN, finished_per_open=2, batch=20)
        finally:
            with admin.begin() as connection:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
    else:
        import tempfile
        from pathlib import Path
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'generated.db'}"
            yield url, fill.fill(url, OPEN, finished_per_open=2, batch=20)


def rows(url: str, query: str) -> list[tuple]:
    db = Database(url)
    try:
        with db.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        db.dispose()


def test_open_cases_of_every_process_stand_at_every_stage(generated):
    url, report = generated
    open_steps = rows(url, "SELECT i.process_key, i.id, t.element_id FROM process_instances i "
                           "JOIN tasks t ON t.instance_id = i.id AND t.state = 'ready' WHERE i.status = 'running'")
    waiting = rows(url, "SELECT i.process_key, i.id, 'timer:' || m.element_id FROM process_instances i "
                        "JOIN timers m ON m.instance_id = i.id AND m.state = 'waiting' WHERE i.status = 'running' "
                        "AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.instance_id = i.id AND t.state = 'ready')")
    stands: dict[tuple[str, int], list[str]] = {}
    for key, case, where in open_steps + waiting:
        stands.setdefault((key, case), []).append(where)
    running = rows(url, "SELECT process_key, COUNT(*) FROM process_instances WHERE status = 'running' GROUP BY process_key")
    assert sum(count for _key, count in running) == OPEN == report["open_cases"]
    assert len(stands) == OPEN  # every open case has an open step or waits for a timer
    found: dict[str, set[tuple[str, ...]]] = {}
    for (key, _case), where in stands.items():
        found.setdefault(key, set()).add(tuple(sorted(where)))
    for key, stages in STAGES.items():
        assert sorted(found[key]) == sorted(stages), key
    assert set(found) == set(STAGES)


def test_two_finished_cases_for_each_open_one_with_their_whole_history(generated):
    url, report = generated
    by_status = Counter({(key, status): count for key, status, count in rows(
        url, "SELECT process_key, status, COUNT(*) FROM process_instances GROUP BY process_key, status")})
    assert sum(c for (_k, s), c in by_status.items() if s == "completed") == 2 * OPEN == report["finished_cases"]
    for key in STAGES:
        assert by_status[(key, "completed")] == pytest.approx(2 * by_status[(key, "running")], rel=0.1), key
    history = rows(url, """
        SELECT i.id, i.completed_at IS NOT NULL,
               (SELECT COUNT(*) FROM tasks t WHERE t.instance_id = i.id AND t.state = 'completed'),
               (SELECT COUNT(*) FROM tasks t WHERE t.instance_id = i.id AND t.state <> 'completed'),
               (SELECT COUNT(*) FROM timers m WHERE m.instance_id = i.id AND m.state = 'waiting'),
               (SELECT COUNT(*) FROM audit_events a WHERE a.instance_id = i.id AND a.event = 'case_registered'),
               (SELECT COUNT(*) FROM audit_events a WHERE a.instance_id = i.id AND a.event = 'task_completed'
                  AND a.task_id IN (SELECT t.id FROM tasks t WHERE t.instance_id = i.id))
        FROM process_instances i WHERE i.status = 'completed'""")
    assert len(history) == 2 * OPEN
    for case, closed, done, not_done, timers, registered, completed_events in history:
        assert closed and done > 0 and not_done == 0 and timers == 0, case
        assert registered == 1 and completed_events == done, case  # each completed step has its audit event


def test_every_copy_has_its_own_number_and_step_ids(generated):
    url, _report = generated
    [(numbers, distinct_numbers)] = rows(url, "SELECT COUNT(*), COUNT(DISTINCT number) FROM process_instances")
    [(steps, distinct_steps)] = rows(url, "SELECT COUNT(*), COUNT(DISTINCT spiff_id) FROM tasks")
    assert numbers == distinct_numbers == 3 * OPEN
    assert steps == distinct_steps


def test_copies_load_through_the_engine_and_a_new_case_gets_a_fresh_number(generated):
    url, report = generated
    assert report["verified"]["mismatched"] == []
    assert set(report["verified"]["checked"]) == set(STAGES)
    settings = Settings(database_url=url, controlled_clock=True)
    db = Database(url)
    try:
        assert generate.verify(db, settings, 5, seed=1)["mismatched"] == []
        with db.unit_of_work() as uow:
            clerk = users.actor_of(users.by_login(uow, "programs_dept"))
            from bench.samples import APPLICATION
            case = cases.start_case(uow, clerk, Context(settings, FixedClock(generate.NOW)), "address_aid", APPLICATION)
            uow.commit()
            number = case.number
    finally:
        db.dispose()
    assert rows(url, f"SELECT COUNT(*) FROM process_instances WHERE number = '{number}'") == [(1,)]


def test_the_sla_tallies_of_a_generated_department_agree_with_its_rows(generated: tuple[str, dict]) -> None:
    """The load bypasses the triggers that keep the tallies (on PostgreSQL); counted afresh after it,
    the managers' figures read from them are those the rows give."""
    from marshrut.engine import sla

    url, _report = generated
    db = Database(url)
    try:
        with db.unit_of_work() as uow:
            tallied, counted = sla.summary(uow, generate.NOW), sla.summary_from_rows(uow, generate.NOW)
        assert sum(s["total"] for s in tallied["steps"]) >= OPEN
        for figures in (tallied, counted):
            figures["steps"] = [{k: v for k, v in s.items() if k != "name"} for s in figures["steps"]]
        assert tallied == counted
    finally:
        db.dispose()
