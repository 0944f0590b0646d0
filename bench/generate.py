"""Many open address-aid cases, fast: real cases copied with bulk INSERTs (COPY on PostgreSQL).

Fourteen template cases are walked through the engine, one standing at each point of the
granted path (each of the 13 steps open, or waiting for the committee meeting). Their
rows as stored (case, steps, timers; audit events on request) are copied with new ids, registration
numbers and step/timer ids (the saved workflow state is rewritten with the same new ids,
so a copy loads and runs like any case) and with every date moved by the same whole
number of days, chosen so that the copy's open step was opened in the past and is due in
the future, except:

- ``overdue_share`` of the copies whose step can be late before the case's own target
  date: the step is 0–9 days overdue and the breach was already noticed (flag set,
  notifications stored), as a worker that has been running leaves them; one in
  ``FRESH_BREACH_EVERY`` of those has not been noticed yet;
- one in ``DUE_TIMER_EVERY`` of the copies waiting for the committee: the meeting has
  begun and the worker has not fired the timer yet.

Nothing runs through the engine per copy. :func:`verify` loads a sample of copies back
through the engine and checks that their rows and states agree.
"""

from __future__ import annotations

import operator
import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Table, select, text

from bench.common import kyiv
from bench.samples import APPLICATION, BEFORE_COMMITTEE, PATH, STEPS
from marshrut.engine import cases, definitions, queries, runtime, users
from marshrut.engine.alerts import BREACH_SUBJECTS
from marshrut.engine.clock import FixedClock
from marshrut.engine.config import Settings
from marshrut.engine.context import Context
from marshrut.engine.models import AuditEvent, Instance, Notification, Task, Timer, User
from marshrut.engine.store import Database

#: The moment the generated department stands at (a Monday morning).
NOW = kyiv("2026-03-02 10:00")
#: Template cases are registered here and walked 20 minutes a step; the committee meets Wed 2026-02-04.
TEMPLATE_START = kyiv("2026-02-02 09:00")
TEMPLATE_MEETING = kyiv("2026-02-04 09:30")
POSITIONS = len(PATH) + 1  # each of the 13 steps open, or waiting for the committee
WAITING = BEFORE_COMMITTEE  # the position waiting for the committee meeting
FINISHED = POSITIONS  # the template walked to the end (granted, the applicant notified)
FRESH_BREACH_EVERY = 100
DUE_TIMER_EVERY = 300
DAY = timedelta(days=1)
ROLES_OF_PATH = ("programs_dept", "appeals_office", "org_specialist", "director", "programs_deputy", "programs_head",
                 "accounting_head")

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_DATE = r"20\d\d-[01]\d-[0-3]\d"
TABLES: dict[str, Table] = {"instance": Instance.__table__, "task": Task.__table__, "timer": Timer.__table__,  # type: ignore[dict-item]
                            "audit": AuditEvent.__table__, "notification": Notification.__table__}


# --- the template cases ---------------------------------------------------------------

def walk_templates(db: Database, settings: Settings) -> list[int]:
    """One real case per point of the path, walked through the engine's use cases; ids by position."""
    with db.unit_of_work() as uow:
        actors = {role: users.by_login(uow, role) for role in ROLES_OF_PATH}

    def at(moment: datetime) -> Context:
        return Context(settings, FixedClock(moment))

    def fire(instance_id: int) -> None:
        with db.unit_of_work() as uow:
            cases.fire_due_timers(uow, at(TEMPLATE_MEETING), instance_id)
            uow.commit()

    ids = []
    for position in range(POSITIONS + 1):  # the last one walked to the end: the template of a finished case
        with db.unit_of_work() as uow:
            instance_id = cases.start_case(uow, actors["programs_dept"], at(TEMPLATE_START), "address_aid", APPLICATION).id
            uow.commit()
        done = position if position <= WAITING else position - 1
        moment = TEMPLATE_START
        for index, element_id in enumerate(PATH[:done]):
            if index == BEFORE_COMMITTEE:
                moment = TEMPLATE_MEETING
            moment += timedelta(minutes=20)
            with db.unit_of_work() as uow:
                [task] = [t for t in queries.open_tasks(uow, instance_id) if t.element_id == element_id]
                cases.complete_task(uow, actors[task.role], at(moment), task.id, STEPS[element_id])
                uow.commit()
            if index + 1 == BEFORE_COMMITTEE and position > WAITING:
                fire(instance_id)
        ids.append(instance_id)
    return ids


# --- stored values, and how a copy changes them -----------------------------------------

