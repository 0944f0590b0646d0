"""The managers' figures as they stand now or later, read from the tallies (:mod:`engine.sla_tallies`).

Each answer costs the tallies' few thousand rows and the rows whose date falls in the current
hour, not a row per case: the same at a hundred cases and at a million. A moment before now
is history, which the tallies do not keep: :mod:`engine.sla` aggregates the rows for that.
"""

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from marshrut.engine.sla_tallies import boundary, read_buckets, read_sums

TASK_STATUSES = ("on_track", "at_risk", "overdue")
CASE_STATUSES = ("on_track", "at_risk", "breached")
_OPEN_CLASSES = ("open_ok", "open_late")


class Snapshot:
    """The tallies and the current hour's rows, read once (three queries) for every figure of one
    moment: a page asking for the summary and the overdue totals reads them once."""

    def __init__(self, connection: Connection, moment: datetime) -> None:
        self.moment = moment
        self.sums = read_sums(connection, ("due", "risk", "c_any", "c_target", "c_legal"), moment)
        self.near = [*boundary(connection, "tasks", moment), *boundary(connection, "process_instances", moment)]


#: What the SLA views keep in a unit of work (a snapshot, the newest steps): forgotten as soon as it
#: writes or its transaction ends, so nothing read before a change is shown after it.
CACHED = "sla.cached"


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, *_args: Any) -> None:
    for key in [k for k in session.info if isinstance(k, tuple) and k[0] == CACHED]:
        del session.info[key]


def snapshot(session: Session, moment: datetime) -> Snapshot:
    """The :class:`Snapshot` of ``moment`` for this unit of work (kept in it: a view reads it once)."""
    key = (CACHED, moment)
    if key not in session.info:
        session.info[key] = Snapshot(session.connection(), moment)
    return session.info[key]


def open_steps(found: Snapshot) -> dict[tuple[str, str], dict[str, int]]:
    """Open steps by (process, step): how many are on track, at risk and overdue at the moment."""
    total: dict[tuple[str, str], int] = defaultdict(int)
    overdue: dict[tuple[str, str], int] = defaultdict(int)
    risky: dict[tuple[str, str], int] = defaultdict(int)  # at risk or overdue: turned at risk by the moment
    for s in found.sums:
        key = (s.process_key, s.element_id)
        if s.tally == "due":
            total[key] += s.amount
            overdue[key] += s.amount if s.side < 0 else 0
        elif s.tally == "risk" and s.side < 0:
            risky[key] += s.amount
    for tally, process_key, element_id, date in found.near:
        key = (process_key, element_id)
        if tally == "due" and date < found.moment:
            overdue[key] += 1
        elif tally == "risk" and date <= found.moment:
            risky[key] += 1
    return {key: {"on_track": count - risky[key], "at_risk": risky[key] - overdue[key], "overdue": overdue[key]}
            for key, count in sorted(total.items()) if count}


def running_cases(found: Snapshot) -> dict[str, dict[str, Any]]:
    """Running cases by process, each date's cases by status at the moment (as ``engine.sla``'s summary)."""
    cases: dict[str, dict[str, Any]] = {}

    def of(process_key: str) -> dict[str, Any]:
        return cases.setdefault(process_key, {"running": 0, **{w: dict.fromkeys(CASE_STATUSES, 0) for w in ("target", "legal")}})

    for s in found.sums:
        if s.tally not in ("c_target", "c_legal"):
            continue
        figures = of(s.process_key)
        if s.tally == "c_target":
            figures["running"] += s.amount
        if s.element_id in _OPEN_CLASSES and s.side == 0:
            continue  # judged row by row below
        figures[s.tally[2:]][_date_status(s.element_id, s.side < 0)] += s.amount
    for tally, process_key, element_id, date in found.near:
        if tally in ("c_target", "c_legal") and element_id in _OPEN_CLASSES:
            of(process_key)[tally[2:]][_date_status(element_id, date < found.moment)] += 1
    return {key: figures for key, figures in sorted(cases.items()) if figures["running"]}


def _date_status(case_class: str, date_passed: bool) -> str:
    if case_class in ("none", "met_ok"):
        return "on_track"
    if case_class == "met_late" or date_passed:
        return "breached"
    return "at_risk" if case_class == "open_late" else "on_track"


def late_totals(found: Snapshot) -> tuple[int, int]:
    """(open steps past due, running cases past a date and not done) at the moment: the overdue view's totals."""
    tasks = sum(s.amount for s in found.sums if s.tally == "due" and s.side < 0)
    cases = sum(s.amount for s in found.sums if s.tally == "c_any" and s.side < 0 and s.element_id.startswith("open"))
    tasks += sum(1 for tally, _p, _e, date in found.near if tally == "due" and date < found.moment)
    cases += sum(1 for tally, _p, element_id, date in found.near
                 if tally == "c_any" and element_id.startswith("open") and date < found.moment)
    return tasks, cases


