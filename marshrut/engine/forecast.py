"""When will a case finish (or reach its ``sla_until`` step)? SPEC §5.

The longest path from where the case stands, including timer waits such as the next
committee meeting; escalation branches are watchers, not work, and are skipped. Each
remaining step takes the 80th percentile of how long that step really took in the last 180
days once at least 20 such steps were done (``history``), else its card limit, ``days_min``
where the card gives a range (``card``). The forecast says which: ``card`` as soon as one
step of it had to fall back to the card.

Observed durations come from one SQL aggregate per process and day (cached in the process):
``percentile_cont(0.8)`` on PostgreSQL; on SQLite, which has no ordered-set aggregates, the
same linear interpolation between the two order statistics around rank 0.8·(n−1), picked
with ``ROW_NUMBER``/``COUNT`` window functions.
"""

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from marshrut.engine.business_calendar import BusinessCalendar
from marshrut.engine.clock import FixedClock
from marshrut.engine.context import Context
from marshrut.engine.deadlines import CaseDates, StepLimit, case_dates, step_due
from marshrut.engine.diagram import DiagramFacts
from marshrut.engine.evaluator import engine_functions, evaluate
from marshrut.engine.models import Setting, Task
from marshrut.engine.store import UnitOfWork
from marshrut.engine.timers import fires_at

HISTORY, CARD = "history", "card"
#: SPEC §5: the percentile, the window and the fewest completed steps that make a history.
PERCENTILE, WINDOW_DAYS, MIN_SAMPLES = 0.8, 180, 20


@dataclass(frozen=True)
class Position:
    """Where the case stands: an open step or a waiting timer, and when it is expected done."""

    element_id: str
    done_at: datetime


@dataclass
class Forecast:
    """The expected finish, what it was built from, and when it starts to move with the clock."""

    finish: datetime | None
    basis: str
    review_at: datetime | None = None


class Forecaster:
    """Walks the diagram forward from the case's positions; one per case and moment.

    :param history: the observed 80th-percentile duration of each step that has one.
    """

    def __init__(self, facts: DiagramFacts, ctx: Context, dates: CaseDates, data: dict[str, Any],
                 history: dict[str, timedelta] | None = None) -> None:
        self.facts, self.ctx, self.dates, self.data = facts, ctx, dates, data
        self.history = history or {}
        self.until = facts.process_properties.get("sla_until") or None
        self.used_card = False
        self._done_at: dict[tuple[str, datetime], datetime] = {}  # paths rejoin: each (step, start) is worked out once

    @property
    def basis(self) -> str:
        return CARD if self.used_card else HISTORY

    def open_step_done(self, element_id: str, entered_at: datetime, now: datetime) -> datetime:
        """When an open step is expected done: its expected duration from its opening, not before now."""
        return max(now, self._step_end(element_id, entered_at))

    def finish(self, positions: Iterable[Position]) -> datetime | None:
        """The latest expected end over every path from every position (None: nothing ahead)."""
        ends = []
        for position in positions:
            if self.until and position.element_id == self.until:
                ends.append(position.done_at)
                continue
            ends.extend(e for t in self.facts.outgoing.get(position.element_id, []) if (e := self._walk(t, position.done_at, frozenset())))
        return max(ends) if ends else None

    def _walk(self, node: str, moment: datetime, seen: frozenset[str]) -> datetime | None:
        if node in seen or self.facts.properties.get(node, {}).get("escalation"):
            return None
        moment = self._after(node, moment)
        if self.until and node == self.until:
            return moment
        targets = self.facts.outgoing.get(node, [])
        if not targets:
            return None if self.until else moment
        ends = [e for t in targets if (e := self._walk(t, moment, seen | {node})) is not None]
        return max(ends) if ends else None

    def _after(self, node: str, moment: datetime) -> datetime:
        key = (node, moment)
        if key not in self._done_at:
            self._done_at[key] = self._work_out(node, moment)
        return self._done_at[key]

    def _work_out(self, node: str, moment: datetime) -> datetime:
        kind = self.facts.kinds.get(node)
        if kind == "userTask":
            return max(moment, self._step_end(node, moment))
        if kind == "intermediateCatchEvent" and node in self.facts.expressions:
            return max(moment, self._timer(self.facts.expressions[node][0], moment))
        return moment

    def _step_end(self, node: str, entered_at: datetime) -> datetime:
        """A step entered at ``entered_at`` ends after its observed duration, else at its card limit."""
        limit = StepLimit.from_properties(self.facts.properties.get(node, {}))
        crisis = self.data.get("crisis") is True
        observed = self.history.get(node)
        if observed is not None and not (crisis and (limit.crisis_hours is not None or limit.crisis_days is not None)):
            return entered_at + observed  # a crisis step keeps its own short limit: history is of ordinary cases
        self.used_card = True
        if limit.days_min is not None:
            limit = replace(limit, days=limit.days_min, days_min=None)
        due = step_due(self.ctx.calendar, limit, entered_at, self.dates, crisis=crisis)
        return due or entered_at

    def _timer(self, expression: str, moment: datetime) -> datetime:
        try:
            return fires_at(evaluate(expression, self.data, engine_functions(FixedClock(moment), self.ctx.calendar)))
        except Exception:  # noqa: BLE001 - a timer we cannot simulate adds no wait
            return moment


