"""Where "now" comes from: the system clock, or a controlled clock kept in the database.

The controlled clock (as Zeebe's) lets tests and demos move time; its value lives in the
database so the API processes and the worker agree on it.
"""

from datetime import datetime, timezone
from typing import Protocol

from marshrut.engine.business_calendar import KYIV


class Clock(Protocol):
    """Anything that tells the current moment (timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, in Kyiv time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc).astimezone(KYIV)


class FixedClock:
    """A clock that says what it is told; for tests and for answering "as of" questions."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment.astimezone(KYIV)


CLOCK_SETTING = "controlled_clock"


def read_controlled_moment(value: str | None) -> datetime | None:
    """Parse the stored controlled-clock value (ISO 8601 with offset), if any."""
    return datetime.fromisoformat(value).astimezone(KYIV) if value else None
