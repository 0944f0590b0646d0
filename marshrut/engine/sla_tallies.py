"""Counters the managers' views read instead of the rows: open steps and running cases by the
hour of their dates, completed steps by their duration — kept by the database with each change.

Why: at a million open cases an aggregate over the rows costs a second and more, and grows with
the department; these counters are a few thousand rows whatever its size (issue 17).

How they are kept:

- triggers on ``tasks`` and ``process_instances`` (both backends, created by migration 0011
  from :func:`trigger_ddl`) append a change (+1 or −1 under a key) to ``sla_tally_changes`` for
  every row that enters, leaves or moves between keys. Appending takes no lock that two
  completions could wait on (or deadlock over) the way updating one counter row would;
- the worker folds the changes into ``sla_tallies`` (:func:`compact`), one row per key;
- a reader sums both tables (:func:`read_sums`), so a view is exact whether or not the worker
  has run.

A key is (tally, process_key, element_id, bucket). ``element_id`` holds the step for step tallies
and the case's class for case tallies; ``bucket`` is the hour (since the epoch) of the date the
tally is about, or the duration in hours or minutes. Rows whose date lies in the current hour
can't be judged from the hour alone: :func:`boundary` reads those few rows themselves.

The key of a row is written once, as SQL (:data:`TASK_KEYS`, :data:`CASE_KEYS`): the triggers,
:func:`rebuild` and :func:`boundary` all use those expressions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

#: The bucket of a missing date: an hour no clock reaches, so the row is never late.
NEVER = 99_999_999
HOUR = 3600
CHANGES, TALLIES = "sla_tally_changes", "sla_tallies"

Dialect = str  # "postgresql" or "sqlite"


def _hour(expr: str, dialect: Dialect) -> str:
    if dialect == "postgresql":
        return f"COALESCE(floor(extract(epoch FROM {expr}))::bigint / {HOUR}, {NEVER})"
    return f"COALESCE(CAST(strftime('%s', {expr}) AS INTEGER) / {HOUR}, {NEVER})"


def _millis(start: str, end: str, dialect: Dialect) -> str:
    if dialect == "postgresql":
        return f"round(extract(epoch FROM ({end} - {start})) * 1000)::bigint"
    return f"CAST(round((julianday({end}) - julianday({start})) * 86400000.0) AS INTEGER)"


def _least(a: str, b: str, dialect: Dialect) -> str:
    """The earlier of two dates, either of which may be missing."""
    if dialect == "postgresql":
        return f"LEAST({a}, {b})"
    return f"COALESCE(MIN({a}, {b}), {a}, {b})"


@dataclass(frozen=True)
class Key:
    """One tally a row counts in: its name, the SQL of its class and bucket, when the row counts,
    and (for tallies by date) the SQL of the date the bucket is the hour of."""

    tally: str
    element: Callable[[str, Dialect], str]
    bucket: Callable[[str, Dialect], str]
    counts: Callable[[str], str]
    moment: Callable[[str, Dialect], str] | None = None
    #: A further condition on top of ``counts`` (the rows late among the completed): kept apart
    #: so that :func:`rebuild` counts every key of one ``counts`` in a single pass over the rows.
    only: Callable[[str], str] | None = None

    def where(self, r: str) -> str:
        return self.counts(r) if self.only is None else f"({self.counts(r)}) AND ({self.only(r)})"


def _open(r: str) -> str:
    return f"{r}.state = 'ready'"


def _done(r: str) -> str:
    return f"{r}.state = 'completed' AND {r}.completed_at IS NOT NULL"


def _step(r: str, _d: Dialect) -> str:
    return f"{r}.element_id"


def _risk_moment(r: str, d: Dialect) -> str:
    # A step is at risk from at_risk_at, and at the latest from its due date.
    return _least(f"{r}.at_risk_at", f"{r}.due_at", d)


TASK_KEYS = (
    # Open steps by the hour they fall due, and by the hour they turn "at risk".
    Key("due", _step, lambda r, d: _hour(f"{r}.due_at", d), _open, lambda r, d: f"{r}.due_at"),
    Key("risk", _step, lambda r, d: _hour(_risk_moment(r, d), d), _open, _risk_moment),
    # Completed steps by their duration, in whole hours and whole minutes; and those done late.
    Key("done_h", _step, lambda r, d: f"{_millis(f'{r}.created_at', f'{r}.completed_at', d)} / 3600000", _done),
    Key("done_m", _step, lambda r, d: f"{_millis(f'{r}.created_at', f'{r}.completed_at', d)} / 60000", _done),
    Key("done_late", _step, lambda r, d: "0", _done,
        only=lambda r: f"{r}.due_at IS NOT NULL AND {r}.completed_at > {r}.due_at"),
    # Open steps by who works them (role, provider, participants): the size of a person's task list.
    Key("who", lambda r, d: f"{r}.role || '|' || COALESCE({r}.provider_id, '') || '|' || {r}.participant_roles",
        lambda r, d: "0", _open),
)


def _running(r: str) -> str:
    return f"{r}.status = 'running' AND {r}.completed_at IS NULL"


def _case_class(r: str, _d: Dialect) -> str:
    """Met or not (the measured part done), and forecast past either date or not."""
    return (f"CASE WHEN {r}.sla_met_at IS NOT NULL THEN 'met' ELSE 'open' END || "
            f"CASE WHEN {r}.forecast_at > {r}.target_due OR {r}.forecast_at > {r}.legal_due THEN '_late' ELSE '_ok' END")


def _date_class(which: str) -> Callable[[str, Dialect], str]:
    """A running case against one of its dates (``engine.sla``'s case status, less the clock)."""
    def element(r: str, _d: Dialect) -> str:
        due = f"{r}.{which}_due"
        return (f"CASE WHEN {due} IS NULL THEN 'none' "
                f"WHEN {r}.sla_met_at IS NOT NULL THEN CASE WHEN {r}.sla_met_at > {due} THEN 'met_late' ELSE 'met_ok' END "
                f"WHEN {r}.forecast_at > {due} THEN 'open_late' ELSE 'open_ok' END")
    return element


def _first_due(r: str, d: Dialect) -> str:
    return _least(f"{r}.target_due", f"{r}.legal_due", d)


CASE_KEYS = (
    # Running cases by the earlier of their two dates (late cases, the case list's SLA filter).
    Key("c_any", _case_class, lambda r, d: _hour(_first_due(r, d), d), _running, _first_due),
    # ... and by each date on its own (the summary).
    Key("c_target", _date_class("target"), lambda r, d: _hour(f"{r}.target_due", d), _running,
        lambda r, d: f"{r}.target_due"),
    Key("c_legal", _date_class("legal"), lambda r, d: _hour(f"{r}.legal_due", d), _running,
        lambda r, d: f"{r}.legal_due"),
)

TABLE_KEYS = {"tasks": TASK_KEYS, "process_instances": CASE_KEYS}
#: The columns a key reads: an update touching none of them changes no tally.
WATCHED = {
    "tasks": ("state", "process_key", "element_id", "created_at", "completed_at", "due_at", "at_risk_at", "role",
              "provider_id", "participant_roles"),
    "process_instances": ("status", "process_key", "completed_at", "target_due", "legal_due", "sla_met_at", "forecast_at"),
}


def _select(key: Key, r: str, d: Dialect, amount: str, extra: str = "", source: str = "") -> str:
    """The key of row ``r`` (``NEW``/``OLD`` in a trigger, or an alias over ``source``) with ``amount``."""
    return (f"SELECT '{key.tally}' AS tally, {r}.process_key AS process_key, {key.element(r, d)} AS element_id, "
            f"{key.bucket(r, d)} AS bucket, {amount} AS amount{source} WHERE {key.where(r)}{extra}")


def _change_rows(table: str, operation: str, d: Dialect) -> str:
    """The INSERT a trigger runs: −1 under the old row's keys, +1 under the new row's, skipping
    (on UPDATE) the keys that did not move."""
    parts = []
    for key in TABLE_KEYS[table]:
        if operation in ("INSERT", "UPDATE"):
            parts.append(_select(key, "NEW", d, "1", "" if operation == "INSERT" else f" AND NOT ({_same(key, d)})"))
        if operation in ("DELETE", "UPDATE"):
            parts.append(_select(key, "OLD", d, "-1", "" if operation == "DELETE" else f" AND NOT ({_same(key, d)})"))
    return (f"INSERT INTO {CHANGES} (tally, process_key, element_id, bucket, amount) "
            + " UNION ALL ".join(parts))


def _same(key: Key, d: Dialect) -> str:
    """The row counted under the same key before and after an update."""
    return (f"({key.where('OLD')}) AND ({key.where('NEW')}) AND OLD.process_key = NEW.process_key "
            f"AND {key.element('OLD', d)} = {key.element('NEW', d)} AND {key.bucket('OLD', d)} = {key.bucket('NEW', d)}")


def trigger_ddl(dialect: Dialect) -> list[str]:
    """CREATE statements of the triggers that keep the tallies (migration 0011)."""
    statements = []
    for table in TABLE_KEYS:
        for operation in ("INSERT", "UPDATE", "DELETE"):
            name = f"sla_tally_{table}_{operation.lower()}"
            when = ""
            if operation == "UPDATE":
                columns = WATCHED[table]
                compare = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
                when = " WHEN (" + " OR ".join(f"OLD.{c} {compare} NEW.{c}" for c in columns) + ")"
            body = _change_rows(table, operation, dialect)
            if dialect == "postgresql":
                of = f" OF {', '.join(WATCHED[table])}" if operation == "UPDATE" else ""
                statements.append(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body}; "
                                  f"RETURN NULL; END $$")
                statements.append(f"CREATE TRIGGER {name} AFTER {operation}{of} ON {table} FOR EACH ROW{when} "
                                  f"EXECUTE FUNCTION {name}()")
            else:
                of = f" OF {', '.join(WATCHED[table])}" if operation == "UPDATE" else ""
                statements.append(f"CREATE TRIGGER {name} AFTER {operation}{of} ON {table} FOR EACH ROW{when} "
                                  f"BEGIN {body}; END")
    return statements


