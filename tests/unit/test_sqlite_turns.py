"""SQLite writers queue on the turn file instead of polling SQLite's lock (engine.sqlite_turns)."""

import sqlite3
import threading
import time

import pytest

from marshrut.engine.sqlite_turns import connection_factory


class Connection:
    """Statements through a cursor, as SQLAlchemy sends them (``sqlite3.Connection.execute`` bypasses the cursor's method)."""

    def __init__(self, path, factory):
        self.raw = sqlite3.connect(path, timeout=0, factory=factory, check_same_thread=False)  # no busy waiting at all
        self.execute("PRAGMA journal_mode=WAL")

    def execute(self, sql):
        return self.raw.cursor().execute(sql)

    def commit(self):
        self.raw.commit()

    def rollback(self):
        self.raw.rollback()

    @property
    def in_transaction(self):
        return self.raw.in_transaction


@pytest.fixture
def two_connections(tmp_path):
    """Two connections to one database file, taking turns through the same turn file (closed after the test:
    Python 3.13 warns of a connection left open)."""
    path = str(tmp_path / "turns.db")
    factory = connection_factory(path)
    pair = Connection(path, factory), Connection(path, factory)
    yield pair
    for connection in pair:
        connection.raw.close()


def test_a_second_writer_waits_for_the_first_to_commit_instead_of_failing(two_connections):
    first, second = two_connections
    first.execute("CREATE TABLE counter (value INTEGER)")
    first.execute("INSERT INTO counter VALUES (0)")
    first.commit()

    first.execute("UPDATE counter SET value = value + 1")  # first holds the write transaction
    outcome = {}

    def write_second():
        started = time.monotonic()
        second.execute("UPDATE counter SET value = value + 10")
        second.commit()
        outcome["waited"] = time.monotonic() - started

    writer = threading.Thread(target=write_second)
    writer.start()
    time.sleep(0.3)
    assert writer.is_alive()  # queued behind the first, not failed with "database is locked"
    first.commit()
    writer.join(5)
    assert outcome["waited"] >= 0.3
    assert first.execute("SELECT value FROM counter").fetchone() == (11,)


def test_reads_do_not_wait_for_a_writer(two_connections):
    writer, reader = two_connections
    writer.execute("CREATE TABLE t (v INTEGER)")
    writer.commit()
    writer.execute("INSERT INTO t VALUES (1)")  # uncommitted
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (0,)
    writer.rollback()


def test_a_failed_write_outside_a_transaction_gives_the_turn_back(two_connections):
    one, other = two_connections
    one.execute("CREATE TABLE t (v INTEGER NOT NULL)")
    one.commit()
    try:
        one.execute("INSERT INTO missing VALUES (1)")
    except sqlite3.OperationalError:
        pass
    assert not one.in_transaction
    other.execute("INSERT INTO t VALUES (1)")  # would block forever if the turn were still held
    other.commit()