class Dialect:
    """How a backend stores values: SQLite naive-UTC text bound as parameters, PostgreSQL COPY text."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.copy_text = name == "postgresql"

    def moment(self, value: Any) -> datetime | None:
        """A stored datetime as an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc)
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)

    def stored(self, moment: datetime | None) -> Any:
        """A moment as this backend stores (SQLite) or loads (COPY text) it."""
        if moment is None:
            return None
        utc = moment.astimezone(timezone.utc)
        if self.copy_text:
            return utc.strftime("%Y-%m-%d %H:%M:%S.%f+00")
        return utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    def constant(self, value: Any) -> Any:
        """A value that every copy keeps, encoded for the load (COPY text escapes it)."""
        if not self.copy_text:
            return value
        if value is None:
            return "\\N"
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, datetime):
            return self.stored(value)
        return escape(str(value))


def escape(value: str) -> str:
    """PostgreSQL COPY text format: backslash, tab, newline and carriage return escaped."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _shift_date(value: str, days: int) -> str:
    return (datetime.strptime(value, "%Y-%m-%d") + timedelta(days=days)).strftime("%Y-%m-%d")


class Piece:
    """A stored text (workflow state, JSON) cut at its step ids, dates and registration number."""

    def __init__(self, value: str, pattern: re.Pattern[str], uuids: dict[str, int]) -> None:
        self.parts: list[str] = []
        self.slots: list[tuple[str, Any]] = []
        position = 0
        for match in pattern.finditer(value):
            kind = match.lastgroup or ""
            if kind == "date":
                try:
                    datetime.strptime(match.group(), "%Y-%m-%d")
                except ValueError:
                    continue
            self.parts.append(value[position:match.start()])
            self.slots.append((kind, uuids.setdefault(match.group(), len(uuids)) if kind == "uuid" else match.group()))
            position = match.end()
        self.parts.append(value[position:])

    def for_days(self, days: int, number_slot: int, copy_text: bool) -> tuple[str, list[int]]:
        """A ``%``-format with the dates moved by ``days``, and the per-copy slot (id or number) of each ``%s``."""
        clean = (lambda text_: escape(text_).replace("%", "%%")) if copy_text else (lambda text_: text_.replace("%", "%%"))
        out, indices = [clean(self.parts[0])], []
        for (kind, value), part in zip(self.slots, self.parts[1:]):
            if kind == "date":
                out.append(clean(_shift_date(value, days)))
            else:
                out.append("%s")
                indices.append(value if kind == "uuid" else number_slot)
            out.append(clean(part))
        return "".join(out), indices


@dataclass
class Template:
    """The stored rows of one real case standing at one point of the path, ready to copy."""

    position: int
    rows: dict[str, list[dict[str, Any]]]
    number: str
    anchor: datetime  # when the open step is due, or when the meeting timer fires
    latest: datetime  # the last thing that happened to the case
    target: datetime
    open_role: str | None
    open_name: str | None
    uuids: dict[str, int] = field(default_factory=dict)
    texts: dict[tuple[str, int, str], Piece] = field(default_factory=dict)

    @property
    def may_be_late(self) -> bool:
        """Its step can be overdue while the case is still before its target date."""
        return self.open_role is not None and self.anchor < self.target - 3 * DAY

    @property
    def number_slot(self) -> int:
        return len(self.uuids)


def _select(connection: Any, dialect: str, table: Table, where: str, value: int) -> list[dict[str, Any]]:
    names = [c.name + ("::text" if dialect == "postgresql" and c.type.__class__.__name__ == "JSON" else "")
             for c in table.columns]
    query = text(f"SELECT {', '.join(names)} FROM {table.name} WHERE {where} = :value ORDER BY id")
    keys = [c.name for c in table.columns]
    return [dict(zip(keys, row)) for row in connection.execute(query, {"value": value})]


def read_templates(db: Database, dialect: Dialect, ids: list[int], with_audit: bool = False) -> list[Template]:
    """The template cases' rows exactly as stored, with their texts cut into :class:`Piece` s.

    The audit events are copied only ``with_audit``: no measured query reads them, and they
    would be half of the rows to load.
    """
    templates = []
    with db.engine.connect() as connection:
        for position, instance_id in enumerate(ids):
            rows = {
                "instance": _select(connection, dialect.name, TABLES["instance"], "id", instance_id),
                "task": _select(connection, dialect.name, TABLES["task"], "instance_id", instance_id),
                "timer": _select(connection, dialect.name, TABLES["timer"], "instance_id", instance_id),
                "audit": _select(connection, dialect.name, TABLES["audit"], "instance_id", instance_id) if with_audit else [],
            }
            instance = rows["instance"][0]
            ready = [t for t in rows["task"] if t["state"] == "ready"]
            meeting = [t for t in rows["timer"] if t["element_id"] == "wait_committee_meeting" and t["state"] == "waiting"]
            moments = [dialect.moment(v) for table in rows.values() for row in table for k, v in row.items()
                       if k in ("created_at", "updated_at", "completed_at", "at", "fired_at") and v is not None]
            anchor = ready[0]["due_at"] if ready else meeting[0]["fires_at"] if meeting else instance["completed_at"]
            template = Template(
                position, rows, instance["number"], dialect.moment(anchor),
                max(moments), dialect.moment(instance["target_due"]),  # type: ignore[arg-type]
                ready[0]["role"] if ready else None, ready[0]["name"] if ready else None,
            )
            suffix = instance["number"].split("-", 1)[1]  # "2026-000003" (the prefix may be stored \\u-escaped)
            pattern = re.compile(f"(?P<uuid>{_UUID})|(?P<number>{re.escape(suffix)})|(?P<date>{_DATE})")
            for table_name, table_rows in rows.items():
                for index, row in enumerate(table_rows):
                    for column in TABLES[table_name].columns:
                        value = row[column.name]
                        if isinstance(value, str) and (column.name in ("state", "spiff_id", "number")
                                                       or column.type.__class__.__name__ == "JSON"):
                            piece = Piece(value, pattern, template.uuids)
                            if piece.slots:
                                template.texts[(table_name, index, column.name)] = piece
            templates.append(template)
    return templates


# --- copying ------------------------------------------------------------------------------

@dataclass
class Plan:
    """What one generation added, for the report."""

    cases: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    fresh_breaches: int = 0
    due_timers: int = 0
    by_position: list[int] = field(default_factory=lambda: [0] * POSITIONS)
    seconds: dict[str, float] = field(default_factory=dict)


def _days_for(template: Template, kind: str, rng: random.Random) -> tuple[int, str]:
    """A whole-day shift putting the copy at ``NOW`` as ``kind`` says (falls back to on time)."""
    latest_allowed = (NOW - template.latest) // DAY  # the copy's past stays in the past
    if kind in ("overdue", "due_timer"):
        days = min(latest_allowed, (NOW - template.anchor) // DAY - rng.randint(0, 9 if kind == "overdue" else 2))
        if template.anchor + days * DAY <= NOW and template.target + days * DAY > NOW:
            return days, kind
    lowest = (NOW - template.anchor) // DAY + 1  # due (or firing) after NOW
    days = rng.randint(lowest, latest_allowed) if lowest <= latest_allowed else latest_allowed
    late = template.anchor + days * DAY <= NOW
    return days, ("overdue" if late and template.open_role else "due_timer" if late else "on_time")


#: What a copy puts in a column: its new id, its case's id, a step id by position, a text, the breach flag.
ID, CASE, TASK_REF, TEXT, BREACH = range(5)


@dataclass
class RowRecipe:
    """One template row moved by some days: fixed values, and the columns each copy fills."""

    table: str
    base: list[Any]
    fills: list[tuple[int, int, Any]]  # (column position, what, argument)
    line: str = ""  # COPY text: the whole row as a %-format over the filled columns


def _variant(template: Template, days: int, dialect: Dialect) -> list[RowRecipe]:
    """The template's rows with every date moved by ``days``; ids, step ids and number left to fill."""
    recipes = []
    task_positions = {row["id"]: k for k, row in enumerate(template.rows["task"])}
    for name in ("instance", "task", "timer", "audit"):
        for row_index, row in enumerate(template.rows[name]):
            base: list[Any] = []
            fills: list[tuple[int, int, Any]] = []
            for position, column in enumerate(TABLES[name].columns):
                value = row[column.name]
                piece = template.texts.get((name, row_index, column.name))
                if column.name == "id":
                    fills.append((position, ID, task_positions.get(value) if name == "task" else None))
                elif column.name == "instance_id" and value is not None:
                    fills.append((position, CASE, None))
                elif column.name == "task_id" and name == "audit" and value is not None:
                    fills.append((position, TASK_REF, task_positions.get(value)))
                elif piece is not None:
                    fmt, indices = piece.for_days(days, template.number_slot, dialect.copy_text)
                    if not indices:  # only dates: the same text for every copy moved by these days
                        value = fmt % ()
                    elif len(indices) == 1:
                        fills.append((position, TEXT, (fmt, lambda values, i=indices[0]: (values[i],))))
                    else:
                        fills.append((position, TEXT, (fmt, operator.itemgetter(*indices))))
                elif column.name == "breach_recorded" and name == "task" and row["state"] == "ready":
                    fills.append((position, BREACH, None))
                elif column.type.__class__.__name__ == "UtcDateTime" and value is not None:
                    value = dialect.stored(dialect.moment(value) + timedelta(days=days))  # already as loaded
                elif dialect.copy_text:
                    value = dialect.constant(value)
                base.append(value)
            recipe = RowRecipe(name, base, fills)
            if dialect.copy_text:
                filled = {position for position, _what, _argument in fills}
                cells = ["%s" if k in filled else cell.replace("%", "%%") for k, cell in enumerate(base)]
                recipe.line = "\t".join(cells) + "\n"
            recipes.append(recipe)
    return recipes


