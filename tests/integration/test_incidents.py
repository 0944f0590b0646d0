"""Incidents (SPEC §6.1): automatic work that fails after a person's step keeps the step, opens an
incident at the failing element and notifies the admins; a fixed version, a migration and a
retry move the case on."""

import pytest
from sqlalchemy import select

from marshrut.engine import definitions, evaluator, incidents, migration, queries, runtime
from marshrut.engine.errors import Conflict, EngineError, Forbidden
from marshrut.engine.models import AuditEvent, Incident, Instance, Notification, Task, Timer
from marshrut.engine.operation import operation
from tests.conftest import kyiv
from tests.incident_diagrams import FAILING_CELL, FAILING_SCRIPT, FAILURE_TEXT, with_decision, with_script, with_timer_then_script, without_compute
from tests.integration.engine_walk import Walker
from tests.walks import ADDRESS_AID_STEPS, APPLICATION

# A script naming what does not exist; a decision cell written Camunda's way (`true`, not `True`).
BROKEN = [(with_script(FAILING_SCRIPT), FAILURE_TEXT), (with_decision(FAILING_CELL), FAILURE_TEXT)]


@pytest.fixture
def walker(db, settings, actors) -> Walker:
    return Walker(db, settings, actors).at(kyiv("2026-02-02 10:00"))


def deploy(walker: Walker, bundle: definitions.Bundle) -> int:
    with operation(walker.db, walker.settings) as (uow, ctx):
        row, _created = definitions.deploy(uow, bundle, "analyst", ctx.now())
        uow.commit()
        return row.version


def open_incidents(walker: Walker, case: int) -> list[Incident]:
    with operation(walker.db, walker.settings) as (uow, _ctx):
        return incidents.open_of(uow, case)


def task_rows(walker: Walker, case: int) -> dict[str, str]:
    with operation(walker.db, walker.settings) as (uow, _ctx):
        return {t.element_id: t.state for t in uow.session.scalars(select(Task).where(Task.instance_id == case))}


def retry(walker: Walker, incident_id: int, role: str = "admin") -> Incident:
    with operation(walker.db, walker.settings) as (uow, ctx):
        incident = incidents.retry(uow, walker.actors[role], ctx, incident_id)
        uow.commit()
        return incident


def migrate(walker: Walker, case: int, version: int, role: str = "analyst") -> None:
    with operation(walker.db, walker.settings) as (uow, ctx):
        migration.migrate_case(uow, walker.actors[role], ctx, case, version)
        uow.commit()


def version_of(walker: Walker, case: int) -> int:
    with operation(walker.db, walker.settings) as (uow, _ctx):
        return queries.definition_of(uow, uow.session.get(Instance, case)).version


@pytest.mark.parametrize(("broken", "error"), BROKEN, ids=["script", "decision_cell"])
def test_a_failure_after_a_step_keeps_the_step_and_opens_an_incident_at_the_failing_element(walker, broken, error):
    deploy(walker, broken)
    case = walker.start("mini", {"surname": "Коваль"})
    walker.complete(case, "step_one", {"done_on": "2026-02-02"})  # no longer raises

    assert task_rows(walker, case) == {"step_one": "completed"}
    assert walker.instance(case).status == "running"
    [incident] = open_incidents(walker, case)
    assert incident.element_id == "compute"
    assert error in incident.message
    assert incident.attempts == 1 and incident.resolved_at is None
    with operation(walker.db, walker.settings) as (uow, ctx):
        instance = uow.session.get(Instance, case)
        assert instance.data["done_on"] == "2026-02-02"  # the person's data is in the case
        workflow = runtime.load(instance.state, definitions.compiled(queries.definition_of(uow, instance)), ctx)
        assert runtime.failed_tasks(workflow) == [incident.spiff_id]
        notified = list(uow.session.scalars(select(Notification).where(Notification.breach == "incident")))
        assert [(n.recipient, n.task_id, n.instance_id) for n in notified] == [("admin", incident.id, case)]
        events = [e.event for e in uow.session.scalars(select(AuditEvent).where(AuditEvent.instance_id == case))]
        assert "task_completed" in events and "incident_opened" in events


