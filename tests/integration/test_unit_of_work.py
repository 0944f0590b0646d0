"""How a unit of work ends: nothing written without an explicit commit; a read-only one commits.

A read-only transaction ends with COMMIT because psycopg drops a connection's prepared
statements on every ROLLBACK; the data is the same either way, which the first tests hold.
"""

import pytest
from sqlalchemy import create_engine, event, select, text, update

from marshrut.engine.models import Setting

from tests.conftest import BACKEND


def _endings(db):
    """The COMMITs and ROLLBACKs the database's connections are sent, in order."""
    seen: list[str] = []
    event.listen(db.engine, "commit", lambda _conn: seen.append("commit"))
    event.listen(db.engine, "rollback", lambda _conn: seen.append("rollback"))
    return seen


def _keys(db) -> set[str]:
    with db.unit_of_work() as uow:
        return set(uow.session.scalars(select(Setting.key)))


def test_rows_added_and_flushed_but_not_committed_are_rolled_back(db):
    with db.unit_of_work() as uow:
        uow.session.add(Setting(key="draft", value="x"))
        uow.flush()
    assert "draft" not in _keys(db)


def test_a_statement_that_changes_rows_without_a_commit_is_rolled_back(db):
    with db.unit_of_work() as uow:
        uow.session.add(Setting(key="kept", value="before"))
        uow.commit()
    with db.unit_of_work() as uow:
        uow.session.execute(update(Setting).where(Setting.key == "kept").values(value="after"))
    with db.unit_of_work() as uow:
        assert uow.session.get(Setting, "kept").value == "before"


def test_a_text_statement_without_a_commit_counts_as_a_write_and_is_rolled_back(db):
    with db.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO settings (key, value) VALUES ('raw', 'x')"))
    assert "raw" not in _keys(db)


def test_a_unit_of_work_that_failed_is_rolled_back_even_if_it_only_read(db):
    endings = _endings(db)
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as uow:
            uow.session.scalars(select(Setting)).all()
            raise RuntimeError("the use case failed")
    assert endings == ["rollback"]


def test_a_unit_of_work_that_only_read_ends_with_commit(db):
    endings = _endings(db)
    with db.unit_of_work() as uow:
        uow.session.scalars(select(Setting)).all()
    assert endings == ["commit"]


def test_reads_after_a_commit_end_with_commit_too(db):
    endings = _endings(db)
    with db.unit_of_work() as uow:
        uow.session.add(Setting(key="committed", value="x"))
        uow.commit()
        uow.session.scalars(select(Setting)).all()  # an answer built after the commit
    assert endings == ["commit", "commit"]
    assert "committed" in _keys(db)


@pytest.mark.skipif(BACKEND != "postgresql", reason="prepared statements are psycopg's (PostgreSQL)")
def test_a_statement_read_in_many_requests_stays_prepared_on_its_connection(db):
    for _ in range(8):  # psycopg prepares a statement from its fifth use on a connection
        with db.unit_of_work() as uow:
            uow.session.execute(select(Setting.value).where(Setting.key == "anything")).all()
    with db.engine.connect() as connection:
        prepared = connection.execute(text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    assert any("FROM settings" in statement for statement in prepared)


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks and deadlock detection are PostgreSQL's")
def test_of_two_units_of_work_waiting_for_each_others_rows_one_loses_as_a_changed_case(db):
    import threading

    from marshrut.engine.errors import CaseChanged

    with db.unit_of_work() as uow:
        uow.session.add_all([Setting(key="a", value="0"), Setting(key="b", value="0")])
        uow.commit()
    both_hold_one = threading.Barrier(2, timeout=10)
    outcomes: dict[str, str] = {}

    def lock(first: str, second: str) -> None:
        try:
            with db.unit_of_work() as uow:
                for key in (first, second):
                    uow.session.execute(select(Setting).where(Setting.key == key).with_for_update()).one()
                    if key == first:
                        both_hold_one.wait()
                uow.session.get(Setting, first).value = f"by {first}"
                uow.commit()
            outcomes[first] = "committed"
        except CaseChanged:
            outcomes[first] = "changed"

    threads = [threading.Thread(target=lock, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["changed", "committed"]


def _backend_pid(db) -> int:
    with db.unit_of_work() as uow:
        return uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _pings(db) -> list[str]:
    """The ``SELECT 1`` pings sent on checkout (outside SQLAlchemy's statement events)."""
    sent: list[str] = []
    original = db.engine.dialect.do_ping

    def counted(dbapi_connection):
        sent.append("ping")
        return original(dbapi_connection)

    db.engine.dialect.do_ping = counted
    return sent


@pytest.mark.skipif(BACKEND != "postgresql", reason="a pooled server connection to lose: PostgreSQL")
def test_a_connection_back_from_a_request_a_moment_ago_is_reused_without_a_ping(db):
    pings = _pings(db)
    first = _backend_pid(db)
    assert [_backend_pid(db) for _ in range(5)] == [first] * 5
    assert pings == []


@pytest.mark.skipif(BACKEND != "postgresql", reason="a pooled server connection to lose: PostgreSQL")
def test_a_pooled_connection_idle_for_a_while_is_pinged_and_replaced_when_the_server_dropped_it(db, monkeypatch):
    from marshrut.engine import store

    pings = _pings(db)
    lost = _backend_pid(db)
    admin = create_engine(db.engine.url)  # e.g. the server restarted, or a firewall closed the idle connection
    with admin.begin() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": lost})
    admin.dispose()
    monkeypatch.setattr(store, "PING_AFTER_IDLE_S", 0.0)  # as if it had been idle longer than that
    assert _backend_pid(db) != lost  # no error: the dead connection was found by the ping and replaced
    assert pings
