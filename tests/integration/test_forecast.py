"""The forecast finish of a case: remaining steps at their upper limits, committee wait included."""

import pytest

from engine import queries
from engine.operation import operation
from tests.conftest import kyiv
from tests.integration.engine_walk import Walker
from tests.walks import ADDRESS_AID_STEPS, APPLICATION, ROADMAP_APPLICATION, ROADMAP_STEPS


@pytest.fixture
def walker(deployed, settings, actors) -> Walker:
    return Walker(deployed, settings, actors).at(kyiv("2026-02-02 10:00"))


def forecast_date(walker: Walker, case: int) -> str:
    with operation(walker.db, walker.settings) as (uow, ctx):
        instance = queries.must_find(uow.session.get(queries.Instance, case), "case")
        return ctx.calendar.local_date(instance.forecast_at).isoformat()


def test_a_new_address_aid_case_is_forecast_at_the_upper_limits_of_every_card_row(walker):
    case = walker.start("address_aid", APPLICATION)
    # 1+1+4+2+2+1+4+2+2+2 working days from Mon 2 Feb ends Tue 3 Mar; the committee then
    # sits on Wed 4 Mar; recording the decision takes a working day: Thu 5 Mar.
    assert forecast_date(walker, case) == "2026-03-05"


def test_the_forecast_waits_for_the_committee_meeting_after_endorsement(walker):
    case = walker.start("address_aid", APPLICATION)
    for element_id in list(ADDRESS_AID_STEPS)[:10]:
        if element_id == "endorse_draft_decision":
            walker.at(kyiv("2026-02-12 15:00"))
        walker.complete(case, element_id, ADDRESS_AID_STEPS[element_id])
    with operation(walker.db, walker.settings) as (uow, _ctx):
        meeting = next(t for t in queries.waiting_timers(uow, case) if t.element_id == "wait_committee_meeting")
    assert meeting.fires_at == kyiv("2026-02-18 09:00")
    # decision recorded by Thu 19 Feb; registers and notice are due "within 20 days", on the target date
    assert forecast_date(walker, case) == "2026-02-23"


def test_a_roadmap_case_is_measured_until_the_decision(walker):
    case = walker.start("social_services_roadmap", ROADMAP_APPLICATION, as_role="dept_specialist")
    # decide is due 10 working days from receipt, whatever comes before it
    assert forecast_date(walker, case) == "2026-02-16"
    walker.complete(case, "register_application", ROADMAP_STEPS["register_application"])
    walker.complete(case, "assess_needs", ROADMAP_STEPS["assess_needs"])
    walker.at(kyiv("2026-02-05 12:00"))
    walker.complete(case, "decide", ROADMAP_STEPS["decide"])
    instance = walker.instance(case)
    assert instance.sla_met_at == kyiv("2026-02-05 12:00")
    assert forecast_date(walker, case) == "2026-02-05"
