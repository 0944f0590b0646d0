"""The business calendar: Kyiv time, Ukrainian working days and the committee's meeting days.

SPEC §5. Working days are Monday–Friday minus Ukraine's non-working public holidays as the
``holidays`` package gives them, plus the weekend days it marks as transferred working days;
a deployment adds its own days off (``extra_holidays``) and working days (``extra_working_days``).

Martial law: ``holidays`` 0.109 follows Law 2136-IX (in force from 2022-03-15), under which
public holidays are not days off.  ``country_holidays("UA")`` therefore gives, for 2022, only
1, 3 (observed), 7 January and 7–8 March, and for 2023 onwards (2023–2027 checked) no days
off at all: while martial law lasts a working day is simply Monday–Friday.  (The package
keeps the holidays themselves in its ``workday`` category, which we deliberately do not use.)
Years before 2022 carry the full list, e.g. 24 August 2021 (Independence Day) is a day off.

The end of martial law (``martial_law_until``, SPEC §5, ``MARSHRUT_MARTIAL_LAW_UNTIL``): the
days after that date follow the Labour Code again: the art. 73 holidays (the package's
``workday`` category, where it keeps them while martial law lasts) are days off, and one that
falls on a Saturday or Sunday moves the day off to the next working day (art. 67 part 3).
Transfers of working days (art. 67) are the government's yearly orders: configure them as
extra holidays and extra working days. Without an end date martial law is taken to last.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

#: The service's time zone.
KYIV = ZoneInfo("Europe/Kyiv")

_END_OF_DAY = time(23, 59, 59)
_MEETING_TIME = time(9, 0)
_WEDNESDAY = 2


_PACKAGE_YEARS: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
_PEACETIME_YEARS: dict[int, dict[date, date]] = {}
_PACKAGE_LOCK = threading.Lock()

MARTIAL_LAW, PEACETIME = "martial_law", "peacetime"
#: What managers are shown (SPEC §5: the regime in force).
REGIME_NAMES = {
    MARTIAL_LAW: "Воєнний стан (Закон № 2136-IX): святкові дні — робочі",
    PEACETIME: "Звичайний режим: святкові та неробочі дні за ст. 73 КЗпП — вихідні",
}


def _ukrainian_days(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, weekend working days) of ``year`` per the ``holidays`` package, built once per process.

    Every operation builds its own calendar; building the package's holidays costs about a
    millisecond, so the years are shared by all calendars (the extra days are applied on top).
    """
    cached = _PACKAGE_YEARS.get(year)
    if cached is None:
        with _PACKAGE_LOCK:
            cached = _PACKAGE_YEARS.get(year)
            if cached is None:
                ua = holidays.country_holidays("UA", years=year)
                cached = _PACKAGE_YEARS[year] = (frozenset(ua.keys()), frozenset(ua.weekend_workdays))
    return cached


def _labour_code_days_off(year: int) -> dict[date, date]:
    """Days off of ``year`` by the Labour Code (art. 73 holidays, art. 67 p. 3 weekend shift),
    each with the holiday it is for (a shifted Monday is off only if its holiday was)."""
    cached = _PEACETIME_YEARS.get(year)
    if cached is None:
        public = holidays.country_holidays("UA", years=year)
        workday = holidays.country_holidays("UA", years=year, categories=("workday",))
        days = {day: day for day in [*public.keys(), *workday.keys()]}
        for holiday in sorted(workday.keys()):
            if holiday.weekday() >= 5:
                shifted = holiday + timedelta(days=1)
                while shifted.weekday() >= 5 or shifted in days:
                    shifted += timedelta(days=1)
                days[shifted] = holiday
        with _PACKAGE_LOCK:
            cached = _PEACETIME_YEARS[year] = days
    return cached