def drop_trigger_ddl(dialect: Dialect) -> list[str]:
    statements = []
    for table in TABLE_KEYS:
        for operation in ("insert", "update", "delete"):
            name = f"sla_tally_{table}_{operation}"
            statements.append(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if dialect == "postgresql" else ""))
            if dialect == "postgresql":
                statements.append(f"DROP FUNCTION IF EXISTS {name}()")
    return statements


def trigger_names() -> list[str]:
    return [f"sla_tally_{table}_{operation}" for table in TABLE_KEYS for operation in ("insert", "update", "delete")]


def rebuild(connection: Connection) -> None:
    """Count every row afresh (after a bulk load that bypassed the triggers, or to repair)."""
    d = connection.dialect.name
    connection.execute(text(f"DELETE FROM {CHANGES}"))
    connection.execute(text(f"DELETE FROM {TALLIES}"))
    if d != "postgresql":
        for table, keys in TABLE_KEYS.items():
            every_key = " UNION ALL ".join(_select(key, "r", d, "1", source=f" FROM {table} r") for key in keys)
            connection.execute(text(
                f"INSERT INTO {TALLIES} (tally, process_key, element_id, bucket, amount) "
                f"SELECT tally, process_key, element_id, bucket, SUM(amount) FROM ({every_key}) k "
                f"GROUP BY tally, process_key, element_id, bucket"))
        return
    # A plain SELECT, not INSERT … SELECT: PostgreSQL runs only a read in parallel workers, and
    # at a million cases the pass over ~28 M steps is most of a recount. What it returns is a
    # few thousand rows (one per key).
    connection.execute(text("SET LOCAL work_mem = '256MB'"))
    rows = []
    for table, keys in TABLE_KEYS.items():
        by_condition: dict[Callable[[str], str], list[Key]] = {}
        for key in keys:
            by_condition.setdefault(key.counts, []).append(key)
        for counts, same in by_condition.items():
            rows += connection.execute(text(_counted_once(table, counts, same, d))).all()
    if rows:
        connection.execute(text(f"INSERT INTO {TALLIES} (tally, process_key, element_id, bucket, amount) "
                                "VALUES (:t, :p, :e, :b, :a)"),
                           [{"t": t, "p": p, "e": e, "b": int(b), "a": int(a)} for t, p, e, b, a in rows])


