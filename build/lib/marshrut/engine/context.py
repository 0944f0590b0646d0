"""What every use case is given besides its unit of work: settings, calendar and "now"."""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select

from marshrut.engine.business_calendar import BusinessCalendar
from marshrut.engine.clock import CLOCK_SETTING, Clock, FixedClock, SystemClock, read_controlled_moment
from marshrut.engine.config import Settings
from marshrut.engine.input_limits import check_moment
from marshrut.engine.models import Setting
from marshrut.engine.store import UnitOfWork


@dataclass
class Context:
    """Settings, the business calendar and the clock of one operation."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    calendar: BusinessCalendar = field(init=False)

    def __post_init__(self) -> None:
        self.calendar = BusinessCalendar(
            ZoneInfo(self.settings.timezone), self.settings.extra_holidays, self.settings.extra_working_days,
            self.settings.martial_law_until,
        )

    def now(self) -> datetime:
        return self.clock.now()


_SETTING_VALUE = select(Setting.value).where(Setting.key == bindparam("key"))


def resolve_clock(uow: UnitOfWork, settings: Settings) -> Clock:
    """The controlled clock's moment when enabled and set, else the system clock."""
    if settings.controlled_clock:  # read on every request: the value alone, no row object
        value = uow.session.execute(_SETTING_VALUE, {"key": CLOCK_SETTING}).scalar()
        moment = read_controlled_moment(value)
        if moment is not None:
            return FixedClock(moment)
    return SystemClock()


def set_controlled_clock(uow: UnitOfWork, moment: datetime) -> None:
    """Store the controlled clock's moment (the API and the worker read it from here).

    :raise InvalidInput: a moment outside 2000–2100, which would overflow every deadline.
    """
    check_moment(moment, "/now")
    row = uow.session.get(Setting, CLOCK_SETTING)
    if row is None:
        uow.session.add(Setting(key=CLOCK_SETTING, value=moment.isoformat()))
    else:
        row.value = moment.isoformat()
