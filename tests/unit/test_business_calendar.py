"""The business calendar (SPEC §5): working days, day limits, Kyiv time, committee meetings."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from marshrut.engine.business_calendar import KYIV, BusinessCalendar

CAL = BusinessCalendar()
UTC = timezone.utc


def kyiv(*args: int) -> datetime:
    return datetime(*args, tzinfo=KYIV)


def end_of(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 23, 59, 59, tzinfo=KYIV)


def test_kyiv_is_the_europe_kyiv_zone():
    assert KYIV == ZoneInfo("Europe/Kyiv")


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 6), True),  # Friday
        (date(2026, 2, 7), False),  # Saturday
        (date(2026, 2, 8), False),  # Sunday
        (date(2021, 8, 24), False),  # Independence Day, before martial law
        (date(2021, 1, 16), True),  # Saturday worked for the 8 January day off
        (date(2022, 3, 8), False),  # the last holiday before martial-law rules
        (date(2025, 8, 25), True),  # no days off under martial law (Independence Day observed)
        (date(2026, 1, 1), True),  # New Year's Day is worked under martial law
    ],
)
def test_working_days_follow_weekends_and_the_holidays_package(day, working):
    assert CAL.is_working_day(day) is working


def test_an_extra_holiday_is_not_a_working_day_and_an_extra_working_day_is():
    cal = BusinessCalendar(extra_holidays=(date(2026, 2, 9),), extra_working_days=(date(2026, 2, 7),))
    assert not cal.is_working_day(date(2026, 2, 9))
    assert cal.is_working_day(date(2026, 2, 7))
    assert cal.add_working_days(kyiv(2026, 2, 6, 10), 1) == end_of(2026, 2, 7)
    assert cal.add_working_days(kyiv(2026, 2, 7, 10), 1) == end_of(2026, 2, 10)


def test_a_day_both_extra_holiday_and_extra_working_day_is_refused():
    with pytest.raises(ValueError, match="2026-02-09"):
        BusinessCalendar(extra_holidays=[date(2026, 2, 9)], extra_working_days=[date(2026, 2, 9)])


def test_end_of_day_is_23_59_59_kyiv_with_no_microseconds():
    end = CAL.end_of_day(date(2026, 2, 2))
    assert end == kyiv(2026, 2, 2, 23, 59, 59)
    assert end.microsecond == 0 and end.tzinfo is KYIV
    assert end.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 2, 6), date(2026, 2, 6)),
        (date(2026, 2, 7), date(2026, 2, 9)),
        (date(2021, 8, 24), date(2021, 8, 25)),
    ],
)
def test_next_working_day_is_the_day_itself_or_the_next_that_works(day, expected):
    assert CAL.next_working_day(day) == expected


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (kyiv(2026, 2, 2, 9, 30), 1, end_of(2026, 2, 3)),  # the day itself does not count
        (kyiv(2026, 2, 6, 16, 0), 1, end_of(2026, 2, 9)),  # Friday + 1 -> Monday
        (kyiv(2026, 2, 7, 12, 0), 1, end_of(2026, 2, 9)),  # Saturday + 1 -> Monday
        (kyiv(2026, 2, 4, 8, 0), 4, end_of(2026, 2, 10)),  # across a weekend
        (kyiv(2026, 2, 27, 8, 0), 1, end_of(2026, 3, 2)),  # month end on a Friday
        (kyiv(2026, 12, 31, 12, 0), 1, end_of(2027, 1, 1)),  # year end: 1 Jan 2027 is worked
        (kyiv(2021, 8, 23, 12, 0), 1, end_of(2021, 8, 25)),  # over Independence Day 2021
        (kyiv(2021, 12, 30, 12, 0), 1, end_of(2021, 12, 31)),
        (kyiv(2021, 12, 31, 12, 0), 1, end_of(2022, 1, 4)),  # 1 Jan Sat, 3 Jan observed
        (kyiv(2026, 2, 7, 12, 0), 0, end_of(2026, 2, 9)),
        (kyiv(2026, 2, 6, 12, 0), 0, end_of(2026, 2, 6)),
    ],
)
def test_working_day_limit_ends_at_the_end_of_the_nth_working_day_after(start, days, expected):
    assert CAL.add_working_days(start, days) == expected


def test_a_late_utc_moment_already_in_the_next_kyiv_day_counts_from_the_kyiv_date():
    moment = datetime(2026, 2, 5, 22, 30, tzinfo=UTC)  # Thursday in UTC, Friday 00:30 in Kyiv
    assert CAL.local_date(moment) == date(2026, 2, 6)
    assert CAL.add_working_days(moment, 1) == end_of(2026, 2, 9)
    assert CAL.add_calendar_days(moment, 1) == end_of(2026, 2, 9)


def test_results_are_in_kyiv_whatever_the_zone_of_the_input():
    due = CAL.add_working_days(datetime(2026, 2, 2, 12, tzinfo=ZoneInfo("America/New_York")), 1)
    assert due.tzinfo is KYIV and due == end_of(2026, 2, 3)


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_days(datetime(2026, 2, 2, 12), 1)


def test_a_negative_number_of_days_is_refused():
    with pytest.raises(ValueError, match="negative"):
        CAL.add_calendar_days(kyiv(2026, 2, 2), -1)


@pytest.mark.parametrize(
    ("start", "days", "expected", "offset_hours"),
    [
        (kyiv(2026, 3, 27, 10), 1, end_of(2026, 3, 30), 3),  # clocks go forward Sun 29 March
        (kyiv(2026, 10, 23, 10), 1, end_of(2026, 10, 26), 2),  # clocks go back Sun 25 October
    ],
)
def test_a_dst_change_weekend_keeps_23_59_59_local_with_the_new_offset(
    start, days, expected, offset_hours
):
    due = CAL.add_working_days(start, days)
    assert due == expected
    assert due.utcoffset() == timedelta(hours=offset_hours)
    assert CAL.add_calendar_days(start, 2) == due  # Sunday -> Monday (art. 254)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (kyiv(2026, 2, 2, 10), 3, end_of(2026, 2, 5)),  # lands on a working day
        (kyiv(2026, 2, 2, 10), 5, end_of(2026, 2, 9)),  # lands on Saturday -> Monday
        (kyiv(2026, 2, 2, 10), 6, end_of(2026, 2, 9)),  # lands on Sunday -> Monday
        (kyiv(2026, 2, 2, 10), 20, end_of(2026, 2, 23)),  # SPEC: target
        (kyiv(2026, 2, 2, 10), 30, end_of(2026, 3, 4)),  # SPEC: legal
        (kyiv(2021, 8, 20, 10), 4, end_of(2021, 8, 25)),  # lands on Independence Day 2021
        (kyiv(2026, 2, 7, 10), 0, end_of(2026, 2, 9)),
    ],
)
def test_calendar_day_limit_moves_off_a_non_working_day_per_art_254(start, days, expected):
    assert CAL.add_calendar_days(start, days) == expected


def test_an_extra_holiday_moves_a_calendar_day_limit_on():
    cal = BusinessCalendar(extra_holidays=[date(2026, 2, 23)])
    assert cal.add_calendar_days(kyiv(2026, 2, 2, 10), 20) == end_of(2026, 2, 24)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 2, 2), date(2026, 2, 2), 0),
        (date(2026, 2, 2), date(2026, 2, 9), 5),  # Tue..Fri + Mon
        (date(2026, 2, 6), date(2026, 2, 8), 0),  # only the weekend
        (date(2021, 8, 20), date(2021, 8, 27), 3),  # minus 23 (transferred) and 24 August
        (date(2021, 8, 20), date(2021, 8, 28), 4),  # Saturday 28 August 2021 was worked
        (date(2026, 2, 9), date(2026, 2, 2), 0),  # end before start
    ],
)
def test_working_days_between_counts_the_half_open_interval(start, end, expected):
    assert CAL.working_days_between(start, end) == expected


@pytest.mark.parametrize(
    ("after", "meeting"),
    [
        (date(2026, 2, 12), date(2026, 2, 18)),  # SPEC: endorsed Thursday -> 3rd Wednesday
        (date(2026, 2, 4), date(2026, 2, 18)),  # on the 1st Wednesday -> the 3rd (strictly after)
        (date(2026, 2, 3), date(2026, 2, 4)),  # the day before the 1st Wednesday
        (date(2026, 2, 18), date(2026, 3, 4)),  # on the 3rd Wednesday -> next month's 1st
        (date(2026, 2, 19), date(2026, 3, 4)),  # after the 3rd Wednesday
        (date(2026, 4, 30), date(2026, 5, 6)),
        (date(2026, 12, 17), date(2027, 1, 6)),  # December -> January next year
        (date(2026, 12, 31), date(2027, 1, 6)),
    ],
)
def test_committee_meets_on_the_first_1st_or_3rd_wednesday_strictly_after(after, meeting):
    assert CAL.next_committee_meeting(after) == meeting
    assert meeting.weekday() == 2


def test_committee_meeting_starts_at_nine_kyiv():
    start = CAL.committee_meeting_start(date(2026, 2, 12))
    assert start == kyiv(2026, 2, 18, 9, 0)
    assert start.tzinfo is KYIV and start.utcoffset() == timedelta(hours=2)


def test_committee_meeting_after_a_moment_uses_its_kyiv_date():
    moment = datetime(2026, 2, 3, 22, 30, tzinfo=UTC)  # already Wednesday 4 Feb in Kyiv
    assert CAL.next_committee_meeting(moment) == date(2026, 2, 18)


# Item 6 (issue 12): a 1st/3rd Wednesday that is a day off is skipped. Dates from a 2026 calendar by hand:
# Wednesdays of May 2026: 6, 13, 20, 27 (1st = 6 May, 3rd = 20 May); of June: 3, 17; of Jan 2027: 6, 20.
@pytest.mark.parametrize(
    ("extra_holidays", "after", "meeting"),
    [
        ((date(2026, 5, 6),), date(2026, 5, 1), date(2026, 5, 20)),  # an extra holiday on the 1st Wednesday
        ((date(2026, 5, 20),), date(2026, 5, 6), date(2026, 6, 3)),  # on the 3rd: next month's 1st
        ((date(2026, 5, 6), date(2026, 5, 20)), date(2026, 4, 30), date(2026, 6, 3)),
        ((date(2027, 1, 6),), date(2026, 12, 16), date(2027, 1, 20)),  # across the year
        ((), date(2026, 5, 1), date(2026, 5, 6)),
    ],
)
def test_a_committee_wednesday_that_is_a_day_off_is_skipped(extra_holidays, after, meeting):
    assert BusinessCalendar(extra_holidays=extra_holidays).next_committee_meeting(after) == meeting


# Item 2: the latest day the draft can be endorsed to reach a meeting on or before the legal date.
@pytest.mark.parametrize(
    ("legal_due", "extra_holidays", "expected"),
    [
        (end_of(2026, 3, 4), (), date(2026, 3, 3)),  # legal Wed 4 Mar is a meeting day: endorse Tue 3 Mar
        (end_of(2026, 3, 3), (), date(2026, 2, 17)),  # the 18 Feb meeting is the last: endorse Tue 17 Feb
        (end_of(2026, 3, 4), (date(2026, 3, 3),), date(2026, 3, 2)),  # Tue 3 Mar off: endorse Mon 2 Mar
        (end_of(2026, 3, 4), (date(2026, 3, 4),), date(2026, 2, 17)),  # no meeting on a day off
        (end_of(2026, 3, 16), (), date(2026, 3, 3)),
    ],
)
def test_the_latest_endorsement_day_for_a_meeting_by_the_legal_date(legal_due, extra_holidays, expected):
    calendar = BusinessCalendar(extra_holidays=extra_holidays)
    assert calendar.latest_endorsement_day(legal_due, 0) == expected


def test_the_latest_endorsement_day_leaves_the_days_the_decision_needs_after_the_meeting():
    assert CAL.latest_endorsement_day(end_of(2026, 3, 4), 1) == date(2026, 2, 17)  # 4 Mar + 1 working day is too late


# Item 7: MARSHRUT_MARTIAL_LAW_UNTIL. 2026 by hand: Wed 15 Jul (Statehood Day), Mon 24 Aug
# (Independence Day), Thu 1 Oct (Defenders' Day), Fri 25 Dec (Christmas) are art. 73 holidays;
# Sun 28 Jun (Constitution Day) moves the day off to Mon 29 Jun (art. 67 p. 3).
@pytest.mark.parametrize(
    ("until", "day", "working"),
    [
        (date(2026, 8, 23), date(2026, 8, 24), False),  # the day after the end: a holiday again
        (date(2026, 8, 24), date(2026, 8, 24), True),  # the last day of martial law: still working
        (date(2026, 8, 23), date(2026, 8, 21), True),  # an ordinary Friday
        (date(2026, 6, 1), date(2026, 6, 29), False),  # Constitution Day on a Sunday -> Monday off
        (date(2026, 6, 28), date(2026, 6, 29), True),  # the holiday fell under martial law: no shift
        (date(2026, 6, 1), date(2026, 7, 15), False),
        (date(2026, 6, 1), date(2026, 10, 1), False),
        (date(2026, 6, 1), date(2026, 12, 25), False),
        (date(2026, 6, 1), date(2027, 1, 1), False),  # New Year 2027 (Friday)
        (date(2026, 6, 1), date(2027, 3, 8), False),  # Women's Day 2027 (Monday)
        (None, date(2026, 8, 24), True),  # no end date: martial law lasts
        (None, date(2027, 1, 1), True),
    ],
)
def test_after_martial_law_ends_the_labour_code_holidays_are_days_off(until, day, working):
    assert BusinessCalendar(martial_law_until=until).is_working_day(day) is working


def test_a_deadline_across_the_end_of_martial_law_skips_the_holiday_after_it():
    calendar = BusinessCalendar(martial_law_until=date(2026, 8, 23))
    # from Fri 21 Aug: Mon 24 Aug is off -> 2 working days end on Wed 26 Aug
    assert calendar.add_working_days(kyiv(2026, 8, 21, 10), 2) == end_of(2026, 8, 26)
    assert CAL.add_working_days(kyiv(2026, 8, 21, 10), 2) == end_of(2026, 8, 25)
    # 30 calendar days from Tue 25 Nov 2026 end on Fri 25 Dec (Christmas) -> Mon 28 Dec
    assert calendar.add_calendar_days(kyiv(2026, 11, 25, 10), 30) == end_of(2026, 12, 28)


def test_the_regime_in_force_changes_the_day_after_the_end_date():
    calendar = BusinessCalendar(martial_law_until=date(2026, 8, 23))
    assert (calendar.regime(date(2026, 8, 23)), calendar.regime(date(2026, 8, 24))) == ("martial_law", "peacetime")
    assert CAL.regime(date(2030, 1, 1)) == "martial_law"