def _counted_once(table: str, counts: Callable[[str], str], keys: list[Key], d: Dialect) -> str:
    """The tallies of ``keys`` (all with the same ``counts``) in one pass over the rows it selects:
    the rows grouped first by every key's class and bucket at once (one hash lookup per row, not
    one per key), then the groups spread into the keys."""
    columns, spread = [], []
    for i, key in enumerate(keys):
        only = f"COALESCE({key.only('r')}, FALSE)" if key.only is not None else "TRUE"
        columns.append(f"{key.element('r', d)} AS e{i}, {key.bucket('r', d)} AS b{i}, {only} AS f{i}")
        spread.append(f"('{key.tally}', g.e{i}, g.b{i}, g.f{i})")
    positions = ", ".join(str(p) for p in range(1, 2 + 3 * len(keys)))
    grouped = (f"SELECT r.process_key, {', '.join(columns)}, COUNT(*) AS n FROM {table} r "
               f"WHERE {counts('r')} GROUP BY {positions}")
    return (f"SELECT k.tally, g.process_key, k.element_id, k.bucket, SUM(g.n) FROM ({grouped}) g "
            f"CROSS JOIN LATERAL (VALUES {', '.join(spread)}) AS k(tally, element_id, bucket, counted) "
            "WHERE k.counted GROUP BY 1, 2, 3, 4")


