"""One operation = one transaction with its context (settings, calendar, resolved clock)."""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType

from sqlalchemy.orm import Session

from marshrut.engine.config import Settings
from marshrut.engine.context import Context, resolve_clock
from marshrut.engine.errors import CaseChanged
from marshrut.engine.store import Database, UnitOfWork

ATTEMPTS = 3


@contextmanager
def operation(db: Database, settings: Settings, session: Session | None = None) -> Iterator[tuple[UnitOfWork, Context]]:
    """Open a unit of work (on ``session`` if given) and the context whose "now" it agrees on; the caller commits."""
    with db.unit_of_work(session) as uow:
        yield uow, Context(settings, resolve_clock(uow, settings))


class Attempt:
    """One try of an operation; leaving it with :class:`CaseChanged` asks for the next try."""

    def __init__(self, db: Database, settings: Settings, session: Session | None, last: bool) -> None:
        self._operation: AbstractContextManager[tuple[UnitOfWork, Context]] = operation(db, settings, session)
        self.last = last
        self.finished = False

    def __enter__(self) -> tuple[UnitOfWork, Context]:
        return self._operation.__enter__()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> bool:
        try:
            self._operation.__exit__(kind, error, trace)
        except CaseChanged:  # the unit of work found the race lost (a deadlock, a stale version on autoflush)
            if self.last:
                raise
            return True
        if kind is not None and issubclass(kind, CaseChanged) and not self.last:
            return True  # rolled back; the loop goes on to the next attempt
        self.finished = True
        return False


def attempts(db: Database, settings: Settings, session: Session | None = None) -> Iterator[Attempt]:
    """Tries of one operation, each from the start, until one is not beaten by a change to its case.

    ``for attempt in attempts(...): with attempt as (uow, ctx): ...`` — the body commits
    and returns. A try that loses the race for a case to another user (on SQLite, found
    only when writing) rolls back and the next one sees their change; the last try's
    :class:`CaseChanged` goes to the caller.
    """
    for number in range(1, ATTEMPTS + 1):
        attempt = Attempt(db, settings, session, last=number == ATTEMPTS)
        yield attempt
        if attempt.finished:
            return
