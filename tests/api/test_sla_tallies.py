"""The tallies the managers' views read agree with counting the rows, on both backends: after
cases are registered, walked, cancelled; at moments whose hour holds the very dates being
judged; before and after the worker folds the changes; and after a rebuild from the rows."""

import random
import statistics
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from marshrut.engine import queries, sla, sla_tallies, users, worker
from marshrut.engine.models import Instance, Task, User
from marshrut.engine.store import Database
from tests.api.conftest import Http
from tests.conftest import kyiv
from tests.walks import ADDRESS_AID_STEPS, APPLICATION

MICRO = timedelta(microseconds=1)


def _db(api: Http) -> Database:
    return api.client.application.extensions["marshrut"]["db"]


def _walk(api: Http, case_id: int, steps: int) -> None:
    """Complete up to ``steps`` of the case's ready steps, each by its role, as staff would."""
    manager = api.as_("manager")
    for _ in range(steps):
        ready = manager.get("/tasks", query={"all": "true", "instance_id": case_id}).json["items"]
        ready = [t for t in ready if t["element_id"] in ADDRESS_AID_STEPS]
        if not ready:
            return
        task = ready[0]
        api.as_(task["role"]).complete(task["id"], ADDRESS_AID_STEPS[task["element_id"]])


def _department(api: Http) -> datetime:
    """Cases registered over two weeks, walked to different steps at odd minutes; one cancelled.
    Returns the moment of the last change."""
    rng = random.Random(7)
    clerk = api.as_("programs_dept")
    moment = kyiv("2026-02-02 09:13")
    ids = []
    for day in range(10):
        moment = kyiv("2026-02-02 09:13") + timedelta(days=day, minutes=rng.randint(0, 400))
        api.set_clock(moment)
        ids.append(clerk.start("address_aid", APPLICATION)["id"])
        for case_id in rng.sample(ids, min(3, len(ids))):
            moment += timedelta(minutes=rng.randint(7, 190))
            api.set_clock(moment)
            _walk(api, case_id, rng.randint(1, 3))
    moment += timedelta(minutes=5)
    api.set_clock(moment)
    api.as_("manager").post(f"/process-instances/{ids[1]}/cancel", json={"reason": "заява відкликана"})
    return moment


def _compare(db: Database, moment: datetime) -> None:
    """Every tallied figure at ``moment`` against the same figure counted from the rows."""
    with db.unit_of_work() as uow:
        tallied = sla.summary(uow, moment)
        counted = sla.summary_from_rows(uow, moment)
        for figures in (tallied, counted):
            figures["steps"] = sorted(({k: v for k, v in s.items() if k != "name"} for s in figures["steps"]),
                                      key=lambda s: (s["process_key"], s["element_id"]))
        assert tallied == counted, moment
        fast = sla.overdue_page(uow, moment, 1, 5)
        slow = sla.overdue_page(uow, moment, 1, 5, now=moment + MICRO)  # a moment "before now": rows counted
        assert (fast.total_tasks, fast.total_instances) == (slow.total_tasks, slow.total_instances), moment
        for status in queries.CASE_SLA:
            counted_cases = uow.session.scalar(select(func.count()).select_from(Instance)
                                               .where(queries.case_sla_clause(status, moment)))
            found = sla.sla_counts.cases_with_sla(sla.sla_counts.snapshot(uow.session, moment), status)
            assert found == counted_cases, (moment, status)


def test_a_persons_task_list_is_counted_by_the_tallies_as_by_the_rows(api: Http) -> None:
    db = _db(api)
    last = _department(api)
    with db.engine.begin() as connection:  # steps further on: one with a participant (У), one bound to a provider
        for suffix, role, participants, provider in (("p", "accounting_head", ",programs_head,", None),
                                                      ("q", "provider", ",", "myloserdia")):
            connection.execute(text(
                "INSERT INTO tasks (instance_id, process_key, spiff_id, element_id, name, lane, role, action, participants, "
                "state, created_at, due_at, at_risk_at, participant_roles, inputs, provider_id, breach_recorded) "
                "SELECT instance_id, process_key, :spiff, element_id, name, lane, :role, action, participants, state, "
                "created_at, due_at, at_risk_at, :participants, inputs, :provider, breach_recorded FROM tasks "
                "WHERE state = 'ready' ORDER BY id LIMIT 1"),
                {"spiff": f"00000000-0000-0000-0000-00000000000{'1' if suffix == 'p' else '2'}", "role": role,
                 "participants": participants, "provider": provider})
    with db.unit_of_work() as uow:
        logins = uow.session.scalars(select(User.login).order_by(User.login)).all()
        assert len(logins) >= 7
        sizes = {}
        for login in logins:
            actor = users.by_login(uow, login)
            tallied = queries.list_tasks(uow, actor, last).total
            counted = queries.list_tasks(uow, actor, last, process_key="address_aid").total  # a filter: rows counted
            assert tallied == counted, login
            sizes[login] = tallied
    assert len({size for size in sizes.values()}) >= 3  # the lists differ: not all empty, not all everything


def _percentile(values: list[float], share: float) -> float:
    """PostgreSQL's percentile_cont."""
    values = sorted(values)
    rank = share * (len(values) - 1)
    below = int(rank)
    if below + 1 >= len(values):
        return values[below]
    return values[below] + (values[below + 1] - values[below]) * (rank - below)