#: Only one worker folds changes at a time on PostgreSQL (the others skip the pass).
_COMPACT_LOCK = 0x5_1A_7A11


def compact(connection: Connection) -> int:
    """Fold the appended changes into one row per key; returns how many changes were folded."""
    d = connection.dialect.name
    upto = connection.execute(text(f"SELECT MAX(id) FROM {CHANGES}")).scalar()
    if upto is None:
        return 0
    upsert = ("ON CONFLICT (tally, process_key, element_id, bucket) "
              f"DO UPDATE SET amount = {TALLIES}.amount + excluded.amount")
    if d == "postgresql":
        if not connection.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _COMPACT_LOCK}).scalar():
            return 0
        # Only what this statement deleted is added: a change committed meanwhile under a
        # lower id (ids are taken before commit) stays for the next pass instead of being lost.
        folded = connection.execute(text(
            f"WITH gone AS (DELETE FROM {CHANGES} WHERE id <= :upto RETURNING tally, process_key, element_id, bucket, amount), "
            "summed AS (SELECT tally, process_key, element_id, bucket, SUM(amount) AS amount, COUNT(*) AS n FROM gone "
            "GROUP BY tally, process_key, element_id, bucket), "
            f"added AS (INSERT INTO {TALLIES} (tally, process_key, element_id, bucket, amount) "
            "SELECT tally, process_key, element_id, bucket, amount FROM summed "
            f"ORDER BY tally, process_key, element_id, bucket {upsert}) "
            "SELECT COALESCE(SUM(n), 0) FROM summed"), {"upto": upto}).scalar()
    else:  # one writer at a time: what is read here is what is deleted
        folded = connection.execute(text(f"SELECT COUNT(*) FROM {CHANGES} WHERE id <= :upto"), {"upto": upto}).scalar()
        connection.execute(text(
            f"INSERT INTO {TALLIES} (tally, process_key, element_id, bucket, amount) "
            f"SELECT tally, process_key, element_id, bucket, SUM(amount) FROM {CHANGES} WHERE id <= :upto "
            f"GROUP BY tally, process_key, element_id, bucket {upsert}"), {"upto": upto})
        connection.execute(text(f"DELETE FROM {CHANGES} WHERE id <= :upto"), {"upto": upto})
    connection.execute(text(f"DELETE FROM {TALLIES} WHERE amount = 0"))
    return int(folded or 0)


#: How often the worker vacuums the tally tables (PostgreSQL), as autovacuum's default naptime.
VACUUM_EVERY_S = 60


def vacuum(engine: Engine) -> bool:
    """PostgreSQL: VACUUM both tally tables unless the changes were vacuumed (here or by
    autovacuum) within :data:`VACUUM_EVERY_S`; returns whether it did.

    The changes are a queue every pass empties and every view reads, and the tallies a few
    thousand rows every pass updates: their dead rows pile up until a vacuum, and autovacuum may
    be off, or busy for hours with the big tables after a bulk load. Measured at a million cases
    with autovacuum off: 429,260 dead changes after a day's worker backlog made a work list's
    count 12.7 ms instead of 0.55 ms. SQLite reuses a deleted row's page: nothing to do.
    """
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as connection:
        recent = connection.execute(text(
            "SELECT GREATEST(last_vacuum, last_autovacuum) > now() - make_interval(secs => :every) "
            f"FROM pg_stat_user_tables WHERE relid = CAST('{CHANGES}' AS regclass)"), {"every": VACUUM_EVERY_S}).scalar()
    if recent:
        return False
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:  # VACUUM runs outside a transaction
        connection.execute(text(f"VACUUM {CHANGES}, {TALLIES}"))
    return True


def hour_of(moment: datetime) -> int:
    """The bucket of ``moment``, as the SQL of :func:`_hour` computes it."""
    return int(moment.timestamp()) // HOUR


@dataclass(frozen=True)
class Sum:
    tally: str
    process_key: str
    element_id: str
    side: int  # -1: the bucket is before the hour of the moment asked about, 0: that hour, 1: after it
    amount: int


