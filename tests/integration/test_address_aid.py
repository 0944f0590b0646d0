"""The address-aid card walked end to end on a real database, with the controlled clock."""

import pytest

from marshrut.engine import audit, queries
from marshrut.engine.errors import Conflict, Forbidden, InvalidInput
from marshrut.engine.operation import operation
from tests.conftest import kyiv
from tests.integration.engine_walk import Walker
from tests.walks import ADDRESS_AID_STEPS, APPLICATION, REFUSED

@pytest.fixture
def walker(deployed, settings, actors) -> Walker:
    return Walker(deployed, settings, actors).at(kyiv("2026-02-02 10:00"))


def test_a_registered_case_gets_a_number_its_target_and_legal_dates_and_the_first_step(walker):
    case = walker.start("address_aid", APPLICATION)
    instance = walker.instance(case)
    assert instance.number == "АД-2026-000001"
    assert instance.status == "running"
    assert walker.open_ids(case) == ["accept_documents"]
    task = walker.open_tasks(case)[0]
    assert (task.role, task.action) == ("programs_dept", "В")
    assert task.due_at.isoformat() == "2026-02-03T21:59:59+00:00"  # end of Tue 3 Feb in Kyiv


def test_target_and_legal_dates_follow_the_spec_example(walker, settings):
    case = walker.start("address_aid", APPLICATION)
    with operation(walker.db, settings) as (uow, ctx):
        instance = queries.must_find(uow.session.get(queries.Instance, case), "case")
        assert ctx.calendar.local_date(instance.target_due).isoformat() == "2026-02-23"
        assert ctx.calendar.local_date(instance.legal_due).isoformat() == "2026-03-04"


def test_granted_case_runs_through_the_committee_registers_and_notice(walker):
    case = walker.address_aid_to_committee()
    assert walker.open_ids(case) == []
    with operation(walker.db, walker.settings) as (uow, ctx):
        timers = queries.waiting_timers(uow, case)
    committee = next(t for t in timers if t.element_id == "wait_committee_meeting")
    assert committee.fires_at == kyiv("2026-02-18 09:00")

    walker.at(kyiv("2026-02-18 08:59"))
    assert walker.tick().timers_fired == 0
    walker.at(kyiv("2026-02-18 09:00"))
    assert walker.tick().timers_fired == 1
    assert walker.tick().timers_fired == 0  # a second pass fires nothing again
    assert walker.open_ids(case) == ["record_committee_decision"]

    walker.complete(case, "record_committee_decision", ADDRESS_AID_STEPS["record_committee_decision"])
    assert walker.open_ids(case) == ["prepare_payment_registers"]
    registers = walker.open_tasks(case)[0]
    assert registers.role == "accounting_head"
    assert registers.participants == [{"role": "programs_head", "action": "У"}]
    assert walker.instance(case).target_due == registers.due_at

    walker.complete(case, "prepare_payment_registers", ADDRESS_AID_STEPS["prepare_payment_registers"])
    walker.complete(case, "notify_applicant", ADDRESS_AID_STEPS["notify_applicant"])
    instance = walker.instance(case)
    assert instance.status == "completed"
    assert instance.data["decision"] == "granted"
    assert instance.data["eligibility_recommendation"] == "grant"
    with operation(walker.db, walker.settings) as (uow, _ctx):
        assert queries.waiting_timers(uow, case) == []  # escalations withdrawn with the case


def test_refused_case_skips_the_registers_and_goes_to_the_notice(walker):
    case = walker.address_aid_to_committee()
    walker.at(kyiv("2026-02-18 10:00")).tick()
    walker.complete(case, "record_committee_decision", REFUSED)
    assert walker.open_ids(case) == ["notify_applicant"]
    walker.complete(case, "notify_applicant", ADDRESS_AID_STEPS["notify_applicant"])
    assert walker.instance(case).status == "completed"


def test_incomplete_package_returns_the_case_with_what_is_missing(walker):
    case = walker.start("address_aid", APPLICATION)
    missing = ["Довідка про доходи всіх членів сім’ї за останні 3 місяці"]
    walker.complete(case, "accept_documents", {"package_complete": False, "missing_documents": missing})
    instance = walker.instance(case)
    assert instance.status == "returned"
    assert instance.data["missing_documents"] == missing
    assert walker.open_ids(case) == []
    with operation(walker.db, walker.settings) as (uow, _ctx):
        assert queries.waiting_timers(uow, case) == []
        events = [e.event for e in audit.history(uow, case)]
    assert "timer_fired" not in events  # the escalations were withdrawn, not fired
    assert events[-1] == "case_finished"


def test_incomplete_package_without_the_list_is_refused_and_changes_nothing(walker):
    case = walker.start("address_aid", APPLICATION)
    with pytest.raises(InvalidInput) as error:
        walker.complete(case, "accept_documents", {"package_complete": False})
    assert any(e.path.startswith("/missing_documents") for e in error.value.errors)
    assert walker.open_ids(case) == ["accept_documents"]
    assert walker.instance(case).status == "running"


def test_income_above_130_percent_of_the_minimum_is_recommended_for_refusal(walker):
    rich = {**APPLICATION, "family_members": 1, "total_income_3m": 3 * 3400}  # 3400 > 1.3 × 2595
    case = walker.start("address_aid", rich)
    walker.complete(case, "accept_documents", {"package_complete": True})
    walker.complete(case, "form_personal_file", ADDRESS_AID_STEPS["form_personal_file"])
    data = walker.instance(case).data
    assert data["subsistence_minimum"] == 2595
    assert data["eligibility_recommendation"] == "refuse"