class BusinessCalendar:
    """Working days, deadlines and meeting days in one time zone (Kyiv unless told)."""

    def __init__(
        self,
        tz: ZoneInfo = KYIV,
        extra_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        martial_law_until: date | None = None,
    ) -> None:
        """Build a calendar; the extra days override the package's rules for those dates.

        :param martial_law_until: the last day of martial law; None while it lasts.
        """
        self.tz = tz
        self.martial_law_until = martial_law_until
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_working_days = frozenset(extra_working_days)
        clash = self.extra_holidays & self.extra_working_days
        if clash:
            days = ", ".join(sorted(d.isoformat() for d in clash))
            raise ValueError(f"days given both as extra holidays and as extra working days: {days}")
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}

    def _package_days(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """Return (days off, weekend working days) of one year as the package gives them."""
        cached = self._years.get(year)
        if cached is None:
            cached = self._years[year] = _ukrainian_days(year)
        return cached

    def local_date(self, moment: datetime) -> date:
        """Return the calendar date of an aware moment in this calendar's time zone."""
        return self._localize(moment).date()

    def _localize(self, moment: datetime) -> datetime:
        """Convert an aware datetime to this calendar's zone; refuse naive ones."""
        if not isinstance(moment, datetime):
            raise TypeError(f"expected a datetime, got {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment.isoformat()}: a time zone is required")
        return moment.astimezone(self.tz)

    def _as_date(self, day: date) -> date:
        """Accept a date, or an aware datetime taken as its local date."""
        return self.local_date(day) if isinstance(day, datetime) else day

    def is_working_day(self, day: date) -> bool:
        """Tell whether ``day`` is a working day."""
        day = self._as_date(day)
        if day in self.extra_working_days:
            return True
        if day in self.extra_holidays:
            return False
        if self.martial_law_until is not None and day > self.martial_law_until:
            holiday = _labour_code_days_off(day.year).get(day)
            return day.weekday() < 5 and (holiday is None or holiday <= self.martial_law_until)
        days_off, weekend_workdays = self._package_days(day.year)
        if day.weekday() >= 5:
            return day in weekend_workdays
        return day not in days_off

    def regime(self, day: date) -> str:
        """``martial_law`` on and before ``martial_law_until`` (or while no end is set), else ``peacetime``."""
        day = self._as_date(day)
        if self.martial_law_until is None or day <= self.martial_law_until:
            return MARTIAL_LAW if day >= date(2022, 3, 15) else PEACETIME
        return PEACETIME

    def regime_in_force(self, day: date) -> dict[str, str | None]:
        """The regime of ``day`` as managers are shown it: code, Ukrainian name, last day of martial law."""
        code = self.regime(day)
        until = self.martial_law_until.isoformat() if self.martial_law_until else None
        return {"code": code, "name": REGIME_NAMES[code], "martial_law_until": until}

    def end_of_day(self, day: date) -> datetime:
        """Return 23:59:59 (microsecond 0) of ``day`` in this calendar's time zone."""
        return datetime.combine(self._as_date(day), _END_OF_DAY, tzinfo=self.tz)

    def next_working_day(self, day: date) -> date:
        """Return ``day`` itself if it is a working day, else the next working day."""
        day = self._as_date(day)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Return the end of the ``days``-th working day after ``start``'s local date.

        The start day itself does not count; 0 days means the end of the start day, or of
        the next working day when the start day is not one.
        """
        _check_days(days)
        day = self.local_date(start)
        if days == 0:
            return self.end_of_day(self.next_working_day(day))
        while days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return self.end_of_day(day)

    def add_calendar_days(self, start: datetime, days: int) -> datetime:
        """Return the end of local date + ``days``, moved to the next working day (ЦК art. 254 p. 5)."""
        _check_days(days)
        day = self.local_date(start) + timedelta(days=days)
        return self.end_of_day(self.next_working_day(day))

    def working_days_between(self, start: date, end: date) -> int:
        """Count the working days in (start, end]; 0 when ``end`` is not after ``start``."""
        start, end = self._as_date(start), self._as_date(end)
        count, day = 0, start + timedelta(days=1)
        while day <= end:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def next_committee_meeting(self, after: date) -> date:
        """Return the first 1st-or-3rd Wednesday of a month strictly after ``after`` that is a
        working day (a Wednesday that is a day off, e.g. an extra holiday, is skipped)."""
        after = self._as_date(after)
        year, month = after.year, after.month
        while True:
            first = date(year, month, 1)
            first_wednesday = first + timedelta(days=(_WEDNESDAY - first.weekday()) % 7)
            for meeting in (first_wednesday, first_wednesday + timedelta(weeks=2)):
                if meeting > after and self.is_working_day(meeting):
                    return meeting
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def latest_endorsement_day(self, legal_due: datetime, after_meeting_days: int) -> date | None:
        """The last working day a draft can be endorsed and still reach a committee meeting from
        which ``after_meeting_days`` working days (recording the decision) end by ``legal_due``.

        The meeting sits strictly after the endorsement day, so the answer is the last working
        day before the latest such meeting; None when no meeting fits.
        """
        last_day = self.local_date(legal_due)
        meeting, fitting = self.next_committee_meeting(last_day - timedelta(days=70)), None
        while meeting <= last_day:
            if self.add_working_days(datetime.combine(meeting, _MEETING_TIME, tzinfo=self.tz), after_meeting_days) <= legal_due:
                fitting = meeting
            meeting = self.next_committee_meeting(meeting)
        if fitting is None:
            return None
        day = fitting - timedelta(days=1)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def committee_meeting_start(self, after: date) -> datetime:
        """Return 09:00 (this calendar's zone) of the next committee meeting after ``after``."""
        return datetime.combine(self.next_committee_meeting(after), _MEETING_TIME, tzinfo=self.tz)


def _check_days(days: int) -> None:
    """Refuse a day count that is not a non-negative integer."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError(f"a number of days must be an integer, got {days!r}")
    if days < 0:
        raise ValueError(f"a number of days cannot be negative, got {days}")