def cases_with_sla(found: Snapshot, status: str, process_key: str | None = None) -> int:
    """How many running cases have the case list's SLA ``status`` (``queries.case_sla_clause``) at the moment."""
    count = sum(s.amount for s in found.sums
                if s.tally == "c_any" and s.side != 0 and process_key in (None, s.process_key)
                and _list_status(s.element_id, s.side < 0) == status)
    return count + sum(1 for tally, pk, element_id, date in found.near
                       if tally == "c_any" and process_key in (None, pk)
                       and _list_status(element_id, date < found.moment) == status)


def work_list_size(session: Session, actor: Any) -> tuple[int, frozenset[str]]:
    """How many open steps a person's own task list holds (``queries.list_tasks`` unfiltered):
    the steps of their roles and the steps they take part in; a provider's user sees the
    unbound ones and their organisation's. And which of their roles some open step has as a
    participant (У): the list walks the steps taken part in only for those."""
    count, taking_part = 0, set()
    for s in read_sums(session.connection(), ("who",), datetime.min.replace(tzinfo=timezone.utc)):
        role, provider, participants = s.element_id.split("|", 2)
        if provider and provider != actor.provider_id:
            continue
        part_of = {r for r in actor.roles if f",{r}," in participants}
        if role in actor.roles or part_of:
            count += s.amount
        if s.amount > 0:
            taking_part |= part_of
    return count, frozenset(taking_part)


def _list_status(case_class: str, date_passed: bool) -> str:
    if date_passed:
        return "breached"
    return "at_risk" if case_class.endswith("_late") else "on_track"


def step_durations(connection: Connection, process_key: str | None,
                   shares: tuple[float, ...]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per step: completed, late, and the duration (hours) at each share, as ``percentile_cont``
    over the durations to the minute: the hour holding each rank is found from the hourly
    tally, then the minute within it from the minute tally of just those hours (one query)."""
    hours: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for pk, element_id, bucket, amount in read_buckets(connection, "done_h", process_key):
        hours[(pk, element_id)].append((bucket, amount))
    late = {(pk, el): amount for pk, el, _b, amount in read_buckets(connection, "done_late", process_key)}
    wanted = {key: {share: _ranks(share, sum(a for _b, a in buckets)) for share in shares}
              for key, buckets in hours.items()}
    places = {(key, rank): _hour_of_rank(hours[key], rank) for key, by_share in wanted.items()
              for ranks in by_share.values() for rank in ranks}
    minutes = read_minutes(connection, {(key, place[0]) for (key, _rank), place in places.items()})
    found = {}
    for key, buckets in sorted(hours.items()):
        completed = sum(amount for _b, amount in buckets)
        figures = {}
        for share, ranks in wanted[key].items():
            values = [_minute_value(minutes.get((key, places[(key, r)][0]), []), *places[(key, r)]) for r in ranks]
            figures[share] = _interpolate(share, completed, values)
        found[key] = {"completed": completed, "late": late.get(key, 0), "shares": figures}
    return found


def _ranks(share: float, count: int) -> list[int]:
    """The one or two ranks (from 0) ``percentile_cont(share)`` reads among ``count`` values."""
    if count <= 0:
        return []
    rank = share * (count - 1)
    below = int(rank)
    return [below] if rank == below or below + 1 >= count else [below, below + 1]


def _interpolate(share: float, count: int, values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    rank = share * (count - 1)
    return values[0] + (values[1] - values[0]) * (rank - int(rank))


def _hour_of_rank(buckets: list[tuple[int, int]], rank: int) -> tuple[int, int]:
    """(hour, rank within that hour) of the ``rank``-th smallest duration."""
    seen = 0
    for hour, amount in buckets:
        if rank < seen + amount:
            return hour, rank - seen
        seen += amount
    return buckets[-1][0], buckets[-1][1] - 1


def _minute_value(minutes: list[tuple[int, int]], hour: int, within: int) -> float:
    seen = 0
    for minute, amount in minutes:
        if within < seen + amount:
            return minute / 60
        seen += amount
    return float(hour)  # the minutes disagree with the hour (a change not yet folded in): the hour


def _minute_range(hour: int) -> tuple[int, int]:
    """The minute buckets of an hour bucket: both round toward zero, so hour 0 holds −59…59."""
    if hour > 0:
        return hour * 60, hour * 60 + 59
    if hour == 0:
        return -59, 59
    return hour * 60 - 59, hour * 60


def read_minutes(connection: Connection, hours: set[tuple[tuple[str, str], int]]
                 ) -> dict[tuple[tuple[str, str], int], list[tuple[int, int]]]:
    """The minute tallies of the given (step, hour)s, in one query."""
    found: dict[tuple[tuple[str, str], int], list[tuple[int, int]]] = defaultdict(list)
    ranges = [(key, hour, *_minute_range(hour)) for key, hour in sorted(hours)]
    if not ranges:
        return found
    for pk, element_id, bucket, amount in read_buckets(connection, "done_m",
                                                       ranges=[(k[0], k[1], lo, hi) for k, _h, lo, hi in ranges]):
        for key, hour, lo, hi in ranges:
            if key == (pk, element_id) and lo <= bucket <= hi:
                found[(key, hour)].append((bucket, amount))
    return found