def test_a_broken_version_is_fixed_its_case_migrated_and_retried_and_the_case_goes_on(walker):
    assert deploy(walker, without_compute()) == 1
    assert deploy(walker, with_script(FAILING_SCRIPT)) == 2
    case = walker.start("mini", {"surname": "Коваль"})
    walker.complete(case, "step_one", {"done_on": "2026-02-02"})
    [incident] = open_incidents(walker, case)

    again = retry(walker, incident.id)  # nothing fixed yet: fails again, counted
    assert again.resolved_at is None and again.attempts == 2
    assert walker.open_ids(case) == []

    with pytest.raises(migration.MissingSteps) as refused:  # version 1 has no `compute` for the case to stand at
        migrate(walker, case, 1)
    assert [e.path for e in refused.value.errors] == ["compute"]
    assert version_of(walker, case) == 2

    assert deploy(walker, with_script("x = len(surname)")) == 3
    migrate(walker, case, 3)
    assert version_of(walker, case) == 3
    assert len(open_incidents(walker, case)) == 1  # a migration repairs nothing by itself
    resolved = retry(walker, incident.id, role="analyst")
    assert resolved.resolved_at is not None and resolved.resolved_by == "analyst"
    assert open_incidents(walker, case) == []
    assert walker.open_ids(case) == ["step_two"]
    assert walker.instance(case).data["x"] == len("Коваль")
    walker.complete(case, "step_two", {"checked": True})
    assert walker.instance(case).status == "completed"
    with operation(walker.db, walker.settings) as (uow, _ctx):
        events = [(e.event, e.data.get("to_version")) for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == case).order_by(AuditEvent.id))]
    assert ("case_migrated", 3) in events and ("incident_resolved", None) in events


def test_a_resolved_incident_cannot_be_retried_and_only_admins_and_analysts_retry(walker):
    deploy(walker, with_script(FAILING_SCRIPT))
    case = walker.start("mini", {"surname": "Коваль"})
    walker.complete(case, "step_one", {"done_on": "2026-02-02"})
    [incident] = open_incidents(walker, case)
    with pytest.raises(Forbidden):
        retry(walker, incident.id, role="manager")
    with operation(walker.db, walker.settings) as (uow, ctx):
        from marshrut.engine import cases
        cases.cancel_case(uow, walker.actors["manager"], ctx, case, "Помилка в діаграмі")
        uow.commit()
    assert open_incidents(walker, case) == []  # a cancelled case leaves no open incident
    with pytest.raises(Conflict):
        retry(walker, incident.id)


def test_a_failure_after_a_timer_keeps_the_timer_fired_and_opens_an_incident(walker):
    deploy(walker, with_timer_then_script("2026-02-05T09:00:00+02:00", FAILING_SCRIPT))
    case = walker.start("mini", {"surname": "Коваль"})
    walker.complete(case, "step_one", {"done_on": "2026-02-02"})
    walker.at(kyiv("2026-02-05 10:00"))
    result = walker.tick()
    assert result.timers_fired == 1
    with operation(walker.db, walker.settings) as (uow, _ctx):
        [timer] = uow.session.scalars(select(Timer).where(Timer.instance_id == case))
        assert timer.state == "fired"
    [incident] = open_incidents(walker, case)
    assert incident.element_id == "compute"
    assert walker.tick().timers_fired == 0  # nothing left to fire: the case waits for the retry


def test_migrating_to_the_same_version_changes_nothing_and_a_finished_case_is_not_moved(walker):
    deploy(walker, without_compute())
    case = walker.start("mini", {"surname": "Коваль"})
    migrate(walker, case, 1)
    assert walker.open_ids(case) == ["step_one"]
    walker.complete(case, "step_one", {"done_on": "2026-02-02"})
    with pytest.raises(Conflict):
        migrate(walker, case, 1)


