"""The commission's and the committee's work on many cases (issue 14), end to end on PostgreSQL:

- a batch of 50 cases completed over HTTP (``POST /tasks/complete-batch`` against ``marshrut
  serve``), beside the same 50 cases' next step completed one request at a time;
- a 200-row payment register (``POST /paperwork/payment_register``, XLSX) and the 200-row
  draft decision (DOCX), over HTTP.

Run: ``.venv/bin/python -m bench.batch [--cases 50] [--rows 200] [--backend postgresql]``; it
prints a small table and takes a minute or two (the cases are brought to the commission's step
in-process first; the register's 200 cases are copies of one decided case).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from copy import deepcopy
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import Caller, kyiv, log, prepare, scratch_database, serve, set_clock
from bench.samples import APPLICATION, PATH, STEPS
from engine import cases, queries, users, worker
from engine.models import Instance
from engine.operation import operation
from engine.store import Database

REGISTERED = kyiv("2026-02-02 10:00")
MATERIALS = "prepare_commission_materials"


def start(db: Database, settings: Any, data: dict[str, Any]) -> int:
    with operation(db, settings) as (uow, ctx):
        instance = cases.start_case(uow, users.by_login(uow, "programs_dept"), ctx, "address_aid", data)
        uow.commit()
        return instance.id


def decided_copies(db: Database, settings: Any, rows: int) -> list[int]:
    """One case walked to the payment register, and ``rows - 1`` copies of its row with other names and amounts."""
    first = start(db, settings, APPLICATION)
    walk_from(db, settings, first, PATH[0], "endorse_draft_decision")
    set_clock(db, kyiv("2026-02-12 15:00"))
    walk_from(db, settings, first, "endorse_draft_decision", "wait")
    set_clock(db, kyiv("2026-02-18 09:00"))
    worker.run_pass(db, settings)
    walk_from(db, settings, first, "record_committee_decision", "prepare_payment_registers")
    ids = [first]
    with db.unit_of_work() as uow:
        original = uow.session.get(Instance, first)
        assert original is not None and original.data.get("decision") == "granted"
        for n in range(1, rows):
            data = deepcopy(original.data)
            data.update(surname=f"Заявник{n:03d}", rnokpp=f"{3000000000 + n}", aid_amount=1000 + n * 10)
            copy = Instance(number=f"АД-2026-9{n:05d}", process_key=original.process_key,
                            definition_id=original.definition_id, status=original.status, received_at=original.received_at,
                            target_due=original.target_due, legal_due=original.legal_due, data=data, state=original.state,
                            created_at=original.created_at, created_by=original.created_by, updated_at=original.updated_at)
            uow.session.add(copy)
            uow.flush()
            ids.append(copy.id)
        uow.commit()
    return ids


def walk_from(db: Database, settings: Any, case_id: int, first: str, before: str) -> None:
    steps = PATH[PATH.index(first):]
    for element_id in steps:
        if element_id == before:
            return
        with operation(db, settings) as (uow, ctx):
            found = [t for t in queries.open_tasks(uow, case_id) if t.element_id == element_id]
            if not found:
                return
            cases.complete_task(uow, users.by_login(uow, found[0].role), ctx, found[0].id, STEPS[element_id])
            uow.commit()


def timed(caller: Caller, method: str, path: str, json: Any, runs: int) -> tuple[list[float], int]:
    times, size = [], 0
    for _ in range(runs):
        status, data, _type, elapsed = caller.raw(method, path, json=json)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {data[:300]!r}")
        times.append(elapsed)
        size = len(data)
    return times, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with scratch_database(args.backend) as url:
        db, settings = prepare(url, REGISTERED)
        log(f"bringing {args.cases} cases to {MATERIALS} in-process")
        ids = [start(db, settings, APPLICATION) for _ in range(args.cases)]
        for case_id in ids:
            walk_from(db, settings, case_id, PATH[0], MATERIALS)
        log(f"making {args.rows} decided cases for the register")
        register_ids = decided_copies(db, settings, args.rows)
        with serve(url, args.workers, Path(tempfile.gettempdir()) / "marshrut-bench-batch") as server:
            deputy, manager = Caller(server, "programs_deputy"), Caller(server, "manager")
            listed, _ = deputy.ok("GET", "/tasks", params={"element_id": MATERIALS, "per_page": 500})
            task_ids = [t["id"] for t in listed["items"] if t["instance_id"] in set(ids)]
            assert len(task_ids) == args.cases, len(task_ids)
            body, batch_seconds = deputy.ok("POST", "/tasks/complete-batch",
                                            json={"task_ids": task_ids, "data": STEPS[MATERIALS]})
            assert all(r["status"] == 200 for r in body["results"]), body["results"][:3]
            listed, _ = deputy.ok("GET", "/tasks", params={"element_id": "prepare_commission_minutes", "per_page": 500})
            singles = []
            for task in listed["items"]:
                _body, elapsed = deputy.ok("POST", f"/tasks/{task['id']}/complete",
                                           json={"data": STEPS["prepare_commission_minutes"]})
                singles.append(elapsed)
            register, register_bytes = timed(manager, "POST", "/paperwork/payment_register",
                                             {"instance_ids": register_ids}, 5)
            draft, draft_bytes = timed(manager, "POST", "/paperwork/committee_draft_decision",
                                       {"instance_ids": register_ids}, 3)
        db.dispose()
    n = args.cases
    print(f"\nbatch completion and papers ({args.backend}, marshrut serve --workers {args.workers})")
    print(f"| measure | figure |\n| --- | ---: |")
    print(f"| complete-batch of {n} cases, one request | {batch_seconds:.2f} s ({batch_seconds / n * 1000:.1f} ms per case) |")
    print(f"| the same {n} cases' next step, {n} single requests in a row | {sum(singles):.2f} s "
          f"({statistics.median(singles) * 1000:.1f} ms median per request) |")
    print(f"| payment register, {args.rows} rows (XLSX, {register_bytes // 1024} KB), median of 5 | "
          f"{statistics.median(register) * 1000:.0f} ms |")
    print(f"| draft decision with annex, {args.rows} rows (DOCX, {draft_bytes // 1024} KB), median of 3 | "
          f"{statistics.median(draft) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
