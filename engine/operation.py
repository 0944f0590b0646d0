"""One operation = one transaction with its context (settings, calendar, resolved clock)."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from engine.config import Settings
from engine.context import Context, resolve_clock
from engine.store import Database, UnitOfWork


@contextmanager
def operation(db: Database, settings: Settings, session: Session | None = None) -> Iterator[tuple[UnitOfWork, Context]]:
    """Open a unit of work (on ``session`` if given) and the context whose "now" it agrees on; the caller commits."""
    with db.unit_of_work(session) as uow:
        yield uow, Context(settings, resolve_clock(uow, settings))
