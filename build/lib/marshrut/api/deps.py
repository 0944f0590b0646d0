"""Access from views to the app's settings and database (no other Flask globals in use)."""

from flask import current_app, g
from sqlalchemy.orm import Session

from marshrut.engine.config import Settings
from marshrut.engine.store import Database


def settings() -> Settings:
    return current_app.extensions["marshrut"]["settings"]


def database() -> Database:
    return current_app.extensions["marshrut"]["db"]


def request_session() -> Session:
    """The request's database session: who is calling is read in the transaction the work
    then continues, one connection and one round of BEGIN/ROLLBACK per request, not two."""
    if "db_session" not in g:
        g.db_session = database().new_session()
    return g.db_session


def close_request_session(_error: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def operation():  # type: ignore[no-untyped-def]
    """The engine's unit of work and context for this request (see :func:`engine.operation.operation`).

    Leaving the block closes the session as before (what was not committed is rolled back);
    a later block in the same request starts a new transaction on it.
    """
    from marshrut.engine.operation import operation as engine_operation

    return engine_operation(database(), settings(), request_session())


def operation_attempts():  # type: ignore[no-untyped-def]
    """Tries of an operation that may lose a race for its case (see :func:`engine.operation.attempts`)."""
    from marshrut.engine.operation import attempts

    return attempts(database(), settings(), request_session())