def copies(db: Database, dialect: Dialect, templates: list[Template], count: int, *, first_index: int,
           overdue_share: float, seed: int, people: list[tuple[str, list[str]]], finished: int = 0) -> Plan:
    """Add ``count`` open copies of the templates (round robin over the positions) and ``finished``
    copies of the finished one (closed 0–330 days before ``NOW``) with bulk INSERTs."""
    started = time.perf_counter()
    rng = random.Random(seed)
    salt = f"{rng.getrandbits(72):018x}"
    suffixes = [f"-{slot:04x}-4{salt[:3]}-8{salt[3:6]}-{salt[6:18]}" for slot in range(max(len(t.uuids) for t in templates))]
    variants: dict[tuple[int, int], list[RowRecipe]] = {}
    plan = Plan(cases=count + finished)
    with db.engine.connect() as connection:
        next_id = {name: (connection.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {TABLES[name].name}")).scalar() or 0) + 1
                   for name in TABLES}
        last_number = connection.execute(text(
            "SELECT last FROM counters WHERE process_key = 'address_aid' AND year = 2026")).scalar() or 0
    out: dict[str, list[Any]] = {name: [] for name in TABLES}
    copy_text = dialect.copy_text
    for offset in range(count + finished):
        index = first_index + offset
        if offset >= count:
            template = templates[FINISHED]
            days, kind = (NOW - template.latest) // DAY - rng.randint(0, 330), "finished"
        else:
            template = templates[index % POSITIONS]
            kind = "on_time"
            if template.may_be_late and rng.random() < overdue_share:
                kind = "overdue"
            elif template.position == WAITING and index // POSITIONS % DUE_TIMER_EVERY == 1:
                kind = "due_timer"
            days, kind = _days_for(template, kind, rng)
        fresh = kind == "overdue" and rng.randrange(FRESH_BREACH_EVERY) == 0
        noticed = kind == "overdue" and not fresh
        last_number += 1
        number_text = f"2026-{last_number:06d}"
        prefix = f"{index:08x}"
        slot_values = [prefix + suffix for suffix in suffixes[:template.number_slot]] + [number_text]
        recipes = variants.get((template.position, days))
        if recipes is None:
            recipes = variants[(template.position, days)] = _variant(template, days, dialect)
        instance_id = next_id["instance"]
        first_task = next_id["task"]
        ready_id = None
        for recipe in recipes:
            name = recipe.table
            row_id = next_id[name]
            next_id[name] = row_id + 1
            values: list[Any] = [] if copy_text else recipe.base.copy()
            for position, what, argument in recipe.fills:
                if what == ID:
                    value: Any = row_id
                elif what == CASE:
                    value = instance_id
                elif what == TEXT:
                    value = argument[0] % argument[1](slot_values)
                elif what == TASK_REF:
                    value = first_task + argument
                else:
                    value = noticed
                    ready_id = row_id
                    if copy_text:
                        value = "t" if noticed else "f"
                if copy_text:
                    values.append(value)
                else:
                    values[position] = value
            out[name].append(recipe.line % tuple(values) if copy_text else values)
        if offset < count:
            plan.by_position[template.position] += 1
        plan.overdue += kind == "overdue"
        plan.fresh_breaches += fresh
        plan.due_timers += kind == "due_timer"
        if noticed:
            number = f"{template.number.split('-', 1)[0]}-{number_text}"
            due = template.anchor + days * DAY
            subject = BREACH_SUBJECTS["task_overdue"].format(step=template.open_name, number=number)
            body = f"{subject}.\nСтрок: {due.astimezone(NOW.tzinfo).isoformat()}.\nСправа: {number} (address_aid)."
            for login, roles in people:
                if "manager" in roles or template.open_role in roles:
                    row = [next_id["notification"], "task_overdue", instance_id, ready_id, login, None, subject, body,
                           due + timedelta(seconds=5), None, None, "pending", None, 0, None]  # the outbox as alerts writes it
                    next_id["notification"] += 1
                    if copy_text:
                        out["notification"].append("\t".join(dialect.constant(v) for v in row) + "\n")
                    else:
                        row[8] = dialect.stored(row[8])
                        out["notification"].append(row)
    built = time.perf_counter()
    write(db, dialect, out)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE counters SET last = :last WHERE process_key = 'address_aid' AND year = 2026"),
                           {"last": last_number})
    plan.seconds = {"build": round(built - started, 2), "write": round(time.perf_counter() - built, 2)}
    plan.rows = {name: len(rows) for name, rows in out.items()}
    return plan


