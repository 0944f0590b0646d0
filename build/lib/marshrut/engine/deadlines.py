"""Deadline rules: step limits from the diagrams, a case's target and legal dates, SLA status.

SPEC §5 and ``bpmn/README.md`` (step properties ``days``, ``days_min``, ``calendar``,
``from``, ``deadline``, ``crisis_days``, ``crisis_hours``).  Calendar arithmetic lives in
:mod:`engine.business_calendar`; this module only decides what to count from and how.

A crisis limit in hours (Law "On social services", art. 21: екстрене (кризове) втручання
within one доба) runs to the minute: 24 hours from receipt, with no end-of-day rounding and
no shift off a day off; a term counted in hours ends when its last hour ends (Civil Code of
Ukraine, art. 253-254 count days, not hours).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from marshrut.engine.business_calendar import BusinessCalendar

CALENDARS = ("working", "calendar")
START_FROM = ("entered", "received")
DEADLINES = ("target", "legal", "year_end")

ON_TRACK, AT_RISK, OVERDUE, BREACHED = "on_track", "at_risk", "overdue", "breached"


@dataclass(frozen=True)
class StepLimit:
    """The time limit of one user task, as its ``camunda:properties`` give it."""

    days: int | None = None
    days_min: int | None = None
    calendar: str = "working"
    start_from: str = "entered"
    deadline: str | None = None
    crisis_days: int | None = None
    crisis_hours: int | None = None

    def __post_init__(self) -> None:
        """Refuse values the rules cannot apply."""
        for name in ("days", "days_min", "crisis_days", "crisis_hours"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"step limit '{name}' must be an integer, got {value!r}")
            if value is not None and value < 0:
                raise ValueError(f"step limit '{name}' cannot be negative, got {value}")
        _check_choice("calendar", self.calendar, CALENDARS)
        _check_choice("from", self.start_from, START_FROM)
        if self.deadline is not None:
            _check_choice("deadline", self.deadline, DEADLINES)
        if self.days_min is not None:
            if self.days is None:
                raise ValueError("step limit 'days_min' is given without 'days'")
            if self.days_min > self.days:
                raise ValueError(
                    f"step limit 'days_min' ({self.days_min}) is greater than 'days' ({self.days})"
                )

    @classmethod
    def from_properties(cls, props: Mapping[str, str]) -> StepLimit:
        """Build a limit from a user task's properties; blank or absent values take defaults."""
        values = {key: str(value).strip() for key, value in props.items() if value is not None}
        values = {key: value for key, value in values.items() if value}
        return cls(
            days=_parse_int("days", values.get("days")),
            days_min=_parse_int("days_min", values.get("days_min")),
            calendar=values.get("calendar", "working"),
            start_from=values.get("from", "entered"),
            deadline=values.get("deadline"),
            crisis_days=_parse_int("crisis_days", values.get("crisis_days")),
            crisis_hours=_parse_int("crisis_hours", values.get("crisis_hours")),
        )


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    """Refuse a value outside ``allowed``, naming the choices."""
    if value not in allowed:
        choices = ", ".join(allowed)
        raise ValueError(f"step limit '{name}' must be one of {choices}; got {value!r}")


def _parse_int(name: str, text: str | None) -> int | None:
    """Parse a non-negative whole number of days from a property value."""
    if text is None:
        return None
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"step limit '{name}' must be a whole number of days, got {text!r}")
    return int(text)


@dataclass(frozen=True)
class CaseDates:
    """When a case was received and when it is due (target: the card's norm; legal: the law's cap)."""

    received_at: datetime
    target_due: datetime | None
    legal_due: datetime | None
    #: The year the case is for (the plan's year from its start form); ``year_end`` counts to its 31 December.
    plan_year: int | None = None


def case_dates(
    calendar: BusinessCalendar,
    received_at: datetime,
    target_days: int | None,
    legal_days: int | None,
    kind: str = "calendar",
    crisis_hours: int | None = None,
) -> CaseDates:
    """Compute a case's target and legal due moments from receipt.

    ``kind`` is the process's ``calendar`` property: calendar days with the art. 254 shift
    (the default, as the card's 20 and 30 days), or working days (the roadmap's 10).
    ``crisis_hours``: the case is a crisis and the process gives it that many hours from
    receipt, to the minute, for both dates (the roadmap's 24 h, Law "On social services", art. 21).
    """
    _check_choice("calendar", kind, CALENDARS)
    calendar.local_date(received_at)  # refuses a naive moment with a clear message
    local = received_at.astimezone(calendar.tz)
    if crisis_hours is not None:
        due_at = _after_hours(calendar, local, crisis_hours)
        return CaseDates(received_at=local, target_due=due_at, legal_due=due_at)
    add = calendar.add_working_days if kind == "working" else calendar.add_calendar_days

    def due(days: int | None) -> datetime | None:
        return None if days is None else add(local, days)

    return CaseDates(received_at=local, target_due=due(target_days), legal_due=due(legal_days))


def step_due(
    calendar: BusinessCalendar,
    limit: StepLimit,
    entered_at: datetime,
    case: CaseDates,
    crisis: bool = False,
) -> datetime | None:
    """Return when a step falls due, or None when it has no limit.

    A ``deadline`` wins: target/legal give the case's dates, ``year_end`` the end of 31 December
    of the case's plan year, else of the year received (art. 254 shift).  For a crisis case ``crisis_hours`` (to the minute)
    or ``crisis_days`` apply when set.  Otherwise ``days`` are counted from the task's opening
    or the case's receipt.
    """
    if limit.deadline == "target":
        return case.target_due
    if limit.deadline == "legal":
        return case.legal_due
    if limit.deadline == "year_end":
        year = case.plan_year or calendar.local_date(case.received_at).year
        return calendar.end_of_day(calendar.next_working_day(date(year, 12, 31)))
    start = case.received_at if limit.start_from == "received" else entered_at
    if crisis and limit.crisis_hours is not None:
        return _after_hours(calendar, start, limit.crisis_hours)
    days = limit.crisis_days if crisis and limit.crisis_days is not None else limit.days
    if days is None:
        return None
    if limit.calendar == "calendar":
        return calendar.add_calendar_days(start, days)
    return calendar.add_working_days(start, days)


def _after_hours(calendar: BusinessCalendar, start: datetime, hours: int) -> datetime:
    """``hours`` real hours after ``start`` (counted in UTC, so a DST change does not shift it)."""
    return (start.astimezone(timezone.utc) + timedelta(hours=hours)).astimezone(calendar.tz)


def task_sla_status(
    now: datetime,
    started_at: datetime,
    due_at: datetime | None,
    at_risk_ratio: float = 0.75,
) -> str:
    """Return ``overdue`` after due, ``at_risk`` once the ratio of the span has passed, else ``on_track``."""
    if not 0 <= at_risk_ratio <= 1:
        raise ValueError(f"at_risk_ratio must be between 0 and 1, got {at_risk_ratio}")
    if due_at is None:
        return ON_TRACK
    if now > due_at:
        return OVERDUE
    if now - started_at >= (due_at - started_at) * at_risk_ratio:
        return AT_RISK
    return ON_TRACK


def case_sla_status(now: datetime, due: datetime | None, forecast: datetime | None) -> str:
    """Return ``breached`` after ``due``, ``at_risk`` when the forecast finish is later, else ``on_track``."""
    if due is None:
        return ON_TRACK
    if now > due:
        return BREACHED
    if forecast is not None and forecast > due:
        return AT_RISK
    return ON_TRACK
