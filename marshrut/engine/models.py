"""The database rows: one class per table, typed SQLAlchemy 2.0 mappings.

"Definition" here is a deployed diagram version and "instance" a case; nothing in this
module holds behaviour beyond what a row needs.
"""

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator,
                        UniqueConstraint, false, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


#: A search key column: bytewise order on every backend (PostgreSQL's "C" collation).
SEARCH_KEY = String(100).with_variant(String(100, collation="C"), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of every Marshrut table."""


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    email: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: A ``provider`` user's organisation (an id of reference/providers.json).
    provider_id: Mapped[str | None] = mapped_column(String(100))


class Definition(Base):
    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    # The diagram's sources are read only when asked for: a running case gets them from the
    # compiled cache (definitions.compiled), and reading and parsing them per request cost more
    # than the rest of a step.
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True, deferred_group="sources")
    dmn_xml: Mapped[dict[str, str]] = mapped_column(JSON, deferred=True, deferred_group="sources")
    forms: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True, deferred_group="sources")
    properties: Mapped[dict[str, str]] = mapped_column(JSON)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, deferred=True, deferred_group="sources")
    checksum: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deployed_by: Mapped[str | None] = mapped_column(String(80))


class Instance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_instances_key_status", "process_key", "status"),
        Index("ix_instances_status_target", "status", "target_due"),
        Index("ix_instances_status_legal", "status", "legal_due"),
        Index("ix_instances_completed_at", "completed_at"),  # cases still running at a past moment (?at=)
        Index("ix_instances_status_review", "status", "forecast_review_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    process_key: Mapped[str] = mapped_column(String(100))
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    status: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    target_due: Mapped[datetime | None] = mapped_column(UtcDateTime)
    legal_due: Mapped[datetime | None] = mapped_column(UtcDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Forecast finish along the expected path (remaining steps at their upper limits).
    forecast_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: When ``forecast_at`` was computed: a late case's forecast moves only with the date, so
    #: the worker re-forecasts those not computed yet today, not every late case every pass.
    forecast_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: When the part of the case its target and legal dates measure was done (end, or ``sla_until``).
    sla_met_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    target_breach_recorded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    legal_breach_recorded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    lock_version: Mapped[int] = mapped_column(Integer)
    #: What the forecast was built from: ``history`` (observed step durations) or ``card`` (SPEC §5).
    forecast_basis: Mapped[str | None] = mapped_column(String(10))
    #: From this moment the forecast moves with the clock (an open step ran past its expected end).
    forecast_review_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # --- search (engine/search.py): normalised keys, compared bytewise so a prefix is an index range ---
    search_number: Mapped[str | None] = mapped_column(SEARCH_KEY, index=True)
    search_surname: Mapped[str | None] = mapped_column(SEARCH_KEY, index=True)
    search_first_name: Mapped[str | None] = mapped_column(SEARCH_KEY, index=True)
    search_rnokpp: Mapped[str | None] = mapped_column(String(10), index=True)
    #: "Бондаренко О. П.", shown in lists to those who may see the case.
    applicant_name: Mapped[str | None] = mapped_column(String(200))
    __mapper_args__ = {"version_id_col": lock_version}


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # A role's work list, first page: walked in due order, never sorted (ORDER BY due_at NULLS LAST, id);
        # provider_id last (never changes the order, id is unique) so that the list's total is
        # counted from the index alone, not from every row of the role's steps.
        Index("ix_tasks_state_role_due", "state", "role", "due_at", "id", "provider_id"),
        Index("ix_tasks_state_due", "state", "due_at"),
        # Late at a moment (the overdue view): not yet closed, or closed after it; past due, created by then.
        Index("ix_tasks_completed_due", "completed_at", "due_at", "created_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(100))
    spiff_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(2))
    participants: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: When the step turns "at risk" (a share of its time gone); stored so lists filter in SQL.
    at_risk_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: ",role,role," of the participants, so visibility is a LIKE on every backend.
    participant_roles: Mapped[str] = mapped_column(String(300), default="")
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    breach_recorded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Data that belongs to this step alone, e.g. the service of one parallel delivery.
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The provider the decision named for this delivery branch; only its users see and complete it.
    provider_id: Mapped[str | None] = mapped_column(String(100))


class Timer(Base):
    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_state_fires", "state", "fires_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    spiff_id: Mapped[str] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    escalation: Mapped[str | None] = mapped_column(String(20))
    fires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(20))
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Failed tries to fire it; the worker waits until ``next_attempt_at`` before the next one.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The open incident that holds it (the worker leaves it alone until the incident is retried).
    incident_id: Mapped[int | None] = mapped_column(Integer)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(80))
    event: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Counter(Base):
    """Last registration number issued per process and year."""

    __tablename__ = "counters"
    process_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Setting(Base):
    """Small shared values every process must agree on (the controlled clock)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Notification(Base):
    """A message to one user about one breach; e-mailed when SMTP is configured."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("breach", "instance_id", "task_id", "recipient"),
        Index("ix_notifications_recipient_read", "recipient", "read_at"),
        Index("ix_notifications_unsent", "emailed_at", "email"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    breach: Mapped[str] = mapped_column(String(30))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[int] = mapped_column(Integer, default=0)
    recipient: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The e-mail's outbox state: ``pending``, ``sending`` (claimed by a worker), ``sent``, ``failed``.
    email_state: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    #: When a worker claimed it (the machine's clock): a claim older than the timeout is retried once.
    email_claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    email_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    email_error: Mapped[str | None] = mapped_column(Text)


# --- incidents ---


class Incident(Base):
    """Automatic work of a case that failed at one element (a script, a condition, a decision,
    a timer's continuation): the case waits there until the incident is retried."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "resolved_at", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(100))
    #: The failed task in the case's workflow (ERROR state); ``None`` for a timer that could not fire.
    spiff_id: Mapped[str | None] = mapped_column(String(36))
    timer_id: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Failed runs of the element (the first included).
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    last_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(80))


# --- web security: revocable sessions, failed logins ---


class WebSession(Base):
    """A logged-in page session; the cookie carries its random id, the row only its digest.

    Logout (or an expiry) revokes it here, so a copied cookie stops working.
    """

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LoginFailure(Base):
    """One failed password login, counted per login and per client address to slow guessing down."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_login_at", "login", "at"), Index("ix_login_failures_address_at", "address", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- documents and comments (engine/documents.py, engine/comments.py) ---


class Document(Base):
    """A scanned document attached to a case; its bytes live in the document storage under ``storage_key``."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: Removed from the case's list by its uploader; the row and the bytes stay for the audit.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deleted_by: Mapped[str | None] = mapped_column(String(80))


class Comment(Base):
    """A note on a case, or on one of its steps, by anyone who may see the case."""

    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- scale: managers' views at a million open cases ---
# Counts by step of the tasks open now (sla.summary): an index-only walk of the open tasks alone.
Index("ix_tasks_open_steps", Task.process_key, Task.element_id, Task.name, Task.due_at, Task.at_risk_at, Task.created_at,
      postgresql_where=Task.completed_at.is_(None), sqlite_where=Task.completed_at.is_(None))
# A process's steps completed in a window (forecast.observed_durations, once a day per process).
Index("ix_tasks_done_by_time", Task.process_key, Task.completed_at,
      postgresql_where=Task.state == "completed", sqlite_where=Task.state == "completed")
# Running cases by process and their dates (sla.summary).
Index("ix_instances_running_sla", Instance.process_key, Instance.received_at, Instance.target_due, Instance.legal_due,
      Instance.sla_met_at, Instance.forecast_at,
      postgresql_where=Instance.completed_at.is_(None), sqlite_where=Instance.completed_at.is_(None))


# --- SLA tallies (engine/sla_tallies.py): counters the managers' views read, kept by triggers ---
class SlaTally(Base):
    """One key's count, folded from the changes by the worker."""

    __tablename__ = "sla_tallies"
    __table_args__ = (Index("ix_sla_tallies_zero", "tally", sqlite_where=text("amount = 0"),
                            postgresql_where=text("amount = 0")),)
    tally: Mapped[str] = mapped_column(String(12), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(500), primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    amount: Mapped[int] = mapped_column(BigInteger)


class SlaTallyChange(Base):
    """+1 or −1 under a key, appended by a trigger with each change of a task or a case."""

    __tablename__ = "sla_tally_changes"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tally: Mapped[str] = mapped_column(String(12))
    process_key: Mapped[str] = mapped_column(String(100))
    element_id: Mapped[str] = mapped_column(String(500))
    bucket: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(Integer)
# The running cases newest first (the case list filtered by SLA walks these, not the finished ones).
Index("ix_instances_running_id", Instance.id, postgresql_where=text("status = 'running'"),
      sqlite_where=text("status = 'running'"))
# The running cases whose measured part is not done, by each date: a page of the late ones
# (sla.overdue_page) reads that page and stops (migration 0013).
_UNMET = text("status = 'running' AND completed_at IS NULL AND sla_met_at IS NULL")
Index("ix_instances_unmet_target", Instance.target_due, Instance.id, postgresql_where=_UNMET, sqlite_where=_UNMET)
Index("ix_instances_unmet_legal", Instance.legal_due, Instance.target_due, Instance.id, postgresql_where=_UNMET,
      sqlite_where=_UNMET)
Index("ix_instances_met_running", Instance.sla_met_at, postgresql_where=text("status = 'running' AND completed_at IS NULL"),
      sqlite_where=text("status = 'running' AND completed_at IS NULL"))
# Open steps by due date (sla.overdue_page's late steps, a walk in the page's order), and the
# open steps with participants (queries.list_tasks: the steps a participant takes part in).
Index("ix_tasks_open_due", Task.due_at, Task.created_at, Task.id, postgresql_where=Task.completed_at.is_(None),
      sqlite_where=Task.completed_at.is_(None))
Index("ix_tasks_participating", Task.due_at, Task.id,
      postgresql_where=text("state = 'ready' AND length(participant_roles) > 2"),
      sqlite_where=text("state = 'ready' AND length(participant_roles) > 2"))
# The breaches not yet noticed, by due date (alerts.record_breaches' batch is the range before now).
Index("ix_tasks_unnoticed_due", Task.due_at, Task.id, postgresql_where=text("state = 'ready' AND breach_recorded IS false"),
      sqlite_where=text("state = 'ready' AND breach_recorded IS 0"))
for _due, _flag in (("target_due", "target_breach_recorded"), ("legal_due", "legal_breach_recorded")):
    Index(f"ix_instances_unnoticed_{_due.removesuffix('_due')}", getattr(Instance, _due), Instance.id,
          postgresql_where=text(f"status = 'running' AND sla_met_at IS NULL AND {_flag} IS false"),
          sqlite_where=text(f"status = 'running' AND sla_met_at IS NULL AND {_flag} IS 0"))
# Steps turning "at risk" in one hour (sla_tallies.boundary), as ix_tasks_state_due for due dates.
Index("ix_tasks_state_risk", Task.state, Task.at_risk_at)
