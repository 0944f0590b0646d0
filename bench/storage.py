"""Bytes stored per finished case: every row that belongs to it, on the backend it ran on.

``logical`` is the size of the values as stored (text, JSON, numbers at 8 bytes), the
same count on both backends. On PostgreSQL ``on_disk`` adds what ``pg_column_size``
says of each whole row (TOAST compressed, tuple headers included). Indexes are not
counted per case; the database's total size is in the scale section.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from marshrut.engine.models import Base
from marshrut.engine.store import Database

#: Each table of a case and how its rows point at the case.
TABLES = {"process_instances": "id", "tasks": "instance_id", "timers": "instance_id",
          "audit_events": "instance_id", "notifications": "instance_id"}


def _logical(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, str):
        return len(value.encode())
    return 8  # numbers, booleans, datetimes


def per_finished_case(db: Database, backend: str) -> dict[str, Any]:
    with db.engine.connect() as connection:
        finished = [row[0] for row in connection.execute(text(
            "SELECT id FROM process_instances WHERE status = 'completed' AND process_key = 'address_aid'"))]
        if not finished:
            return {"cases": 0}
        marks = ", ".join(str(i) for i in finished)
        logical: dict[str, int] = {}
        on_disk: dict[str, int] = {}
        for table, key in TABLES.items():
            columns = Base.metadata.tables[table].columns
            select = ", ".join(c.name + ("::text" if backend == "postgresql" and c.type.__class__.__name__ == "JSON" else "")
                               for c in columns)
            rows = connection.execute(text(f"SELECT {select} FROM {table} WHERE {key} IN ({marks})")).all()
            logical[table] = sum(_logical(value) for row in rows for value in row)
            if backend == "postgresql":
                on_disk[table] = int(connection.execute(text(
                    f"SELECT COALESCE(SUM(pg_column_size(t.*)), 0) FROM {table} t WHERE {key} IN ({marks})")).scalar())
        state = connection.execute(text(
            f"SELECT AVG(LENGTH(state)), MAX(LENGTH(state)) FROM process_instances WHERE id IN ({marks})")).one()
    count = len(finished)
    result: dict[str, Any] = {
        "cases": count,
        "logical_bytes": round(sum(logical.values()) / count),
        "logical_by_table": {k: round(v / count) for k, v in logical.items()},
        "state_chars_avg": round(float(state[0])), "state_chars_max": int(state[1]),
    }
    if on_disk:
        result["on_disk_bytes"] = round(sum(on_disk.values()) / count)
        result["on_disk_by_table"] = {k: round(v / count) for k, v in on_disk.items()}
    return result