def _durations_by_step(db: Database) -> dict[tuple[str, str], dict[str, Any]]:
    with db.unit_of_work() as uow:
        rows = uow.session.execute(select(Task.process_key, Task.element_id, Task.created_at, Task.completed_at, Task.due_at)
                                   .where(Task.state == "completed")).all()
    steps: dict[tuple[str, str], dict[str, Any]] = {}
    for pk, element_id, created, completed, due in rows:
        step = steps.setdefault((pk, element_id), {"minutes": [], "late": 0})
        step["minutes"].append(int((completed - created).total_seconds() // 60))
        step["late"] += int(due is not None and completed > due)
    return steps


def test_tallied_figures_agree_with_the_rows_at_every_moment(api: Http) -> None:
    db = _db(api)
    last = _department(api)
    with db.unit_of_work() as uow:
        open_dates = [d for d in uow.session.scalars(select(Task.due_at).where(Task.state == "ready")) if d]
        risk_dates = [d for d in uow.session.scalars(select(Task.at_risk_at).where(Task.state == "ready")) if d]
        case_dates = [d for row in uow.session.execute(select(Instance.target_due, Instance.legal_due)
                                                       .where(Instance.status == "running")) for d in row if d]
    assert len(open_dates) >= 5 and len(case_dates) >= 10
    # Now, later, and moments in the very hour of a due date, a turn to "at risk" and a case's date,
    # on both sides of it (those rows are judged one by one).
    moments = [last, last + timedelta(hours=5), last + timedelta(days=9)]
    for date in (min(d for d in open_dates if d > last), min(d for d in risk_dates if d > last),
                 min(d for d in case_dates if d > last), max(case_dates)):
        moments += [date - MICRO, date, date + MICRO]
    for moment in moments:
        _compare(db, moment)

    # The worker folds the changes: the same figures from one row per key.
    with db.engine.begin() as connection:
        folded = sla_tallies.compact(connection)
        assert folded > 0 and connection.execute(text("SELECT COUNT(*) FROM sla_tally_changes")).scalar() == 0
        kept = sorted(connection.execute(text("SELECT tally, process_key, element_id, bucket, amount FROM sla_tallies")).all())
    for moment in moments[:3]:
        _compare(db, moment)
    # ... which is what counting every row afresh gives.
    with db.engine.begin() as connection:
        sla_tallies.rebuild(connection)
        assert sorted(connection.execute(text("SELECT tally, process_key, element_id, bucket, amount FROM sla_tallies")).all()) == kept


def test_step_durations_are_the_percentiles_of_the_completed_steps_to_the_minute(api: Http) -> None:
    db = _db(api)
    _department(api)
    expected = _durations_by_step(db)
    got = {(s["process_key"], s["element_id"]): s for s in api.as_("manager").get("/sla/steps").json["items"]}
    assert set(got) == set(expected) and len(got) >= 3
    for key, step in expected.items():
        hours = [m / 60 for m in step["minutes"]]
        assert got[key]["completed"] == len(hours)
        assert got[key]["median_hours"] == round(_percentile(hours, 0.5), 2)
        assert got[key]["p90_hours"] == round(_percentile(hours, 0.9), 2)
        assert got[key]["share_late"] == round(step["late"] / len(hours), 4)
    assert statistics.fmean(len(s["minutes"]) for s in expected.values()) >= 2


def test_the_triggers_exist_at_the_newest_schema(api: Http) -> None:
    """A migration that rebuilds ``tasks`` or ``process_instances`` (SQLite's batch mode does)
    would drop their triggers without a word: the tallies would silently go stale."""
    db = _db(api)
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            names = connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars().all()
        else:
            names = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all()
    assert set(sla_tallies.trigger_names()) <= set(names)


def test_the_worker_vacuums_the_tally_tables_it_empties(api: Http, monkeypatch: pytest.MonkeyPatch) -> None:
    """The changes are a queue every pass empties, and every view reads it: on PostgreSQL its
    dead rows pile up until a vacuum, and autovacuum may be off or busy for hours with the big
    tables after a bulk load. So the worker vacuums both tally tables, at most once a minute."""
    db = _db(api)
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # as on a server with autovacuum off (and no race with it)
            for table in ("sla_tally_changes", "sla_tallies"):
                connection.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
    _department(api)
    settings = api.client.application.extensions["marshrut"]["settings"]
    with monkeypatch.context() as patched:  # an earlier test's pass may have vacuumed within the minute
        patched.setattr(sla_tallies, "VACUUM_EVERY_S", 0)
        first = worker.run_pass(db, settings)
    assert first.tally_changes > 0
    again = worker.run_pass(db, settings)
    with db.engine.connect() as connection:
        if connection.dialect.name != "postgresql":  # SQLite reuses a deleted row's page: no dead rows
            assert not first.vacuumed and not again.vacuumed
            return
        vacuumed = connection.execute(text(
            "SELECT relname FROM pg_stat_user_tables WHERE relid IN "
            "(CAST('sla_tally_changes' AS regclass), CAST('sla_tallies' AS regclass)) AND last_vacuum IS NOT NULL")).scalars()
        assert sorted(vacuumed) == ["sla_tallies", "sla_tally_changes"]
    assert first.vacuumed and not again.vacuumed  # the second pass, within the minute, leaves it
