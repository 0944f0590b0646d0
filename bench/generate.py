"""Many open cases of every process, fast: real cases copied by the database itself.

One real case of each process (address aid, the social-services roadmap, the annual
needs-assessment plan) is walked through the engine's use cases, and its rows as stored
(case, steps, timers, audit events) are read after each step: one *template* per point of
its path (each step open, both parallel deliveries open, waiting for the committee meeting,
…) and one finished. Every template is cut into *variants* — its rows with every date moved
by a whole number of days — stored in small staging tables, with the step ids in the saved
workflow (and wherever else they occur) and the registration number replaced by
placeholders. Each copy is then one row of a *plan* (template, shift, new ids, number), and
``INSERT … SELECT`` over the plan joined to the variants makes every row of every copy inside
the database (the placeholders filled with ``replace``): nothing runs through Python per row.
The shift is chosen so that the copy's open step was opened in the past and is due in the
future, except:

- ``overdue_share`` of the copies whose step can be late before the case's own target
  date: the step is 0–9 days overdue and the breach was already noticed (flag set,
  notifications stored), as a worker that has been running leaves them; one in
  ``FRESH_BREACH_EVERY`` of those has not been noticed yet;
- one in ``DUE_TIMER_EVERY`` of the copies waiting for the committee: the meeting has
  begun and the worker has not fired the timer yet;
- finished copies, closed 0–330 days before ``NOW``.

:func:`verify` loads a sample of the open copies of every process back through the engine
and checks that their rows and states agree.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, Text, select, text

from bench.common import kyiv
from bench.samples import APPLICATION, STEPS
from marshrut.engine import cases, definitions, queries, runtime, users
from marshrut.engine.alerts import BREACH_SUBJECTS
from marshrut.engine.clock import FixedClock
from marshrut.engine.config import PROJECT_ROOT, Settings
from marshrut.engine.context import Context
from marshrut.engine.models import AuditEvent, Instance, Notification, Task, Timer, User, UtcDateTime
from marshrut.engine.store import Database

#: The moment the generated department stands at (a Monday morning).
NOW = kyiv("2026-03-02 10:00")
#: Template cases are registered here and walked 20 minutes a step (timers fire when they are due).
TEMPLATE_START = kyiv("2026-02-02 09:00")
FRESH_BREACH_EVERY = 100
DUE_TIMER_EVERY = 300
#: Open copies are moved at most this many days before their template (a plan due on 31 December
#: is not made a year older).
MAX_BACK_DAYS = 60
FINISHED_SPREAD_DAYS = 330
DAY = timedelta(days=1)
#: The roles that work the address-aid path (the bench's task-list callers).
ROLES_OF_PATH = ("programs_dept", "appeals_office", "org_specialist", "director", "programs_deputy", "programs_head",
                 "accounting_head")
#: Where a copy's own values go in a text of the staging tables: the first 8 hex digits of each step id,
#: and the registration number ("2026-000123"). PostgreSQL fills them with ``format`` (one pass over a
#: saved workflow of ~14 KB; a literal ``%`` doubled), SQLite with ``replace``.
PLACEHOLDERS = {"postgresql": ("%1$s", "%2$s"), "sqlite": ("{{ID8}}", "{{NUM}}")}

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_DATE = r"20\d\d-[01]\d-[0-3]\d"
TABLES: dict[str, Table] = {"instance": Instance.__table__, "task": Task.__table__, "timer": Timer.__table__,  # type: ignore[dict-item]
                            "audit": AuditEvent.__table__, "notification": Notification.__table__}
COPIED = ("instance", "task", "timer", "audit")


# --- the processes and their template cases -----------------------------------------------

def _samples() -> dict[str, Any]:
    import json
    return json.loads((PROJECT_ROOT / "reference" / "demo_cases.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Process:
    """A process to generate: how its template case is registered and walked."""

    key: str
    start_role: str
    application: dict[str, Any]
    path: list[tuple[str, dict[str, Any]]]  # (element id, form data) of each completion, in order


def processes() -> list[Process]:
    samples = _samples()
    aid_path = ["accept_documents", "form_personal_file", "register_application", "send_to_director", "director_resolution",
                "send_to_executor", "prepare_commission_materials", "prepare_commission_minutes", "draft_committee_decision",
                "endorse_draft_decision", "record_committee_decision", "prepare_payment_registers", "notify_applicant"]
    roadmap_steps = samples["roadmap_steps"]
    roadmap_path = ["register_application", "assess_needs", "decide", "notify_decision", "draft_individual_plan",
                    "sign_contract", "deliver_service", "deliver_service"]  # two services, delivered in parallel
    measures = ["social_research", "analyse_development_documents", "analyse_service_system", "monitor_service_providers",
                "assess_needs_satisfaction", "forecast_vulnerable_groups", "define_required_services",
                "approve_needs_report", "introduce_services", "approve_services_list"]
    return [
        Process("address_aid", "programs_dept", APPLICATION, [(e, STEPS[e]) for e in aid_path]),
        Process("social_services_roadmap", "dept_specialist", samples["roadmap"],
                [(e, roadmap_steps[e]) for e in roadmap_path]),
        Process("needs_assessment_plan", "dept_specialist", {"year": 2026},
                [(e, {"result": f"Виконано: {e}", "completed_on": "2026-02-02"}) for e in measures]),
    ]


#: Open cases: address aid and the roadmap share them 3 : 2; the needs-assessment plan (one per
#: year in a department, SPEC §3.3) gets one open case per measure, so that every measure shows.
MIX = {"address_aid": 3, "social_services_roadmap": 2}
PLAN = "needs_assessment_plan"


def walk(db: Database, settings: Settings, process: Process, snapshot: Callable[[int, int], None]) -> int:
    """Register and walk one case of ``process``; ``snapshot(instance_id, position)`` after each point of its path."""
    def at(moment: datetime) -> Context:
        return Context(settings, FixedClock(moment))

    with db.unit_of_work() as uow:
        actors: dict[str, Any] = {}
        for user in uow.session.scalars(select(User)):
            actors[user.login] = users.actor_of(user)
        instance_id = cases.start_case(uow, actors[process.start_role], at(TEMPLATE_START), process.key,
                                       process.application).id
        uow.commit()
    moment, position = TEMPLATE_START, 0
    snapshot(instance_id, position)
    for element_id, data in process.path:
        with db.unit_of_work() as uow:
            waiting = not queries.open_tasks(uow, instance_id)
            if waiting:  # for a timer (the committee meeting): it fires when due
                moment = max(moment, min(t.fires_at for t in queries.waiting_timers(uow, instance_id)))
                cases.fire_due_timers(uow, at(moment), instance_id)
                uow.commit()
        if waiting:
            position += 1
            snapshot(instance_id, position)
        with db.unit_of_work() as uow:
            task = next(t for t in queries.open_tasks(uow, instance_id) if t.element_id == element_id)
            login = f"provider-{task.provider_id}" if task.provider_id else task.role
            moment += timedelta(minutes=20)
            cases.complete_task(uow, actors[login], at(moment), task.id, data)
            uow.commit()
        position += 1
        snapshot(instance_id, position)
    return instance_id


def provider_users(db: Database, now: datetime) -> None:
    """A ``provider-<id>`` user for each provider organisation of the reference data (the roadmap's deliveries)."""
    from marshrut.engine import reference
    with db.unit_of_work() as uow:
        known = set(uow.session.scalars(select(User.login)))
        for provider in reference.providers():
            login = f"provider-{provider['id']}"
            if provider.get("kind") == "provider" and login not in known:
                users.create_user(uow, login, ["provider"], now, name=login, token=f"bench-token-{login}",
                                  provider_id=provider["id"])
        uow.commit()


# --- stored values, and how a copy changes them -----------------------------------------

class Dialect:
    """How a backend stores values: SQLite naive-UTC text, PostgreSQL timestamptz and json."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.postgresql = name == "postgresql"

    def moment(self, value: Any) -> datetime | None:
        """A stored datetime as an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


def _shift_date(value: str, days: int) -> str:
    return (datetime.strptime(value, "%Y-%m-%d") + timedelta(days=days)).strftime("%Y-%m-%d")


class Piece:
    """A stored text (workflow state, JSON, number) cut at its step ids, dates and registration number."""

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

    @property
    def per_copy(self) -> bool:
        """Each copy has its own text (a step id or the number in it)."""
        return any(kind != "date" for kind, _value in self.slots)

    def moved(self, days: int, suffixes: Any, placeholders: tuple[str, str] | None) -> str:
        """The text with its dates moved by ``days``; with ``placeholders`` (a column filled per copy),
        step ids as ``<id8 placeholder><suffix>`` and the number as its placeholder."""
        if placeholders is None:
            assert not self.per_copy
            return "".join(part for pair in zip(self.parts, [_shift_date(v, days) for _k, v in self.slots] + [""])
                           for part in pair)
        escape = (lambda text_: text_.replace("%", "%%")) if placeholders[0].startswith("%") else (lambda text_: text_)
        id8, number = placeholders
        out = [escape(self.parts[0])]
        for (kind, value), part in zip(self.slots, self.parts[1:]):
            out.append(_shift_date(value, days) if kind == "date" else id8 + suffixes[value] if kind == "uuid" else number)
            out.append(escape(part))
        return "".join(out)


@dataclass
class Template:
    """The stored rows of one real case standing at one point of its path, ready to copy."""

    process: str
    position: int
    finished: bool
    rows: dict[str, list[dict[str, Any]]]
    prefix: str  # of the registration number ("АД")
    anchor: datetime  # when the open step is due, or when the waiting timer fires
    latest: datetime  # the last thing that happened to the case
    target: datetime | None
    open_role: str | None
    open_name: str | None
    open_provider: str | None
    waiting: bool  # no open step: waiting for a timer
    texts: dict[tuple[str, int, str], Piece] = field(default_factory=dict)

    @property
    def may_be_late(self) -> bool:
        """Its step (a role's, not a provider's) can be overdue while the case is still before its target date."""
        return (self.open_role is not None and self.open_provider is None and self.target is not None
                and self.anchor < self.target - 3 * DAY)


def _select(connection: Any, dialect: str, table: Table, where: str, value: int) -> list[dict[str, Any]]:
    names = [c.name + ("::text" if dialect == "postgresql" and c.type.__class__.__name__ == "JSON" else "")
             for c in table.columns]
    query = text(f"SELECT {', '.join(names)} FROM {table.name} WHERE {where} = :value ORDER BY id")
    keys = [c.name for c in table.columns]
    return [dict(zip(keys, row)) for row in connection.execute(query, {"value": value})]


_TIME_COLUMNS = ("created_at", "updated_at", "completed_at", "at", "fired_at")


def read_template(db: Database, dialect: Dialect, process: str, position: int, instance_id: int,
                  uuids: dict[str, int], with_audit: bool) -> Template:
    """The case's rows exactly as stored now, with their texts cut into :class:`Piece` s."""
    with db.engine.connect() as connection:
        rows = {
            "instance": _select(connection, dialect.name, TABLES["instance"], "id", instance_id),
            "task": _select(connection, dialect.name, TABLES["task"], "instance_id", instance_id),
            "timer": _select(connection, dialect.name, TABLES["timer"], "instance_id", instance_id),
            "audit": _select(connection, dialect.name, TABLES["audit"], "instance_id", instance_id) if with_audit else [],
        }
    instance = rows["instance"][0]
    ready = [t for t in rows["task"] if t["state"] == "ready"]
    waiting = [t for t in rows["timer"] if t["state"] == "waiting"]
    moments = [dialect.moment(v) for table in rows.values() for row in table for k, v in row.items()
               if k in _TIME_COLUMNS and v is not None]
    finished = instance["status"] == "completed"
    anchor = (instance["completed_at"] if finished else ready[0]["due_at"] if ready
              else min(t["fires_at"] for t in waiting))
    prefix, suffix = instance["number"].split("-", 1)  # "АД", "2026-000003"
    template = Template(process, position, finished, rows, prefix, dialect.moment(anchor),  # type: ignore[arg-type]
                        max(moments), dialect.moment(instance["target_due"]),  # type: ignore[arg-type]
                        ready[0]["role"] if ready else None, ready[0]["name"] if ready else None,
                        ready[0]["provider_id"] if ready else None, not finished and not ready)
    pattern = re.compile(f"(?P<uuid>{_UUID})|(?P<number>{re.escape(suffix)})|(?P<date>{_DATE})")
    for table_name, table_rows in rows.items():
        for index, row in enumerate(table_rows):
            for column in TABLES[table_name].columns:
                value = row[column.name]
                if isinstance(value, str) and not isinstance(column.type, UtcDateTime):
                    piece = Piece(value, pattern, uuids)
                    if piece.slots:
                        template.texts[(table_name, index, column.name)] = piece
    return template


def make_templates(db: Database, settings: Settings, dialect: Dialect, with_audit: bool = True
                   ) -> tuple[dict[str, list[Template]], list[int]]:
    """Walk one case of every process; its templates by process (the last one finished), and the walked ids."""
    provider_users(db, TEMPLATE_START)
    templates: dict[str, list[Template]] = {}
    walked = []
    for process in processes():
        uuids: dict[str, int] = {}
        found: list[Template] = []
        walked.append(walk(db, settings, process, lambda instance_id, position, key=process.key, uuids=uuids, found=found:
                           found.append(read_template(db, dialect, key, position, instance_id, uuids, with_audit))))
        assert found[-1].finished and not any(t.finished for t in found[:-1]), process.key
        templates[process.key] = found
    return templates, walked


# --- variants: a template moved by some days, in the staging tables ---------------------------

def _is_json(column: Column[Any]) -> bool:
    return column.type.__class__.__name__ == "JSON"


def staging_tables(per_copy: set[tuple[str, str]]) -> dict[str, Table]:
    """``gen_v_<table>``: the copied tables' columns (JSON as text, typed once stored), ``<column>__fmt`` where
    a row's value differs per copy (then with placeholders; the plain column is then empty), the variant and
    the row's place in it."""
    metadata = MetaData()
    tables = {}
    for name in COPIED:
        columns = [Column(c.name, Text if _is_json(c) else c.type) for c in TABLES[name].columns]
        columns += [Column(f"{c.name}__fmt", Text) for c in TABLES[name].columns if (name, c.name) in per_copy]
        extra = [Column("gen_variant", Integer), Column("gen_k", Integer)]
        if name == "audit":
            extra.append(Column("gen_task_k", Integer))
        tables[name] = Table(f"gen_v_{name}", metadata, *columns, *extra)
    return tables


class Suffixes:
    """The rest of a copied step id after its copy's 8 hex digits: the template's slot and a salt of this run."""

    def __init__(self, salt: str) -> None:
        self.salt = salt

    def __getitem__(self, slot: int) -> str:
        return f"-{slot:04x}-4{self.salt[:3]}-8{self.salt[3:6]}-{self.salt[6:18]}"


class Variants:
    """Every template moved by every shift a copy may get, numbered, for the staging tables."""

    def __init__(self, dialect: Dialect, suffixes: Suffixes, templates: dict[str, list[Template]],
                 full_finished_state: bool) -> None:
        self.dialect = dialect
        self.suffixes = suffixes
        self.full_finished_state = full_finished_state
        self.per_copy = _all_per_copy(templates)
        self.placeholders = PLACEHOLDERS[dialect.name]
        self.ids: dict[tuple[str, int, int], int] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in COPIED}
        self.ready_k: dict[int, int | None] = {}  # the first open step's place among a variant's steps
        for process_templates in templates.values():
            for template in process_templates:
                for days in shifts(template):
                    self.ids[(template.process, template.position, days)] = len(self.ids)
                    self._make(template, days, len(self.ids) - 1)

    def of(self, template: Template, days: int) -> int:
        return self.ids[(template.process, template.position, days)]

    def _make(self, template: Template, days: int, variant: int) -> None:
        task_positions = {row["id"]: k for k, row in enumerate(template.rows["task"])}
        shift = timedelta(days=days)
        ready = [k for k, row in enumerate(template.rows["task"]) if row["state"] == "ready"]
        self.ready_k[variant] = ready[0] if ready else None
        for name in COPIED:
            for k, row in enumerate(template.rows[name]):
                out: dict[str, Any] = {"gen_variant": variant, "gen_k": k}
                for column in TABLES[name].columns:
                    value = row[column.name]
                    piece = template.texts.get((name, k, column.name))
                    if (name, column.name) in self.per_copy:
                        out[f"{column.name}__fmt"] = None
                    if name == "instance" and column.name == "state" and template.finished and not self.full_finished_state:
                        value = ""  # never loaded again (see the module's notes); the product keeps ~3.5 KB here
                    elif piece is not None and piece.per_copy:
                        out[f"{column.name}__fmt"], value = piece.moved(days, self.suffixes, self.placeholders), None
                    elif piece is not None:
                        value = piece.moved(days, self.suffixes, None)
                    elif isinstance(column.type, UtcDateTime) and value is not None:
                        value = self.dialect.moment(value) + shift  # type: ignore[operator]
                    out[column.name] = value
                if name == "audit":
                    out["gen_task_k"] = task_positions.get(row["task_id"]) if row["task_id"] is not None else None
                self.rows[name].append(out)

    def store(self, connection: Any, tables: dict[str, Table]) -> None:
        """Write the staging tables (on PostgreSQL the JSON no copy changes is typed ``json`` once, here)."""
        for name, rows in self.rows.items():
            for start in range(0, len(rows), 2000):
                connection.execute(tables[name].insert(), rows[start:start + 2000])
            if self.dialect.postgresql:
                for column in TABLES[name].columns:
                    if _is_json(column):
                        connection.execute(text(f"ALTER TABLE gen_v_{name} ALTER COLUMN {column.name} TYPE json "
                                                f"USING {column.name}::json"))


