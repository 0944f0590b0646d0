"""The database connection and the unit of work: the only place that commits.

A use case opens ``with db.unit_of_work() as uow:``, works through ``uow.session`` and
calls ``uow.commit()``; leaving the block without committing rolls everything back.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
import time
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, sessionmaker

from marshrut.engine.errors import CaseChanged
from marshrut.engine.sqlite_turns import connection_factory

STALE_MESSAGE = "Справу щойно змінив інший користувач; оновіть сторінку і спробуйте ще раз"
# PostgreSQL's answers to two transactions that each wait for the other's rows (deadlock) or
# that cannot both stand (serialization failure): one of them is rolled back and may run again.
_RACE_LOST = frozenset({"40P01", "40001"})


def _lost_race(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in _RACE_LOST


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while one writer commits; the busy timeout makes concurrent
    # writers from several gunicorn workers wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (a case's data, forms, audit entries) go through orjson, several times faster
# than the standard library on every row written and read.
_JSON = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def make_engine(url: str) -> Engine:
    """Create the SQLAlchemy engine for ``url``, preparing a SQLite file's folder."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        connect_args: dict[str, Any] = {"timeout": 15}
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            connect_args["factory"] = connection_factory(str(Path(path).resolve()))
        engine = create_engine(url, connect_args=connect_args, **_JSON)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **_JSON)
    _ping_idle_connections(engine)
    return engine


#: A pooled connection back from a request less than this long ago is handed out without a ping.
PING_AFTER_IDLE_S = 1.0
_RETURNED = "returned_at"  # connection record's info key: when the connection was last given back


def _ping_idle_connections(engine: Engine) -> None:
    """Like ``pool_pre_ping``, but only for a connection idle in the pool for a while.

    ``pool_pre_ping`` asks the server ``SELECT 1`` at every checkout: one more round trip per
    request (a tenth of a busy task list's or task page's time). A connection that served a
    request a moment ago is as alive as a ping would show; one idle for longer (a restarted
    server, a firewall's idle timeout) is pinged, and a dead one replaced, as before.
    """

    @event.listens_for(engine, "connect")
    def fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED, 0.0) < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:  # the pool replaces it and tries again
            raise DisconnectionError(f"pooled connection is gone: {error}") from error


_WROTE = "wrote"  # session.info key: the current transaction has written (flushed or executed DML)


def _note_flush(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


def _note_statement(state: ORMExecuteState) -> None:
    if not state.is_select:  # DML, and text() statements, which may write
        state.session.info[_WROTE] = True


def _forget_writes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the database transaction ended (commit or rollback)
        session.info.pop(_WROTE, None)


def _track_writes(sessions: sessionmaker[Session]) -> None:
    event.listen(sessions, "after_flush", _note_flush)
    event.listen(sessions, "do_orm_execute", _note_statement)
    event.listen(sessions, "after_transaction_end", _forget_writes)


class UnitOfWork:
    """One transaction. Commit explicitly; anything else rolls back."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def commit(self) -> None:
        """Commit, turning a lost optimistic-version race into a :class:`Conflict`."""
        try:
            self.session.commit()
        except StaleDataError as err:
            self.session.rollback()
            raise CaseChanged(STALE_MESSAGE) from err

    def flush(self) -> None:
        try:
            self.session.flush()
        except StaleDataError as err:
            raise CaseChanged(STALE_MESSAGE) from err

    @property
    def is_postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"


def _end_reading(session: Session) -> None:
    """End a transaction that only read with COMMIT rather than the ROLLBACK of ``close``.

    The same to the data; but psycopg forgets every prepared statement of a connection on
    ROLLBACK, so with read-only requests ending that way PostgreSQL parsed and planned every
    statement afresh, half of its work under load. A transaction that wrote and was not
    committed is still rolled back.
    """
    if session.in_transaction() and not session.info.get(_WROTE) and not (session.new or session.dirty or session.deleted):
        session.commit()


class Database:
    """The engine and session factory of one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        _track_writes(self._sessions)

    def new_session(self) -> Session:
        return self._sessions()

    @contextmanager
    def unit_of_work(self, session: Session | None = None) -> Iterator[UnitOfWork]:
        """Open a transaction; roll back unless the caller committed.

        ``session``: one the caller already holds, whose transaction this continues (a web
        request authenticates and works in one transaction); it is closed here all the same.
        """
        session = session or self._sessions()
        try:
            yield UnitOfWork(session)
            _end_reading(session)
        except StaleDataError as err:  # lost the version race in an autoflush (a query before the explicit flush)
            raise CaseChanged(STALE_MESSAGE) from err
        except DBAPIError as err:
            if _lost_race(err):  # the caller's attempts run the operation again (engine.operation.attempts)
                raise CaseChanged(STALE_MESSAGE) from err
            raise
        finally:
            session.close()  # rolls back what was not committed; loaded rows stay readable

    def dispose(self) -> None:
        self.engine.dispose()
