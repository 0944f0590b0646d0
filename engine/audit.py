"""The audit log: one row per event, written in the same transaction as the change."""

from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.models import AuditEvent
from engine.store import UnitOfWork


def record(
    uow: UnitOfWork, event: str, actor: str | None, at: datetime,
    instance_id: int | None = None, task_id: int | None = None, data: dict[str, Any] | None = None,
) -> None:
    """Add an audit event (committed with the caller's unit of work)."""
    uow.session.add(AuditEvent(event=event, actor=actor, at=at, instance_id=instance_id, task_id=task_id, data=data or {}))


def history(uow: UnitOfWork, instance_id: int) -> list[AuditEvent]:
    """A case's events, oldest first."""
    query = select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.at, AuditEvent.id)
    return list(uow.session.scalars(query))