# --- the plan: one row per copy -----------------------------------------------------------

#: Seconds spent in each table's INSERT … SELECT (summed over the loaders), for the report.
SECONDS: dict[str, float] = {}
PLAN_COLUMNS = ("variant", "instance_id", "task_base", "timer_base", "audit_base", "id8", "num", "noticed")


@dataclass
class Plan:
    """What one generation added, for the report."""

    open_cases: int = 0
    finished_cases: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    fresh_breaches: int = 0
    due_timers: int = 0
    by_stage: dict[str, list[int]] = field(default_factory=dict)
    finished_by_process: dict[str, int] = field(default_factory=dict)


def shifts(template: Template) -> range:
    """Every whole-day shift :func:`_days_for` (or a finished copy) may give the template."""
    latest_allowed = (NOW - template.latest) // DAY
    if template.finished:
        return range(latest_allowed - FINISHED_SPREAD_DAYS, latest_allowed + 1)
    return range(min(latest_allowed - MAX_BACK_DAYS, (NOW - template.anchor) // DAY - 9), latest_allowed + 1)


def _days_for(template: Template, kind: str, rng: random.Random) -> tuple[int, str]:
    """A whole-day shift putting the copy at ``NOW`` as ``kind`` says (falls back to on time)."""
    latest_allowed = (NOW - template.latest) // DAY  # the copy's past stays in the past
    if kind in ("overdue", "due_timer"):
        days = min(latest_allowed, (NOW - template.anchor) // DAY - rng.randint(0, 9 if kind == "overdue" else 2))
        if template.anchor + days * DAY <= NOW and (template.target is None or template.target + days * DAY > NOW):
            return days, kind
    lowest = max((NOW - template.anchor) // DAY + 1, latest_allowed - MAX_BACK_DAYS)  # due (or firing) after NOW
    days = rng.randint(lowest, latest_allowed) if lowest <= latest_allowed else latest_allowed
    late = template.anchor + days * DAY <= NOW
    return days, ("overdue" if late and template.open_role else "due_timer" if late else "on_time")


class Planner:
    """Chooses each copy's process, template and shift, and gives it its ids and number."""

    def __init__(self, templates: dict[str, list[Template]], open_cases: int, finished_per_open: float,
                 overdue_share: float, seed: int, next_ids: dict[str, int], last_numbers: dict[str, int],
                 people: list[tuple[str, list[str]]], variants: Variants) -> None:
        self.templates = templates
        self.open_cases = open_cases
        self.finished_per_open = finished_per_open
        self.overdue_share = overdue_share
        self.rng = random.Random(seed)
        self.next_ids = dict(next_ids)
        self.numbers = dict(last_numbers)
        self.people = people
        self.variants = variants
        self.plans_open = min(len(templates[PLAN]) - 1, open_cases) if PLAN in templates else 0
        self.counts = {key: 0 for key in templates}
        self.finished_counts = {key: 0 for key in templates}
        self.report = Plan(by_stage={key: [0] * (len(ts) - 1) for key, ts in templates.items()})
        self.notifications: list[dict[str, Any]] = []
        rotation = [key for key, weight in MIX.items() for _ in range(weight)]
        self.rotation = rotation

    def _open_process(self, j: int) -> str:
        if j < self.plans_open:
            return PLAN
        return self.rotation[(j - self.plans_open) % len(self.rotation)]

    def batch(self, first: int, count: int) -> list[tuple[Any, ...]]:
        """Plan rows for open cases ``first … first + count`` and their share of finished ones."""
        rows = []
        for j in range(first, first + count):
            key = self._open_process(j)
            rows.append(self._copy(key, finished=False))
        finished_goal = round((first + count) * self.finished_per_open)
        made = sum(self.finished_counts.values())
        plans_goal = round(self.plans_open * self.finished_per_open)
        for f in range(made, finished_goal):
            key = PLAN if self.finished_counts.get(PLAN, 0) < plans_goal else self.rotation[f % len(self.rotation)]
            rows.append(self._copy(key, finished=True))
        return rows

    def _copy(self, key: str, finished: bool) -> tuple[Any, ...]:
        rng = self.rng
        templates = self.templates[key]
        if finished:
            template = templates[-1]
            days, kind = (NOW - template.latest) // DAY - rng.randint(0, FINISHED_SPREAD_DAYS), "finished"
            self.finished_counts[key] += 1
            self.report.finished_cases += 1
        else:
            stage = self.counts[key] % (len(templates) - 1)
            self.counts[key] += 1
            template = templates[stage]
            kind = "on_time"
            if template.may_be_late and rng.random() < self.overdue_share:
                kind = "overdue"
            elif template.waiting and self.counts[key] // len(templates) % DUE_TIMER_EVERY == 1:
                kind = "due_timer"
            days, kind = _days_for(template, kind, rng)
            self.report.by_stage[key][stage] += 1
            self.report.open_cases += 1
        fresh = kind == "overdue" and rng.randrange(FRESH_BREACH_EVERY) == 0
        noticed = kind == "overdue" and not fresh
        variant = self.variants.of(template, days)
        self.numbers[key] = self.numbers.get(key, 0) + 1
        number_text = f"2026-{self.numbers[key]:06d}"
        ids = self.next_ids
        # The copy's step ids begin with its case id in hex: unique in the database, also over several runs.
        row = (variant, ids["instance"], ids["task"], ids["timer"], ids["audit"], f"{ids['instance']:08x}", number_text,
               noticed)
        if noticed:
            ready_k = self.variants.ready_k[variant]
            self._notify(template, days, ids["instance"], ids["task"] + (ready_k or 0), number_text)
        ids["instance"] += 1
        for name in ("task", "timer", "audit"):
            ids[name] += len(template.rows[name])
        self.report.overdue += kind == "overdue"
        self.report.fresh_breaches += fresh
        self.report.due_timers += kind == "due_timer"
        return row

    def _notify(self, template: Template, days: int, instance_id: int, task_id: int, number_text: str) -> None:
        number = f"{template.prefix}-{number_text}"
        due = template.anchor + days * DAY
        subject = BREACH_SUBJECTS["task_overdue"].format(step=template.open_name, number=number)
        body = f"{subject}.\nСтрок: {due.astimezone(NOW.tzinfo).isoformat()}.\nСправа: {number} ({template.process})."
        for login, roles in self.people:
            if "manager" in roles or template.open_role in roles:
                self.notifications.append({
                    "id": self.next_ids["notification"], "breach": "task_overdue", "instance_id": instance_id,
                    "task_id": task_id, "recipient": login, "email": None, "subject": subject, "body": body,
                    "created_at": due + timedelta(seconds=5), "read_at": None, "emailed_at": None})
                self.next_ids["notification"] += 1


# --- copying inside the database -----------------------------------------------------------

def insert_statements(dialect: Dialect, per_copy: set[tuple[str, str]], plan_table: str) -> dict[str, str]:
    """``INSERT … SELECT`` of each copied table: the plan joined to the variants, placeholders filled."""
    statements = {}
    for name in COPIED:
        table = TABLES[name]
        expressions = []
        for column in table.columns:
            value = f"v.{column.name}"
            if column.name == "id":
                value = {"instance": "p.instance_id", "task": "p.task_base + v.gen_k",
                         "timer": "p.timer_base + v.gen_k", "audit": "p.audit_base + v.gen_k"}[name]
            elif column.name == "instance_id":
                value = "p.instance_id"
            elif name == "audit" and column.name == "task_id":
                value = "p.task_base + v.gen_task_k"
            elif name == "task" and column.name == "breach_recorded":
                value = "CASE WHEN v.state = 'ready' THEN p.noticed ELSE v.breach_recorded END"
            else:
                own = f"v.{column.name}__fmt"
                if (name, column.name) in per_copy and dialect.postgresql:
                    value = f"COALESCE(CAST(format({own}, p.id8, p.num) AS {'JSON' if _is_json(column) else 'TEXT'}), {value})"
                elif (name, column.name) in per_copy:
                    id8, number = PLACEHOLDERS["sqlite"]
                    value = f"COALESCE(replace(replace({own}, '{id8}', p.id8), '{number}', p.num), {value})"
            expressions.append(value)
        statements[name] = (f"INSERT INTO {table.name} ({', '.join(c.name for c in table.columns)}) "
                            f"SELECT {', '.join(expressions)} FROM {plan_table} p JOIN gen_v_{name} v ON v.gen_variant = p.variant")
    return statements


def load_batch(connection: Any, dialect: Dialect, rows: list[tuple[Any, ...]], statements: dict[str, str],
               notifications: list[dict[str, Any]]) -> None:
    """One batch of copies in one transaction: the plan rows, then every copied table from them."""
    if dialect.postgresql:
        connection.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS gen_plan (variant int, instance_id bigint, task_base bigint, timer_base bigint, "
            "audit_base bigint, id8 text, num text, noticed boolean)")
        connection.exec_driver_sql("TRUNCATE gen_plan")
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY gen_plan ({', '.join(PLAN_COLUMNS)}) FROM STDIN") as pipe:
            for row in rows:
                pipe.write_row(row)
    else:
        connection.exec_driver_sql(
            "CREATE TEMP TABLE IF NOT EXISTS gen_plan (variant int, instance_id int, task_base int, timer_base int, "
            "audit_base int, id8 text, num text, noticed boolean)")
        connection.exec_driver_sql("DELETE FROM gen_plan")
        connection.exec_driver_sql(f"INSERT INTO gen_plan VALUES ({', '.join('?' for _ in PLAN_COLUMNS)})", rows)
    for name in COPIED:
        began = time.perf_counter()
        connection.exec_driver_sql(statements[name])
        SECONDS[name] = SECONDS.get(name, 0.0) + time.perf_counter() - began
    if notifications:
        connection.execute(TABLES["notification"].insert(), notifications)
    connection.commit()


def copies(db: Database, dialect: Dialect, templates: dict[str, list[Template]], open_cases: int, *,
           finished_per_open: float, overdue_share: float, seed: int, people: list[tuple[str, list[str]]],
           batch: int, full_finished_state: bool = False, log: Callable[[str], None] = lambda _m: None) -> Plan:
    """Add ``open_cases`` open copies of the templates (every process, round robin over its stages) and
    ``finished_per_open`` finished copies for each. PostgreSQL loads two batches at a time, while the
    next batch is planned."""
    started = time.perf_counter()
    rng = random.Random(seed)
    salt = f"{rng.getrandbits(72):018x}"
    variants = Variants(dialect, Suffixes(salt), templates, full_finished_state)
    staging = staging_tables(variants.per_copy)
    with db.engine.begin() as connection:
        for table in staging.values():
            table.drop(connection, checkfirst=True)
            table.create(connection)
        variants.store(connection, staging)
        next_ids = {name: (connection.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {TABLES[name].name}")).scalar() or 0) + 1
                    for name in TABLES}
        last_numbers = {key: connection.execute(text("SELECT last FROM counters WHERE process_key = :key AND year = 2026"),
                                                {"key": key}).scalar() or 0 for key in templates}
    log(f"{len(variants.ids)} variants staged after {time.perf_counter() - started:.0f} s")
    planner = Planner(templates, open_cases, finished_per_open, overdue_share, seed, next_ids, last_numbers, people, variants)
    statements = insert_statements(dialect, variants.per_copy, "gen_plan")

    def planned() -> Iterator[tuple[list[tuple[Any, ...]], list[dict[str, Any]]]]:
        for first in range(0, open_cases, batch):
            rows = planner.batch(first, min(batch, open_cases - first))
            notes, planner.notifications = planner.notifications, []
            yield rows, notes

    work = planned()
    errors: list[BaseException] = []
    lock = threading.Lock()
    done = [0]

    def loader() -> None:
        with db.engine.connect() as connection:
            while not errors:
                with lock:  # the plan is made in Python while the other loader's batch runs in the database
                    item = next(work, None)
                if item is None:
                    return
                try:
                    load_batch(connection, dialect, item[0], statements, item[1])
                except BaseException as error:  # noqa: BLE001 - raised again in the calling thread
                    errors.append(error)
                    return
                with lock:
                    done[0] += len(item[0])
                    log(f"{done[0]} cases copied after {time.perf_counter() - started:.0f} s")

    threads = [threading.Thread(target=loader) for _ in range(2 if dialect.postgresql else 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    with db.engine.begin() as connection:
        for table in staging.values():
            table.drop(connection)
        for key, last in planner.numbers.items():
            connection.execute(text("UPDATE counters SET last = :last WHERE process_key = :key AND year = 2026"),
                               {"last": last, "key": key})
        if dialect.postgresql:
            for model in TABLES.values():
                table = model.name
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT MAX(id) FROM {table}))"))
    report = planner.report
    report.rows = {name: planner.next_ids[name] - next_ids[name] for name in TABLES}
    report.finished_by_process = dict(planner.finished_counts)
    return report


def _all_per_copy(templates: dict[str, list[Template]]) -> set[tuple[str, str]]:
    """Every (table, column) where some template's text holds a step id or the number."""
    return {(name, column) for ts in templates.values() for t in ts for (name, _k, column), piece in t.texts.items()
            if piece.per_copy}


def analyze(db: Database, dialect: Dialect) -> None:
    """PostgreSQL: VACUUM ANALYZE, what autovacuum does after a large load (planner statistics,
    and the visibility map that lets counts be answered from an index)."""
    if dialect.postgresql:
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
    """Load ``sample`` open cases of each process through the engine: open steps and timers must match their rows."""
    rng = random.Random(seed)
    checked: dict[str, int] = {}
    problems: list[int] = []
    ctx = Context(settings, FixedClock(NOW))
    with db.unit_of_work() as uow:
        keys = list(uow.session.scalars(text("SELECT DISTINCT process_key FROM process_instances WHERE status = 'running'")))
    for key in sorted(keys):
        with db.unit_of_work() as uow:
            ids = list(uow.session.scalars(text(
                "SELECT id FROM process_instances WHERE status = 'running' AND process_key = :key ORDER BY id LIMIT 100000"),
                {"key": key}))
        for instance_id in rng.sample(ids, min(sample, len(ids))):
            with db.unit_of_work() as uow:
                instance = uow.session.get(Instance, instance_id)
                workflow = runtime.load(instance.state, definitions.compiled(queries.definition_of(uow, instance)), ctx)
                steps = {s.spiff_id for s in runtime.open_steps(workflow)}
                timers = {t.spiff_id: t.fires_at for t in runtime.waiting_timers(workflow)}
                rows = {t.spiff_id for t in queries.open_tasks(uow, instance_id)}
                timer_rows = {t.spiff_id: t.fires_at for t in queries.waiting_timers(uow, instance_id)}
                if steps != rows or timers != timer_rows or not steps and not timers:
                    problems.append(instance_id)
            checked[key] = checked.get(key, 0) + 1
    return {"checked": checked, "mismatched": problems[:10]}


def people(db: Database) -> list[tuple[str, list[str]]]:
    """Every user's login and roles (who a breach notifies)."""
    with db.unit_of_work() as uow:
        return [(user.login, list(user.roles)) for user in uow.session.scalars(select(User).order_by(User.id))]


if __name__ == "__main__":  # python -m bench.generate --database-url URL --open-cases N (see bench/fill.py)
    from bench.fill import main

    raise SystemExit(main())
