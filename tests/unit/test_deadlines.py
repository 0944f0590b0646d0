"""Deadline rules (SPEC §5, bpmn/README.md): step limits, case dates, SLA status."""

from datetime import datetime, timedelta, timezone

import pytest

from marshrut.engine.business_calendar import KYIV, BusinessCalendar
from marshrut.engine.deadlines import (
    CaseDates,
    StepLimit,
    case_dates,
    case_sla_status,
    step_due,
    task_sla_status,
)

CAL = BusinessCalendar()
RECEIVED = datetime(2026, 2, 2, 10, 15, tzinfo=KYIV)  # Monday
CASE = case_dates(CAL, RECEIVED, 20, 30)


def end_of(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 23, 59, 59, tzinfo=KYIV)


def test_case_dates_match_the_spec_example():
    assert CASE == CaseDates(
        received_at=RECEIVED, target_due=end_of(2026, 2, 23), legal_due=end_of(2026, 3, 4)
    )


def test_case_dates_take_the_kyiv_date_of_a_utc_receipt():
    received = datetime(2026, 2, 2, 22, 30, tzinfo=timezone.utc)  # Tuesday 00:30 in Kyiv
    case = case_dates(CAL, received, 20, 30)
    assert case.received_at == received and case.received_at.tzinfo is KYIV
    assert (case.target_due, case.legal_due) == (end_of(2026, 2, 23), end_of(2026, 3, 5))


def test_case_dates_without_limits_are_none():
    assert case_dates(CAL, RECEIVED, None, None) == CaseDates(RECEIVED, None, None)


def test_case_dates_refuse_a_naive_receipt():
    with pytest.raises(ValueError, match="naive"):
        case_dates(CAL, datetime(2026, 2, 2, 10), 20, 30)


def test_step_limit_reads_every_property():
    props = {"action": "В", "days": "4", "days_min": "3", "calendar": "calendar",
             "from": "received", "crisis_days": " 1 "}
    assert StepLimit.from_properties(props) == StepLimit(
        days=4, days_min=3, calendar="calendar", start_from="received", crisis_days=1
    )


def test_step_limit_defaults_without_properties():
    assert StepLimit.from_properties({}) == StepLimit()
    assert StepLimit.from_properties({"days": "", "deadline": " "}) == StepLimit()
    assert StepLimit.from_properties({"deadline": "year_end"}).deadline == "year_end"


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"days": "two"}, "'days' must be a whole number"),
        ({"days": "1.5"}, "'days' must be a whole number"),
        ({"days": "-1"}, "'days' must be a whole number"),
        ({"days_min": "x", "days": "2"}, "'days_min' must be a whole number"),
        ({"crisis_days": "1d"}, "'crisis_days' must be a whole number"),
        ({"crisis_hours": "24h"}, "'crisis_hours' must be a whole number"),
        ({"calendar": "business"}, "'calendar' must be one of working, calendar"),
        ({"from": "opened"}, "'from' must be one of entered, received"),
        ({"deadline": "soon"}, "'deadline' must be one of target, legal, year_end"),
        ({"days": "3", "days_min": "4"}, r"'days_min' \(4\) is greater than 'days' \(3\)"),
        ({"days_min": "3"}, "'days_min' is given without 'days'"),
    ],
)
def test_step_limit_refuses_a_bad_property_with_a_clear_message(props, message):
    with pytest.raises(ValueError, match=message):
        StepLimit.from_properties(props)


ENTERED = datetime(2026, 2, 6, 14, 0, tzinfo=KYIV)  # Friday


@pytest.mark.parametrize(
    ("limit", "crisis", "expected"),
    [
        (StepLimit(days=1), False, end_of(2026, 2, 9)),  # working days from entered
        (StepLimit(days=4, days_min=3), False, end_of(2026, 2, 12)),  # the upper limit counts
        (StepLimit(days=20, calendar="calendar", start_from="received"), False, end_of(2026, 2, 23)),
        (StepLimit(days=3, start_from="received"), False, end_of(2026, 2, 5)),
        (StepLimit(days=1, calendar="calendar"), False, end_of(2026, 2, 9)),  # Saturday -> Monday
        (StepLimit(deadline="target"), False, end_of(2026, 2, 23)),
        (StepLimit(deadline="legal"), False, end_of(2026, 3, 4)),
        (StepLimit(deadline="year_end"), False, end_of(2026, 12, 31)),  # a Thursday
        (StepLimit(days=4, crisis_days=1), True, end_of(2026, 2, 9)),
        (StepLimit(days=4, crisis_days=1), False, end_of(2026, 2, 12)),
        (StepLimit(days=4), True, end_of(2026, 2, 12)),  # no crisis limit -> the usual one
        (StepLimit(crisis_days=1), True, end_of(2026, 2, 9)),
        (StepLimit(crisis_days=1), False, None),
        (StepLimit(), False, None),
    ],
)
def test_step_due_for_each_kind_of_limit(limit, crisis, expected):
    assert step_due(CAL, limit, ENTERED, CASE, crisis=crisis) == expected


