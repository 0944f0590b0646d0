"""The audit log: one row per event, written in the same transaction as the change."""

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.models import AuditEvent
from engine.store import UnitOfWork

log = logging.getLogger("marshrut.audit")


def record(
    uow: UnitOfWork, event: str, actor: str | None, at: datetime,
    instance_id: int | None = None, task_id: int | None = None, data: dict[str, Any] | None = None,
) -> None:
    """Add an audit event (committed with the caller's unit of work), and say so in the log."""
    log.info("audit event %s", event, extra={"event": event, "actor": actor, "case": instance_id or "", "task": task_id})
    uow.session.add(AuditEvent(event=event, actor=actor, at=at, instance_id=instance_id, task_id=task_id, data=data or {}))


def history(uow: UnitOfWork, instance_id: int) -> list[AuditEvent]:
    """A case's events, oldest first."""
    query = select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.at, AuditEvent.id)
    return list(uow.session.scalars(query))