def write(db: Database, dialect: Dialect, out: dict[str, list[Any]]) -> None:
    """Bulk-load the rows: COPY on PostgreSQL, one executemany transaction on SQLite."""
    order = ["instance", "task", "timer", "audit", "notification"]
    columns = {name: [c.name for c in TABLES[name].columns] for name in order}
    raw = db.engine.raw_connection()
    try:
        if dialect.copy_text:
            with raw.cursor() as cursor:
                for name in order:
                    if not out[name]:
                        continue
                    with cursor.copy(f"COPY {TABLES[name].name} ({', '.join(columns[name])}) FROM STDIN") as pipe:
                        for start in range(0, len(out[name]), 2000):
                            pipe.write("".join(out[name][start:start + 2000]))
                for name in order:
                    table = TABLES[name].name
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        else:
            cursor = raw.cursor()
            cursor.execute("PRAGMA synchronous=OFF")  # this connection only: a bulk load, not the engine's commits
            for name in order:
                if out[name]:
                    marks = ", ".join("?" for _ in columns[name])
                    cursor.executemany(f"INSERT INTO {TABLES[name].name} ({', '.join(columns[name])}) VALUES ({marks})", out[name])
            raw.commit()
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()
        raw.commit()
    finally:
        raw.close()


def analyze(db: Database, dialect: Dialect) -> None:
    """PostgreSQL: VACUUM ANALYZE, what autovacuum does after a large load (planner statistics,
    and the visibility map that lets counts be answered from an index)."""
    if dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def remove_cases(db: Database, instance_ids: list[int]) -> None:
    """Delete cases and every row of theirs (the templates, once read)."""
    marks = ", ".join(str(i) for i in instance_ids)
    with db.engine.begin() as connection:
        postgresql = connection.dialect.name == "postgresql"
        if postgresql:  # the audit table is append-only (migration 0005): the benchmark owns its schema
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        for table in ("notifications", "audit_events", "tasks", "timers"):
            connection.execute(text(f"DELETE FROM {table} WHERE instance_id IN ({marks})"))
        connection.execute(text(f"DELETE FROM process_instances WHERE id IN ({marks})"))
        if postgresql:
            connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def verify(db: Database, settings: Settings, sample: int, seed: int) -> dict[str, Any]:
    """Load ``sample`` generated cases through the engine: open steps and timers must match their rows."""
    rng = random.Random(seed)
    checked, problems = 0, []
    with db.unit_of_work() as uow:
        ids = list(uow.session.scalars(text("SELECT id FROM process_instances WHERE status = 'running'")))
    ctx = Context(settings, FixedClock(NOW))
    for instance_id in rng.sample(ids, min(sample, len(ids))):
        with db.unit_of_work() as uow:
            instance = uow.session.get(Instance, instance_id)
            workflow = runtime.load(instance.state, definitions.compiled(queries.definition_of(uow, instance)), ctx)
            steps = {s.spiff_id for s in runtime.open_steps(workflow)}
            timers = {t.spiff_id: t.fires_at for t in runtime.waiting_timers(workflow)}
            rows = {t.spiff_id for t in queries.open_tasks(uow, instance_id)}
            timer_rows = {t.spiff_id: t.fires_at for t in queries.waiting_timers(uow, instance_id)}
            if steps != rows or timers != timer_rows:
                problems.append(instance_id)
            checked += 1
    return {"checked": checked, "mismatched": problems[:10]}


def people(db: Database) -> list[tuple[str, list[str]]]:
    """Every user's login and roles (who a breach notifies)."""
    with db.unit_of_work() as uow:
        return [(user.login, list(user.roles)) for user in uow.session.scalars(select(User).order_by(User.id))]


if __name__ == "__main__":  # python -m bench.generate --database-url URL --open-cases N (see bench/fill.py)
    from bench.fill import main

    raise SystemExit(main())