def read_sums(connection: Connection, tallies: Iterable[str], moment: datetime,
              process_key: str | None = None) -> list[Sum]:
    """The tallies, summed by key and by the side of ``moment``'s hour their bucket lies on."""
    names = sorted(set(tallies))
    where = "tally IN (" + ", ".join(f"'{n}'" for n in names) + ")"
    params: dict[str, Any] = {"b": hour_of(moment)}
    if process_key is not None:
        where += " AND process_key = :process_key"
        params["process_key"] = process_key
    both = f"SELECT tally, process_key, element_id, bucket, amount FROM {TALLIES} WHERE {where} " \
           f"UNION ALL SELECT tally, process_key, element_id, bucket, amount FROM {CHANGES} WHERE {where}"
    rows = connection.execute(text(
        "SELECT tally, process_key, element_id, CASE WHEN bucket < :b THEN -1 WHEN bucket = :b THEN 0 ELSE 1 END AS side, "
        f"SUM(amount) FROM ({both}) t GROUP BY tally, process_key, element_id, "
        "CASE WHEN bucket < :b THEN -1 WHEN bucket = :b THEN 0 ELSE 1 END"), params)
    return [Sum(row[0], row[1], row[2], int(row[3]), int(row[4])) for row in rows if row[4]]  # PostgreSQL sums as numeric


def read_buckets(connection: Connection, tally: str, process_key: str | None = None,
                 ranges: list[tuple[str, str, int, int]] | None = None) -> list[tuple[str, str, int, int]]:
    """(process_key, element_id, bucket, amount) of one tally, ordered, zero sums left out;
    ``ranges``: only the buckets lo…hi of the given (process_key, element_id, lo, hi)."""
    where, params = "tally = :tally", {"tally": tally, "pk": process_key}
    if process_key is not None:
        where += " AND process_key = :pk"
    if ranges is not None:
        terms = []
        for i, (pk, element_id, low, high) in enumerate(ranges):
            terms.append(f"(process_key = :p{i} AND element_id = :e{i} AND bucket BETWEEN :l{i} AND :h{i})")
            params.update({f"p{i}": pk, f"e{i}": element_id, f"l{i}": low, f"h{i}": high})
        where += " AND (" + " OR ".join(terms) + ")"
    both = f"SELECT process_key, element_id, bucket, amount FROM {TALLIES} WHERE {where} " \
           f"UNION ALL SELECT process_key, element_id, bucket, amount FROM {CHANGES} WHERE {where}"
    rows = connection.execute(text(
        f"SELECT process_key, element_id, bucket, SUM(amount) FROM ({both}) t GROUP BY process_key, element_id, bucket "
        "ORDER BY process_key, element_id, bucket"), params)
    return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows if r[3]]


#: Rows whose tally date may lie in one hour, found through the tables' indexes on those dates.
_NEAR = {
    "tasks": "r.state = 'ready' AND ((r.due_at >= :lo AND r.due_at < :hi) OR (r.at_risk_at >= :lo AND r.at_risk_at < :hi))",
    "process_instances": "r.status = 'running' AND r.completed_at IS NULL AND ((r.target_due >= :lo AND r.target_due < :hi) "
                         "OR (r.legal_due >= :lo AND r.legal_due < :hi))",
}


def boundary(connection: Connection, table: str, moment: datetime, process_key: str | None = None
             ) -> list[tuple[str, str, str, datetime]]:
    """(tally, process_key, element_id, date) of the rows whose tally date lies in ``moment``'s
    hour: the ones :func:`read_sums` reports on side 0, each with its own date to judge."""
    d = connection.dialect.name
    b = hour_of(moment)
    low = datetime.fromtimestamp(b * HOUR, UTC)
    params = {"lo": low, "hi": low + timedelta(hours=1), "b": b, "pk": process_key}
    near = _NEAR[table] + (" AND r.process_key = :pk" if process_key is not None else "")
    parts = [f"SELECT '{k.tally}' AS tally, r.process_key AS process_key, {k.element('r', d)} AS element_id, "
             f"{k.moment('r', d)} AS moment FROM (SELECT * FROM {table} r WHERE {near}) r "
             f"WHERE {k.where('r')} AND {k.bucket('r', d)} = :b"
             for k in TABLE_KEYS[table] if k.moment is not None]
    if d == "sqlite":
        params = {**params, "lo": _sqlite_text(params["lo"]), "hi": _sqlite_text(params["hi"])}
    rows = connection.execute(text(" UNION ALL ".join(parts)), params)
    return [(r[0], r[1], r[2], _utc(r[3])) for r in rows]


def _sqlite_text(moment: datetime) -> str:
    """A UTC moment as SQLAlchemy stores it in SQLite (so it compares as the stored text does)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
