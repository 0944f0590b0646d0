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
from copy import deepcopy
from pathlib import Path
from typing import Any


from bench.common import Caller, kyiv, log, prepare, scratch_database, serve, set_clock
from bench.samples import APPLICATION, PATH, STEPS
from marshrut.engine import cases, queries, users, worker
from marshrut.engine.models import Instance
from marshrut.engine.operation import operation
from marshrut.engine.store import Database

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


def step_tasks(caller: Caller, element_id: str, cases: list[int]) -> list[int]:
    listed, _ = caller.ok("GET", "/tasks", params={"element_id": element_id, "per_page": 500})
    wanted = set(cases)
    found = [t["id"] for t in listed["items"] if t["instance_id"] in wanted]
    assert len(found) == len(cases), (element_id, len(found))
    return found


def in_one_batch(caller: Caller, task_ids: list[int], data: dict[str, Any]) -> float:
    body, seconds = caller.ok("POST", "/tasks/complete-batch", json={"task_ids": task_ids, "data": data})
    assert all(r["status"] == 200 for r in body["results"]), body["results"][:3]
    return seconds


def one_by_one(caller: Caller, task_ids: list[int], data: dict[str, Any]) -> list[float]:
    return [caller.ok("POST", f"/tasks/{task_id}/complete", json={"data": data})[1] for task_id in task_ids]


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
        log(f"bringing 2 × {args.cases} cases to {MATERIALS} in-process")
        ids = [start(db, settings, APPLICATION) for _ in range(2 * args.cases)]
        for case_id in ids:
            walk_from(db, settings, case_id, PATH[0], MATERIALS)
        log(f"making {args.rows} decided cases for the register")
        register_ids = decided_copies(db, settings, args.rows)
        with serve(url, args.workers, Path(tempfile.gettempdir()) / "marshrut-bench-batch") as server:
            deputy, manager = Caller(server, "programs_deputy"), Caller(server, "manager")
            first, second = ids[: args.cases], ids[args.cases:]
            for _ in range(4 * args.workers):  # every worker compiles the diagram before the clock starts
                Caller(server, "programs_deputy").ok("GET", f"/tasks/{step_tasks(deputy, MATERIALS, first)[0]}")
            # Each group is done once each way, in turn, so neither way gets the warmer server:
            # the materials step one request per case for the first group, then one batch for the
            # second; the minutes step one batch for the first group, then one request per case.
            singles = one_by_one(deputy, step_tasks(deputy, MATERIALS, first), STEPS[MATERIALS])
            batches = [in_one_batch(deputy, step_tasks(deputy, MATERIALS, second), STEPS[MATERIALS])]
            minutes = STEPS["prepare_commission_minutes"]
            batches.append(in_one_batch(deputy, step_tasks(deputy, "prepare_commission_minutes", first), minutes))
            singles += one_by_one(deputy, step_tasks(deputy, "prepare_commission_minutes", second), minutes)
            register, register_bytes = timed(manager, "POST", "/paperwork/payment_register",
                                             {"instance_ids": register_ids}, 5)
            draft, draft_bytes = timed(manager, "POST", "/paperwork/committee_draft_decision",
                                       {"instance_ids": register_ids}, 3)
        db.dispose()
    n = args.cases
    print(f"\nbatch completion and papers ({args.backend}, marshrut serve --workers {args.workers})")
    print("| measure | figure |\n| --- | ---: |")
    print(f"| complete-batch of {n} cases, one request (two batches) | "
          f"{' and '.join(f'{b:.2f} s' for b in batches)} ({statistics.mean(batches) / n * 1000:.1f} ms per case) |")
    print(f"| {n} cases one request each, in a row (twice) | {sum(singles) / 2:.2f} s on average "
          f"({statistics.mean(singles) * 1000:.1f} ms per request, median {statistics.median(singles) * 1000:.1f}) |")
    print(f"| payment register, {args.rows} rows (XLSX, {register_bytes // 1024} KB), median of 5 | "
          f"{statistics.median(register) * 1000:.0f} ms |")
    print(f"| draft decision with annex, {args.rows} rows (DOCX, {draft_bytes // 1024} KB), median of 3 | "
          f"{statistics.median(draft) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