# --- observed step durations -------------------------------------------------------------

_HISTORY: dict[tuple[str, str, date], dict[str, timedelta]] = {}
_HISTORY_LOCK = threading.Lock()


def observed_durations(uow: UnitOfWork, process_key: str, now: datetime, calendar: BusinessCalendar) -> dict[str, timedelta]:
    """The 80th percentile of each step's duration over the 180 days before today, for steps
    completed at least 20 times then.

    Once per process and day: kept in this process, read from the row the worker stored for the
    day (:func:`store_observed_durations`). Before the worker's first pass of the day, the row of
    the latest day before it: at a million cases the aggregate takes ~30 s, which a request that
    happens to come first after midnight must not pay (nor every server process again). Computed
    here only where the worker never stored a row (a new installation: few completed steps).
    """
    today = calendar.local_date(now)
    key = (str(uow.session.get_bind().url), process_key, today)
    found = _HISTORY.get(key)
    if found is None:
        stored = uow.session.execute(
            select(Setting.value).where(Setting.key.startswith(_setting_key(process_key, None), autoescape=True),
                                        Setting.key <= _setting_key(process_key, today))
            .order_by(Setting.key.desc()).limit(1)).scalar()  # ISO dates: the latest day up to today
        found = _decode(stored) if stored is not None else _compute(uow, process_key, today, calendar)
        with _HISTORY_LOCK:
            for old in [k for k in _HISTORY if k[2] != today]:
                _HISTORY.pop(old, None)
            _HISTORY[key] = found
    return found


def store_observed_durations(uow: UnitOfWork, process_key: str, now: datetime, calendar: BusinessCalendar) -> bool:
    """The day's durations of a process computed once (by the worker) and kept in ``settings``,
    so no request pays for the aggregate; the previous days' rows go. Returns whether it stored."""
    today = calendar.local_date(now)
    name = _setting_key(process_key, today)
    if uow.session.get(Setting, name) is not None:
        return False
    found = _compute(uow, process_key, today, calendar)
    uow.session.execute(delete(Setting).where(Setting.key.startswith(_setting_key(process_key, None), autoescape=True)))
    insert = postgresql_insert if uow.is_postgres else sqlite_insert  # another worker may store it first
    value = json.dumps({k: v.total_seconds() for k, v in sorted(found.items())})
    uow.session.execute(insert(Setting).values(key=name, value=value).on_conflict_do_nothing(index_elements=["key"]))
    return True


def _setting_key(process_key: str, day: date | None) -> str:
    return f"step_history:{process_key}:" + (day.isoformat() if day else "")


def _decode(value: str) -> dict[str, timedelta]:
    return {element: timedelta(seconds=seconds) for element, seconds in json.loads(value).items()}


def _compute(uow: UnitOfWork, process_key: str, today: date, calendar: BusinessCalendar) -> dict[str, timedelta]:
    since = calendar.end_of_day(today - timedelta(days=WINDOW_DAYS + 1))
    until = calendar.end_of_day(today - timedelta(days=1))
    return _percentiles(uow, process_key, since, until)


def clear_history_cache() -> None:
    """Forget the day's observed durations (tests that write history, or an operator's request)."""
    with _HISTORY_LOCK:
        _HISTORY.clear()


