"""The forecast finish of a case: remaining steps at their upper limits, committee wait included."""

import uuid
from datetime import datetime, timedelta

import pytest

from marshrut.engine import forecast, queries
from marshrut.engine.models import Task
from marshrut.engine.operation import operation
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


def test_without_history_a_new_address_aid_case_is_forecast_at_the_card_s_lower_limits(walker):
    case = walker.start("address_aid", APPLICATION)
    # Was: the upper limits. Now (SPEC §5) days_min where the card gives a range:
    # 1+1+3+2+1+1+3+1+1+1 = 15 working days from Mon 2 Feb ends Mon 23 Feb; the committee
    # then sits on Wed 4 Mar; recording the decision takes a working day: Thu 5 Mar.
    assert forecast_date(walker, case) == "2026-03-05"
    assert walker.instance(case).forecast_basis == "card"


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


# --- the forecast from history (SPEC §5: 80th percentile over 180 days, >= 20 samples) ---

ADDRESS_AID_TASKS = list(ADDRESS_AID_STEPS)


def add_history(walker: Walker, case: int, element_ids: list[str], durations: list[timedelta], done_at: datetime) -> None:
    """Completed steps of ``case`` (any case serves as their parent row), one per duration, done at ``done_at``."""
    with operation(walker.db, walker.settings) as (uow, _ctx):
        for element_id in element_ids:
            for duration in durations:
                uow.session.add(Task(
                    instance_id=case, process_key="address_aid", spiff_id=str(uuid.uuid4()), element_id=element_id,
                    name=element_id, role="programs_dept", action="В", participants=[], participant_roles=",",
                    state="completed", created_at=done_at - duration, completed_at=done_at, completed_by="history",
                    inputs={}))
        uow.commit()
    forecast.clear_history_cache()


def test_the_80th_percentile_is_interpolated_as_percentile_cont_on_both_backends(walker):
    parent = walker.start("address_aid", APPLICATION)
    # 25 durations of 1..25 hours: rank 0.8 * 24 = 19.2 between 20 h and 21 h -> 20.2 h
    add_history(walker, parent, ["register_application"], [timedelta(hours=h) for h in range(1, 26)], kyiv("2026-01-20 12:00"))
    # 21 durations of 1..21 days: rank 16 exactly -> 17 days
    add_history(walker, parent, ["director_resolution"], [timedelta(days=d) for d in range(1, 22)], kyiv("2026-01-20 12:00"))
    # 19 samples are not a history
    add_history(walker, parent, ["send_to_director"], [timedelta(hours=1)] * 19, kyiv("2026-01-20 12:00"))
    with operation(walker.db, walker.settings) as (uow, ctx):
        found = forecast.observed_durations(uow, "address_aid", ctx.now(), ctx.calendar)
    assert found == {"register_application": timedelta(hours=20, minutes=12), "director_resolution": timedelta(days=17)}


def test_steps_done_more_than_180_days_ago_or_today_are_not_history(walker):
    parent = walker.start("address_aid", APPLICATION)  # now Mon 2 Feb 2026 10:00
    add_history(walker, parent, ["register_application"], [timedelta(hours=1)] * 20, kyiv("2025-08-04 12:00"))  # 182 days back
    add_history(walker, parent, ["send_to_director"], [timedelta(hours=1)] * 20, kyiv("2026-02-02 09:00"))  # today
    add_history(walker, parent, ["director_resolution"], [timedelta(hours=3)] * 20, kyiv("2025-08-07 12:00"))  # 179 days back
    with operation(walker.db, walker.settings) as (uow, ctx):
        found = forecast.observed_durations(uow, "address_aid", ctx.now(), ctx.calendar)
    assert found == {"director_resolution": timedelta(hours=3)}


def test_a_new_case_on_a_quiet_department_with_fast_history_is_on_track(walker):
    parent = walker.start("address_aid", APPLICATION)
    add_history(walker, parent, ADDRESS_AID_TASKS, [timedelta(hours=2)] * 20, kyiv("2026-01-15 12:00"))
    case = walker.start("address_aid", APPLICATION)
    instance = walker.instance(case)
    # accept 12:00, then 9 steps of 2 h: endorsed Tue 3 Feb 06:00; committee Wed 4 Feb 09:00;
    # record, registers, notice 2 h each: Wed 4 Feb 15:00
    assert instance.forecast_at == kyiv("2026-02-04 15:00")
    assert instance.forecast_basis == "history"
    from marshrut.engine.views import case_sla
    assert case_sla(instance, instance.target_due, kyiv("2026-02-02 10:00")) == "on_track"


