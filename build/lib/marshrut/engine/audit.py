"""The audit log: one row per event, written in the same transaction as the change."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import select

from marshrut.engine.models import AuditEvent
from marshrut.engine.store import UnitOfWork

log = logging.getLogger("marshrut.audit")


def record(
    uow: UnitOfWork, event: str, actor: str | None, at: datetime,
    instance_id: int | None = None, task_id: int | None = None, data: dict[str, Any] | None = None,
) -> None:
    """Add an audit event (committed with the caller's unit of work), and say so in the log.

    Inside :func:`batch` the event's data carries that batch's ``batch_id``.
    """
    data = data or {}
    batch_id = uow.session.info.get(_BATCH)
    if batch_id is not None:
        data = {**data, "batch_id": batch_id}
    log.info("audit event %s", event, extra={"event": event, "actor": actor, "case": instance_id or "", "task": task_id})
    uow.session.add(AuditEvent(event=event, actor=actor, at=at, instance_id=instance_id, task_id=task_id, data=data))


_BATCH = "audit_batch_id"  # session.info key: the batch the events being recorded belong to


@contextmanager
def batch(uow: UnitOfWork, batch_id: str) -> Iterator[None]:
    """Every event recorded in ``uow`` within the block carries ``batch_id`` (one step of a batch)."""
    uow.session.info[_BATCH] = batch_id
    try:
        yield
    finally:
        uow.session.info.pop(_BATCH, None)


def history(uow: UnitOfWork, instance_id: int) -> list[AuditEvent]:
    """A case's events, oldest first."""
    query = select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.at, AuditEvent.id)
    return list(uow.session.scalars(query))