def _percentiles(uow: UnitOfWork, process_key: str, since: datetime, until: datetime) -> dict[str, timedelta]:
    done = and_(Task.process_key == process_key, Task.state == "completed", Task.completed_by.is_not(None),
                Task.completed_at > since, Task.completed_at <= until)
    if uow.is_postgres:
        seconds = func.extract("epoch", Task.completed_at - Task.created_at)
        query = (select(Task.element_id, func.percentile_cont(PERCENTILE).within_group(seconds))
                 .where(done).group_by(Task.element_id).having(func.count() >= MIN_SAMPLES))
        return {element: timedelta(seconds=round(float(value))) for element, value in uow.session.execute(query)}
    seconds = (func.julianday(Task.completed_at) - func.julianday(Task.created_at)) * 86400.0
    ranked = select(
        Task.element_id.label("element_id"), seconds.label("seconds"),
        (func.row_number().over(partition_by=Task.element_id, order_by=seconds) - 1).label("rank"),
        func.count().over(partition_by=Task.element_id).label("n"),
    ).where(done).subquery()
    low = (ranked.c.n - 1) * 4 // 5  # floor(0.8·(n−1)), in integers
    query = (select(ranked.c.element_id, ranked.c.n, ranked.c.rank, ranked.c.seconds)
             .where(ranked.c.n >= MIN_SAMPLES, ranked.c.rank.in_([low, low + 1])))
    values: dict[str, dict[int, float]] = {}
    sizes: dict[str, int] = {}
    for element, n, rank, value in uow.session.execute(query):
        values.setdefault(element, {})[rank] = value
        sizes[element] = n
    found = {}
    for element, by_rank in values.items():
        n = sizes[element]
        lower = (n - 1) * 4 // 5
        fraction = ((n - 1) * 4 % 5) / 5
        low_value = by_rank[lower]
        high_value = by_rank.get(lower + 1, low_value)
        found[element] = timedelta(seconds=round(low_value + fraction * (high_value - low_value)))  # julianday: ms noise
    return found


# --- the card's own feasibility ----------------------------------------------------------

_WARNINGS: dict[tuple[str, int, frozenset[date], frozenset[date], date | None], list[str]] = {}


@dataclass
class _CardCheck:
    days: int = 0
    late_target: int = 0
    late_legal: int = 0
    examples: list[str] = field(default_factory=list)


def card_warnings(facts: DiagramFacts, ctx: Context, checksum: str, year: int) -> list[str]:
    """Whether the card's own limits (``days_min`` where given) can meet the case's dates.

    Every working day of ``year`` is tried as a receipt date; a card that misses its target
    or legal date on some of them is a warning for the definition (SPEC §5), not a red flag
    on every case. Cached per diagram, year and calendar.
    """
    calendar = ctx.calendar
    key = (checksum, year, calendar.extra_holidays, calendar.extra_working_days, calendar.martial_law_until)
    if key in _WARNINGS:
        return list(_WARNINGS[key])
    props = facts.process_properties
    target_days, legal_days = _int(props.get("target_days")), _int(props.get("legal_days"))
    start = next((n for n, k in facts.kinds.items() if k == "startEvent"), None)
    warnings: list[str] = []
    if start is not None and (target_days or legal_days):
        check = _CardCheck()
        day = date(year, 1, 1)
        while day.year == year:
            if calendar.is_working_day(day):
                received = datetime.combine(day, datetime.min.time(), tzinfo=calendar.tz).replace(hour=10)
                dates = case_dates(calendar, received, target_days, legal_days, props.get("calendar") or "calendar")
                finish = Forecaster(facts, replace_clock(ctx, received), dates, {}).finish([Position(start, received)])
                check.days += 1
                if finish is not None and dates.target_due is not None and finish > dates.target_due:
                    check.late_target += 1
                    if len(check.examples) < 1:
                        check.examples.append(f"{day.isoformat()} → {calendar.local_date(finish).isoformat()}")
                if finish is not None and dates.legal_due is not None and finish > dates.legal_due:
                    check.late_legal += 1
            day += timedelta(days=1)
        for late, days, name in ((check.late_target, target_days, "цільовий"), (check.late_legal, legal_days, "граничний")):
            if late:
                warnings.append(
                    f"Строки кроків картки (нижні межі, з очікуванням засідання) не вкладаються у {name} строк "
                    f"{days} дн. для {late} з {check.days} робочих днів {year} року"
                    + (f" (наприклад, надійшло {check.examples[0]})" if check.examples and name == "цільовий" else "")
                    + ". Поки кроки не мають історії (20 виконань за 180 днів), прогноз за карткою показує такі "
                    "справи «під загрозою»; з історією прогноз спирається на фактичні тривалості кроків.")
    _WARNINGS[key] = warnings
    return list(warnings)


def replace_clock(ctx: Context, moment: datetime) -> Context:
    """The same settings and calendar, with the clock stopped at ``moment``."""
    copy = Context(ctx.settings, FixedClock(moment))
    copy.calendar = ctx.calendar
    return copy


def _int(value: str | None) -> int | None:
    return int(value) if value and str(value).isdigit() else None