def test_a_late_endorsement_shows_at_risk_before_any_date_passes(walker):
    parent = walker.start("address_aid", APPLICATION)
    add_history(walker, parent, ADDRESS_AID_TASKS, [timedelta(hours=2)] * 20, kyiv("2026-01-15 12:00"))
    case = walker.start("address_aid", APPLICATION)  # Mon 2 Feb; target Mon 23 Feb, legal Wed 4 Mar
    walker.at(kyiv("2026-02-17 10:00"))
    for element_id in ADDRESS_AID_TASKS[:ADDRESS_AID_TASKS.index("endorse_draft_decision")]:
        walker.complete(case, element_id, ADDRESS_AID_STEPS[element_id])
    instance = walker.instance(case)
    # endorsed by 12:00 today would reach Wednesday's meeting (18 Feb)
    assert instance.forecast_at == kyiv("2026-02-18 15:00")
    from marshrut.engine.views import case_sla
    assert case_sla(instance, instance.target_due, kyiv("2026-02-17 10:00")) == "on_track"
    assert instance.data["endorse_by"] == "2026-03-03"  # last working day before the 4 Mar meeting

    walker.at(kyiv("2026-02-18 10:00"))  # endorsement still open, due Thu 19 Feb: nothing is late yet
    [endorse] = walker.open_tasks(case)
    assert endorse.due_at > kyiv("2026-02-18 10:00")
    walker.tick()
    instance = walker.instance(case)
    assert instance.forecast_at == kyiv("2026-03-04 15:00")  # next meeting after today: 4 Mar
    assert case_sla(instance, instance.target_due, kyiv("2026-02-18 10:00")) == "at_risk"
    assert case_sla(instance, instance.legal_due, kyiv("2026-02-18 10:00")) == "on_track"


def test_the_worker_stores_the_day_s_durations_once_and_requests_read_that_row(walker):
    from sqlalchemy import delete, select

    from marshrut.engine.models import Setting
    parent = walker.start("address_aid", APPLICATION)
    add_history(walker, parent, ["register_application"], [timedelta(hours=5)] * 20, kyiv("2026-01-20 12:00"))
    walker.tick()
    with operation(walker.db, walker.settings) as (uow, ctx):
        keys = list(uow.session.scalars(select(Setting.key).where(Setting.key.like("step_history:%"))))
        assert "step_history:address_aid:2026-02-02" in keys
        uow.session.execute(delete(Task).where(Task.completed_by == "history"))  # the history is gone from the rows…
        uow.commit()
    forecast.clear_history_cache()
    with operation(walker.db, walker.settings) as (uow, ctx):  # …but today's figures are the stored ones
        assert forecast.observed_durations(uow, "address_aid", ctx.now(), ctx.calendar) == {"register_application": timedelta(hours=5)}
    walker.tick()  # stored once a day: nothing new
    walker.at(kyiv("2026-02-03 10:00")).tick()  # the next day: recomputed, yesterday's row removed
    with operation(walker.db, walker.settings) as (uow, ctx):
        keys = list(uow.session.scalars(select(Setting.key).where(Setting.key.like("step_history:address_aid:%"))))
        assert keys == ["step_history:address_aid:2026-02-03"]
        assert forecast.observed_durations(uow, "address_aid", ctx.now(), ctx.calendar) == {}


def test_before_the_worker_stores_the_day_s_durations_requests_read_the_previous_day_s(walker):
    """A request never runs the history's aggregate (~30 s at a million cases) while a stored
    day exists: after midnight, until the worker's pass, yesterday's figures serve."""
    from sqlalchemy import delete

    parent = walker.start("address_aid", APPLICATION)
    add_history(walker, parent, ["register_application"], [timedelta(hours=5)] * 20, kyiv("2026-01-20 12:00"))
    walker.tick()  # stores 2 Feb
    with operation(walker.db, walker.settings) as (uow, _ctx):
        uow.session.execute(delete(Task).where(Task.completed_by == "history"))  # computed now, it would be {}
        uow.commit()
    forecast.clear_history_cache()
    walker.at(kyiv("2026-02-03 00:01"))  # the next day, before the worker's pass
    with operation(walker.db, walker.settings) as (uow, ctx):
        assert forecast.observed_durations(uow, "address_aid", ctx.now(), ctx.calendar) == {"register_application": timedelta(hours=5)}
    walker.tick()  # the worker stores 3 Feb, from the rows as they are now
    forecast.clear_history_cache()
    with operation(walker.db, walker.settings) as (uow, ctx):
        assert forecast.observed_durations(uow, "address_aid", ctx.now(), ctx.calendar) == {}