def test_year_end_deadline_moves_off_a_non_working_31_december():
    case = case_dates(CAL, datetime(2027, 3, 1, 9, tzinfo=KYIV), 20, 30)  # 31 Dec 2027 is a Friday
    assert step_due(CAL, StepLimit(deadline="year_end"), ENTERED, case) == end_of(2027, 12, 31)
    case = case_dates(CAL, datetime(2022, 3, 1, 9, tzinfo=KYIV), 20, 30)  # 31 Dec 2022 is a Saturday
    assert step_due(CAL, StepLimit(deadline="year_end"), ENTERED, case) == end_of(2023, 1, 2)


def test_target_deadline_is_none_when_the_process_sets_no_target():
    case = case_dates(CAL, RECEIVED, None, 30)
    assert step_due(CAL, StepLimit(deadline="target"), ENTERED, case) is None


START = datetime(2026, 2, 2, 0, 0, tzinfo=KYIV)
DUE = START + timedelta(hours=100)


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (0, "on_track"),
        (74, "on_track"),
        (75, "at_risk"),
        (100, "at_risk"),  # exactly at due_at is not yet overdue
        (100.001, "overdue"),
        (500, "overdue"),
    ],
)
def test_task_sla_status_by_share_of_time_used(hours, expected):
    assert task_sla_status(START + timedelta(hours=hours), START, DUE) == expected


def test_task_sla_ratio_is_configurable():
    now = START + timedelta(hours=60)
    assert task_sla_status(now, START, DUE, at_risk_ratio=0.5) == "at_risk"
    assert task_sla_status(now, START, DUE, at_risk_ratio=0.9) == "on_track"


def test_task_without_a_limit_is_on_track():
    assert task_sla_status(START + timedelta(days=400), START, None) == "on_track"


def test_task_sla_status_compares_moments_across_zones():
    now = (START + timedelta(hours=80)).astimezone(timezone.utc)
    assert task_sla_status(now, START, DUE) == "at_risk"


def test_task_sla_ratio_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="at_risk_ratio"):
        task_sla_status(START, START, DUE, at_risk_ratio=1.5)


@pytest.mark.parametrize(
    ("now", "forecast", "expected"),
    [
        (end_of(2026, 2, 10), end_of(2026, 2, 20), "on_track"),
        (end_of(2026, 2, 10), end_of(2026, 2, 23), "on_track"),  # finishing on the day is in time
        (end_of(2026, 2, 10), end_of(2026, 2, 24), "at_risk"),
        (end_of(2026, 2, 10), None, "on_track"),
        (end_of(2026, 2, 23), end_of(2026, 3, 4), "at_risk"),  # the last second is not yet late
        (end_of(2026, 2, 23) + timedelta(seconds=1), end_of(2026, 2, 20), "breached"),
    ],
)
def test_case_sla_status_against_the_target(now, forecast, expected):
    assert case_sla_status(now, CASE.target_due, forecast) == expected


def test_case_without_a_due_date_is_on_track():
    assert case_sla_status(end_of(2030, 1, 1), None, end_of(2030, 1, 2)) == "on_track"


# Crisis (екстрене/кризове втручання): one доба = 24 hours from receipt, to the minute
# (Law "On social services", art. 21). Expected moments written by hand, not computed.
@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (datetime(2026, 2, 6, 16, 0, tzinfo=KYIV), datetime(2026, 2, 7, 16, 0, tzinfo=KYIV)),  # Fri 16:00 -> Sat 16:00
        (datetime(2026, 2, 7, 9, 30, tzinfo=KYIV), datetime(2026, 2, 8, 9, 30, tzinfo=KYIV)),  # Sat -> Sun, no shift
        (datetime(2026, 2, 2, 23, 59, tzinfo=KYIV), datetime(2026, 2, 3, 23, 59, tzinfo=KYIV)),
        (datetime(2026, 3, 28, 12, 0, tzinfo=KYIV), datetime(2026, 3, 29, 13, 0, tzinfo=KYIV)),  # DST: 24 real hours
        (datetime(2026, 12, 31, 18, 5, tzinfo=KYIV), datetime(2027, 1, 1, 18, 5, tzinfo=KYIV)),
    ],
)
def test_a_crisis_decision_is_due_24_hours_after_receipt_to_the_minute(received, expected):
    case = case_dates(CAL, received, 10, 10, kind="working", crisis_hours=24)
    decide = StepLimit(days=10, start_from="received", crisis_hours=24)
    assert step_due(CAL, decide, received + timedelta(hours=2), case, crisis=True) == expected
    assert (case.target_due, case.legal_due) == (expected, expected)


def test_a_crisis_limit_in_hours_does_not_apply_to_an_ordinary_case():
    received = datetime(2026, 2, 6, 16, 0, tzinfo=KYIV)  # Friday
    case = case_dates(CAL, received, 10, 10, kind="working")
    decide = StepLimit(days=10, start_from="received", crisis_hours=24)
    assert step_due(CAL, decide, received, case, crisis=False) == end_of(2026, 2, 20)
    assert case.target_due == end_of(2026, 2, 20)


def test_a_crisis_limit_from_entering_counts_from_when_the_step_opened():
    entered = datetime(2026, 2, 6, 16, 30, tzinfo=KYIV)
    limit = StepLimit(days=1, crisis_hours=24)
    assert step_due(CAL, limit, entered, CASE, crisis=True) == datetime(2026, 2, 7, 16, 30, tzinfo=KYIV)