def test_the_minimum_in_force_on_the_day_of_receipt_is_used(walker):
    case = walker.start("address_aid", {**APPLICATION, "family_members": 1, "total_income_3m": 3 * 3000},
                        received_at=kyiv("2025-06-02 10:00"))
    walker.complete(case, "accept_documents", {"package_complete": True})
    walker.complete(case, "form_personal_file", ADDRESS_AID_STEPS["form_personal_file"])
    data = walker.instance(case).data
    assert data["subsistence_minimum"] == 2361
    assert data["eligibility_recommendation"] == "grant"  # 3000 ≤ 1.3 × 2361 = 3069.3


def test_only_the_executing_role_may_complete_a_step(walker, actors):
    case = walker.start("address_aid", APPLICATION)
    with pytest.raises(Forbidden):
        walker.complete(case, "accept_documents", {"package_complete": True}, as_role="director")
    with pytest.raises(Forbidden):
        walker.complete(case, "accept_documents", {"package_complete": True}, as_role="manager")


def test_a_participant_sees_the_registers_step_but_cannot_complete_it(walker):
    case = walker.address_aid_to_committee()
    walker.at(kyiv("2026-02-18 10:00")).tick()
    walker.complete(case, "record_committee_decision", ADDRESS_AID_STEPS["record_committee_decision"])
    with pytest.raises(Forbidden):
        walker.complete(case, "prepare_payment_registers", ADDRESS_AID_STEPS["prepare_payment_registers"],
                        as_role="programs_head")
    with operation(walker.db, walker.settings) as (uow, ctx):
        visible = queries.list_tasks(uow, walker.actors["programs_head"], ctx.now(), everything=True)
    assert [t.element_id for t in visible.items] == ["prepare_payment_registers"]


def test_completing_a_step_twice_is_a_conflict(walker):
    case = walker.start("address_aid", APPLICATION)
    task = walker.complete(case, "accept_documents", {"package_complete": True})
    from marshrut.engine import cases

    with operation(walker.db, walker.settings) as (uow, ctx), pytest.raises(Conflict):
        cases.complete_task(uow, walker.actors["programs_dept"], ctx, task.id, {"package_complete": True})


def test_escalation_timers_fire_on_the_target_and_legal_dates_without_ending_the_case(walker):
    case = walker.start("address_aid", APPLICATION)
    walker.at(kyiv("2026-02-24 00:00"))
    assert walker.tick().timers_fired == 1
    assert walker.instance(case).status == "running"
    walker.at(kyiv("2026-03-05 00:00"))
    assert walker.tick().timers_fired == 1
    assert walker.open_ids(case) == ["accept_documents"]


def _walk_until(walker, case, last):
    steps = list(ADDRESS_AID_STEPS)
    for element_id in steps[: steps.index(last)]:
        walker.complete(case, element_id, ADDRESS_AID_STEPS[element_id])


def test_a_director_s_not_approved_sends_the_package_back_to_the_org_specialist_with_the_reason(walker):
    # Was: "not approved" changed nothing, the case went on to the executor (SPEC §3.1).
    case = walker.start("address_aid", APPLICATION)
    _walk_until(walker, case, "director_resolution")
    walker.complete(case, "director_resolution", {"approved": False, "resolution": "Бракує акта обстеження"})
    [back] = walker.open_tasks(case)
    assert (back.element_id, back.role) == ("send_to_director", "org_specialist")
    assert back.inputs == {"approved": False, "resolution": "Бракує акта обстеження"}  # the reason comes with it
    assert walker.instance(case).data["resolution"] == "Бракує акта обстеження"
    walker.complete(case, "send_to_director", ADDRESS_AID_STEPS["send_to_director"])
    assert walker.open_ids(case) == ["director_resolution"]
    walker.complete(case, "director_resolution", ADDRESS_AID_STEPS["director_resolution"])
    assert walker.open_ids(case) == ["send_to_executor"]


def test_a_refused_endorsement_sends_the_draft_back_to_the_deputy_head_not_to_the_committee(walker):
    # Was: a refused endorsement still waited for the committee (SPEC §3.1).
    case = walker.start("address_aid", APPLICATION)
    _walk_until(walker, case, "endorse_draft_decision")
    walker.complete(case, "endorse_draft_decision", {"endorsed": False, "comment": "Уточнити суму"})
    [back] = walker.open_tasks(case)
    assert (back.element_id, back.role) == ("draft_committee_decision", "programs_deputy")
    assert back.inputs == {"endorsed": False, "comment": "Уточнити суму"}
    with operation(walker.db, walker.settings) as (uow, _ctx):
        assert [t.element_id for t in queries.waiting_timers(uow, case) if not t.escalation] == []
    walker.complete(case, "draft_committee_decision", ADDRESS_AID_STEPS["draft_committee_decision"])
    walker.complete(case, "endorse_draft_decision", ADDRESS_AID_STEPS["endorse_draft_decision"])
    assert walker.open_ids(case) == []
    with operation(walker.db, walker.settings) as (uow, _ctx):
        assert [t.element_id for t in queries.waiting_timers(uow, case) if not t.escalation] == ["wait_committee_meeting"]