def test_a_case_waiting_for_the_committee_moves_to_a_new_version_keeping_its_timers_and_goes_on(deployed, settings, actors):
    walker = Walker(deployed, settings, actors).at(kyiv("2026-02-02 10:00"))
    case = walker.address_aid_to_committee()
    with operation(walker.db, walker.settings) as (uow, _ctx):
        waiting = {(t.spiff_id, t.element_id, t.fires_at) for t in queries.waiting_timers(uow, case)}
        current = definitions.latest(uow, "address_aid")
        bpmn, dmn, forms = current.bpmn_xml, current.dmn_xml, current.forms
    changed = bpmn.replace('name="Засідання виконавчого комітету"', 'name="Засідання виконкому"')
    assert changed != bpmn
    bundle = definitions.Bundle("address_aid.bpmn", changed.encode(), {k: v.encode() for k, v in dmn.items()}, forms)
    assert deploy(walker, bundle) == 2
    migrate(walker, case, 2)
    assert version_of(walker, case) == 2
    with operation(walker.db, walker.settings) as (uow, ctx):
        assert {(t.spiff_id, t.element_id, t.fires_at) for t in queries.waiting_timers(uow, case)} == waiting
        instance = uow.session.get(Instance, case)
        workflow = runtime.load(instance.state, definitions.compiled(queries.definition_of(uow, instance)), ctx)
        assert {(t.spiff_id, t.element_id, t.fires_at) for t in runtime.waiting_timers(workflow)} == waiting
    walker.at(kyiv("2026-02-18 09:30"))
    assert walker.tick().timers_fired == 1
    assert walker.open_ids(case) == ["record_committee_decision"]


def test_a_failing_gateway_condition_opens_an_incident_at_the_gateway(deployed, settings, actors):
    walker = Walker(deployed, settings, actors).at(kyiv("2026-02-02 10:00"))
    with operation(walker.db, walker.settings) as (uow, _ctx):
        current = definitions.latest(uow, "address_aid")
        bpmn, dmn, forms = current.bpmn_xml, current.dmn_xml, current.forms
    failing = bpmn.replace("package_complete == True<", "int(str(package_complete)) == 1<")  # int("True"): a ValueError
    assert failing != bpmn
    deploy(walker, definitions.Bundle("address_aid.bpmn", failing.encode(), {k: v.encode() for k, v in dmn.items()}, forms))
    case = walker.start("address_aid", APPLICATION)
    walker.complete(case, "accept_documents", ADDRESS_AID_STEPS["accept_documents"])
    [incident] = open_incidents(walker, case)
    assert incident.element_id == "package_check" and FAILURE_TEXT in incident.message
    assert task_rows(walker, case)["accept_documents"] == "completed"


class LimitHit(EngineError):
    """Stands for the sandbox's limit error (an EngineError, raised from inside the script's run)."""


def test_a_sandbox_limit_hit_in_a_script_is_an_incident_not_a_failed_completion(walker, monkeypatch):
    deploy(walker, with_script("x = 1"))
    case = walker.start("mini", {"surname": "Коваль"})

    def over_the_limit(self, script, context, external_context=None):
        raise LimitHit("Скрипт перевищив ліміт часу")

    monkeypatch.setattr(evaluator.RestrictedEnvironment, "execute", over_the_limit)
    walker.complete(case, "step_one", {"done_on": "2026-02-02"})
    [incident] = open_incidents(walker, case)
    assert incident.element_id == "compute" and "ліміт часу" in incident.message
    assert task_rows(walker, case) == {"step_one": "completed"}

    monkeypatch.undo()  # the limit no longer hit (say, raised by the operator): a retry goes on
    assert retry(walker, incident.id).resolved_at is not None
    assert walker.open_ids(case) == ["step_two"]
