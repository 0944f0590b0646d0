"""Access from views to the app's settings and database (no other Flask globals in use)."""

from flask import current_app

from engine.config import Settings
from engine.store import Database


def settings() -> Settings:
    return current_app.extensions["marshrut"]["settings"]


def database() -> Database:
    return current_app.extensions["marshrut"]["db"]


def operation():  # type: ignore[no-untyped-def]
    """The engine's unit of work and context for this app (see :func:`engine.operation.operation`)."""
    from engine.operation import operation as engine_operation

    return engine_operation(database(), settings())
