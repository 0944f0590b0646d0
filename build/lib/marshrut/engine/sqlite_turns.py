"""SQLite writers take turns on an OS file lock before SQLite's own write lock.

SQLite lets one writer at a time and makes the others poll: a writer that finds the
database locked sleeps 1, 2, 5, 10 … 100 ms between tries, so under a steady stream of
staff completions the lock often sits free while every waiter sleeps, and a request waits
a second behind a 10 ms one. Here a connection about to start a write transaction first
waits its turn on ``<database>.writers`` with ``flock``, which wakes the next writer the
moment the previous one commits or rolls back; SQLite's lock is then free (or about to
be) and the busy timeout stays only a safety net. Every process on the file (the
gunicorn workers, the timer worker, the CLI) goes through here, so none jumps the queue.
"""

import fcntl
import os
import sqlite3
from typing import Any

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _is_write(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_WRITES)


class TurnTakingConnection(sqlite3.Connection):
    """A pysqlite connection that waits for its writers' turn before a transaction's first write."""

    turn_path: str = ""  # set per database by :func:`connection_factory`

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn: int | None = None

    def cursor(self, factory: Any = None) -> Any:  # noqa: D102 - sqlite3's own
        return super().cursor(factory or TurnTakingCursor)

    def take_turn(self) -> None:
        if self._turn is None and not self.in_transaction and self.turn_path:
            descriptor = os.open(self.turn_path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # blocks without holding the GIL
            self._turn = descriptor

    def end_turn(self) -> None:
        if self._turn is not None and not self.in_transaction:
            descriptor, self._turn = self._turn, None
            os.close(descriptor)  # closing releases the lock

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._turn is not None:
                os.close(self._turn)
                self._turn = None


class TurnTakingCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = ()) -> Any:  # noqa: D102 - sqlite3's own
        if _is_write(sql):
            self.connection.take_turn()
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection.end_turn()  # a write that failed before BEGIN leaves no transaction

    def executemany(self, sql: str, seq_of_parameters: Any) -> Any:  # noqa: D102 - sqlite3's own
        if _is_write(sql):
            self.connection.take_turn()
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self.connection.end_turn()


def connection_factory(database_path: str) -> type[TurnTakingConnection]:
    """The connection class for one database file (its turn file lies beside it)."""
    return type("TurnTakingConnection", (TurnTakingConnection,), {"turn_path": database_path + ".writers"})
