"""``python -m bench.generate --database-url URL --open-cases N``: a large department, left for inspection.

Fills an empty database (migrated here if it is not yet) with the shipped diagrams, one user
per role (token ``bench-token-<role>``, providers ``bench-token-provider-<id>``) and, copied from
real cases walked through the engine (:mod:`bench.generate`), ``N`` open cases of every
process at every stage — address aid and the social-services roadmap 3 : 2, the annual
needs-assessment plan one per measure — ``--finished-per-open`` (default 2) finished cases for
each open one (closed 0–330 days before the generated "now", each with its whole history of
steps and audit events), a share of late steps with their breach notifications. The
controlled clock is left at :data:`bench.generate.NOW`.

Copies are planned in Python ``--batch`` open cases at a time and made inside the database
(``INSERT … SELECT``; two batches at once on PostgreSQL, with the big tables' keys, indexes and
foreign keys dropped during the load and rebuilt once at the end, and their user triggers
disabled), so memory does not grow with ``N``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any

from sqlalchemy import inspect, text

from bench import generate
from bench.common import log, prepare, set_clock
from marshrut.engine import sla_tallies
from marshrut.engine.store import Database

#: The tables a load fills; their secondary indexes are rebuilt once after a PostgreSQL load.
BIG_TABLES = ("process_instances", "tasks", "timers", "audit_events", "notifications")
BIG_TABLES_BY_SIZE = ("tasks", "audit_events", "process_instances", "timers", "notifications")


def fill(url: str, open_cases: int, *, finished_per_open: float = 2, overdue_share: float = 0.05, batch: int = 50000,
         audit: bool = True, seed: int = 7, full_finished_state: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    db, settings = prepare(url, generate.TEMPLATE_START)
    backend = db.engine.dialect.name
    dialect = generate.Dialect(backend)
    templates, walked = generate.make_templates(db, settings, dialect, with_audit=audit)
    generate.remove_cases(db, walked)
    set_clock(db, generate.NOW)
    people = generate.people(db)
    postgresql = backend == "postgresql"
    dropped = _drop_indexes(db) if postgresql else []
    if postgresql:
        _user_triggers(db, "DISABLE")
    loaded = indexed = time.perf_counter()
    try:
        plan = generate.copies(db, dialect, templates, open_cases, finished_per_open=finished_per_open,
                               overdue_share=overdue_share, seed=seed, people=people, batch=batch,
                               full_finished_state=full_finished_state,
                               log=lambda message: log(f"{backend}: {message}"))
        loaded = time.perf_counter()
    finally:
        _create_indexes(db, dropped)
        if postgresql:
            _user_triggers(db, "ENABLE")
    indexed = time.perf_counter()
    # The SLA tallies, which the triggers keep, were not kept during the load (triggers off on
    # PostgreSQL; on SQLite they were, but counting afresh is the same answer): counted once here.
    with db.engine.begin() as connection:
        sla_tallies.rebuild(connection)
    counted = time.perf_counter()
    generate.analyze(db, dialect)
    analyzed = time.perf_counter()
    checked = generate.verify(db, settings, 20, seed)
    size = None
    if postgresql:
        with db.engine.connect() as connection:
            size = connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
    db.dispose()
    return {"backend": backend, "open_cases": plan.open_cases, "finished_cases": plan.finished_cases,
            "open_by_stage": plan.by_stage, "finished_by_process": plan.finished_by_process,
            "overdue_steps": plan.overdue, "fresh_breaches": plan.fresh_breaches, "due_timers": plan.due_timers,
            "rows": plan.rows, "verified": checked, "seconds": round(time.perf_counter() - started, 1),
            "load_s": round(loaded - started, 1), "index_s": round(indexed - loaded, 1),
            "tallies_s": round(counted - indexed, 1), "analyze_s": round(analyzed - counted, 1),
            "insert_s_by_table": {name: round(value, 1) for name, value in generate.SECONDS.items()}, "database_bytes": size, "now": generate.NOW.isoformat()}


def _user_triggers(db: Database, what: str) -> None:
    """DISABLE or ENABLE the user triggers of the loaded tables (append-only audit, SLA tallies)."""
    with db.engine.begin() as connection:
        for table in BIG_TABLES:
            connection.execute(text(f"ALTER TABLE {table} {what} TRIGGER USER"))


def _drop_indexes(db: Database) -> list[list[str]]:
    """Drop the big tables' foreign keys (from or to them), indexes, primary keys and unique constraints,
    as pg_restore loads: each is built once afterwards instead of maintained row by row. Returns the
    statements that restore them, in three rounds (indexes, keys, foreign keys)."""
    tables = list(BIG_TABLES)
    scope = "n.nspname = current_schema()"
    with db.engine.begin() as connection:
        foreign = connection.execute(text(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace "
            f"WHERE {scope} AND c.contype = 'f' AND (c.conrelid::regclass::text = ANY(:t) OR c.confrelid::regclass::text = ANY(:t))"),
            {"t": tables}).all()
        keys = connection.execute(text(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_indexdef(c.conindid), "
            "CASE c.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace "
            f"WHERE {scope} AND c.contype IN ('p', 'u') AND c.conrelid::regclass::text = ANY(:t)"), {"t": tables}).all()
        indexes = connection.execute(text(
            "SELECT tc.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid "
            "JOIN pg_class tc ON tc.oid = x.indrelid JOIN pg_namespace n ON n.oid = tc.relnamespace "
            f"WHERE {scope} AND tc.relname = ANY(:t) AND x.indexrelid NOT IN (SELECT conindid FROM pg_constraint)"),
            {"t": tables}).all()
        for table, name, _definition in foreign:
            connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for _table, definition in indexes:
            connection.execute(text(f'DROP INDEX {definition.split(" ON ")[0].split()[-1]}'))
        for table, name, _definition, _kind in keys:
            connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    # Round one: every index, the keys' as plain unique indexes (an ALTER TABLE would lock the table against
    # the other connection's CREATE INDEX), the biggest tables and widest indexes first so that both
    # connections stay busy to the end; then the keys made from their indexes; then the foreign keys.
    order = {table: k for k, table in enumerate(BIG_TABLES_BY_SIZE)}
    built = [(table, definition) for table, _name, definition, _kind in keys] + list(indexes)
    built.sort(key=lambda item: (order.get(item[0], len(order)), -len(item[1])))
    made_keys = [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {kind} USING INDEX "{name}"'
                 for table, name, _definition, kind in keys]
    foreign_keys = [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition in foreign]
    return [[definition for _table, definition in built], made_keys, foreign_keys]


def _create_indexes(db: Database, rounds: list[list[str]]) -> None:
    """Run each round's statements on two connections at once (the machine's two cores)."""
    if not rounds:
        return
    log(f"building {sum(len(r) for r in rounds)} keys, indexes and foreign keys")
    for statements in rounds:
        queue = list(statements)
        lock = threading.Lock()
        errors: list[BaseException] = []

        def builder(queue: list[str], lock: threading.Lock, errors: list[BaseException]) -> None:
            with db.engine.connect() as connection:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                connection.execute(text("SET maintenance_work_mem = '1GB'"))
                connection.execute(text("SET max_parallel_maintenance_workers = 0"))  # two connections, two cores
                while True:
                    with lock:
                        if not queue or errors:
                            return
                        statement = queue.pop(0)
                    try:
                        began = time.perf_counter()
                        connection.execute(text(statement))
                        if time.perf_counter() - began > 5:
                            log(f"{time.perf_counter() - began:.0f} s: {statement[:110]}")
                    except BaseException as error:  # noqa: BLE001 - raised again below
                        errors.append(error)
                        return

        threads = [threading.Thread(target=builder, args=(queue, lock, errors)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="an empty database (SQLite file or PostgreSQL)")
    parser.add_argument("--open-cases", type=int, required=True, help="open cases to generate")
    parser.add_argument("--finished-per-open", type=float, default=2,
                        help="finished cases per open one (default 2; 0.1: one for every ten)")
    parser.add_argument("--overdue-share", type=float, default=0.05, help="share of late steps where they can be (0.05)")
    parser.add_argument("--batch", type=int, default=50000,
                        help="open cases (with their finished ones) planned and loaded at a time (default 50000)")
    parser.add_argument("--no-audit", action="store_true", help="copy no audit events (half the rows)")
    parser.add_argument("--full-finished-state", action="store_true",
                        help="keep each finished case's saved workflow (~3.5 KB) instead of an empty one")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with Database(args.database_url).engine.connect() as connection:
        if "process_instances" in inspect(connection).get_table_names() and connection.execute(
                text("SELECT 1 FROM process_instances LIMIT 1")).first():
            print("the database already has cases: give an empty one", file=sys.stderr)
            return 2
    report = fill(args.database_url, args.open_cases, finished_per_open=args.finished_per_open,
                  overdue_share=args.overdue_share, batch=args.batch, audit=not args.no_audit, seed=args.seed,
                  full_finished_state=args.full_finished_state)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0
