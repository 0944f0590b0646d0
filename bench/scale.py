"""At scale: the same questions asked of a small and of a large database of open cases.

The database is filled by :mod:`bench.generate` (first the small size, then topped up to
the large one). At each size, against the running server: the task list (``GET /tasks``
as each role of the path, first page), the managers' overdue view (``GET /sla/overdue``),
completing open steps of generated cases one after another (``POST /tasks/{id}/complete``);
and in-process, passes of the timer worker (``worker.run_pass``, what ``marshrut worker``
runs every few seconds).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import at_scale, generate
from bench.common import Caller, HttpSession, latency_stats, log, prepare, serve, set_clock
from bench.samples import STEPS
from marshrut.engine import worker
from marshrut.engine.config import Settings
from marshrut.engine.store import Database


def _warm(server: Any, workers: int) -> None:
    """Every gunicorn worker answers a few requests before anything is timed."""
    caller = Caller(server, "programs_dept")
    for _ in range(workers * 4):
        caller.ok("GET", "/tasks", params={"per_page": 1})


def task_list(server: Any, count: int) -> dict[str, Any]:
    session = HttpSession(server)
    callers = [Caller(server, role, session) for role in generate.ROLES_OF_PATH]
    seconds, totals = [], {}
    for index in range(count):
        caller = callers[index % len(callers)]
        body, elapsed = caller.ok("GET", "/tasks")
        seconds.append(elapsed)
        totals[generate.ROLES_OF_PATH[index % len(callers)]] = body["total"]
    return {**latency_stats(seconds), "page": 50, "ready_tasks_by_role": totals}


def overdue(server: Any, count: int) -> dict[str, Any]:
    caller = Caller(server, "manager")
    seconds, sizes = [], {}
    for _ in range(count):
        status, data, _content_type, elapsed = caller.raw("GET", "/sla/overdue")
        seconds.append(elapsed)
        if status != 200:
            raise RuntimeError(f"GET /sla/overdue: {status} {data[:300]!r}")
        body = json.loads(data)
        sizes = {"tasks": len(body["tasks"]), "total_tasks": body.get("total_tasks", len(body["tasks"])),
                 "instances": len(body["instances"]), "total_instances": body.get("total_instances", len(body["instances"])),
                 "bytes": len(data)}
    return {**latency_stats(seconds), "answer": sizes}


def ready_tasks(db: Database, count: int, seed: int) -> list[tuple[int, str, str]]:
    """``count`` ready steps of distinct generated cases, picked at random."""
    with db.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT id, instance_id, element_id, role FROM tasks WHERE state = 'ready' AND process_key = 'address_aid'"
        )).all()
    chosen, cases = [], set()
    for task_id, instance_id, element_id, role in random.Random(seed).sample(rows, len(rows)):
        if instance_id in cases:
            continue
        cases.add(instance_id)
        chosen.append((task_id, element_id, role))
        if len(chosen) == count:
            break
    return chosen


def complete(server: Any, tasks: list[tuple[int, str, str]], warm: int) -> dict[str, Any]:
    session = HttpSession(server)
    callers: dict[str, Caller] = {}
    seconds = []
    for index, (task_id, element_id, role) in enumerate(tasks):
        caller = callers.setdefault(role, Caller(server, role, session))
        _body, elapsed = caller.ok("POST", f"/tasks/{task_id}/complete", json={"data": STEPS[element_id]})
        if index >= warm:
            seconds.append(elapsed)
    return latency_stats(seconds)


def worker_passes(db: Database, settings: Settings, passes: int) -> dict[str, Any]:
    seconds, work = [], []
    for _ in range(passes):
        started = time.perf_counter()
        result = worker.run_pass(db, settings)
        seconds.append(time.perf_counter() - started)
        work.append({"timers_fired": result.timers_fired, "breaches": result.breaches, "forecasts": result.forecasts})
    stats = latency_stats(seconds)
    return {**stats, "seconds": [round(s, 3) for s in seconds], "work": work}


def database_bytes(db: Database, backend: str) -> int | None:
    with db.engine.connect() as connection:
        if backend == "postgresql":
            return int(connection.execute(text(
                "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'")).scalar() or 0)
        return connection.execute(text("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")).scalar()


def run(backend: str, url: str, sizes: list[int], workers: int, log_dir: Path, quick: bool, seed: int = 7) -> dict[str, Any]:
    db, settings = prepare(url, generate.TEMPLATE_START)
    started = time.perf_counter()
    dialect = generate.Dialect(backend)
    templates, template_ids = generate.make_templates(db, settings, dialect, with_audit=False)
    generate.remove_cases(db, template_ids)  # registered a month before NOW: they would all be late
    set_clock(db, generate.NOW)
    people = generate.people(db)
    report: dict[str, Any] = {"backend": backend, "now": generate.NOW.isoformat(), "overdue_share": 0.05,
                              "templates_s": round(time.perf_counter() - started, 2), "sizes": {}}
    generated = 0
    with serve(url, workers, log_dir) as server:
        _warm(server, workers)
        for size in sizes:
            log(f"{backend}: generating {size - generated} cases (to {size})")
            began = time.perf_counter()
            plan = generate.copies(db, dialect, templates, size - generated, finished_per_open=0,
                                   overdue_share=0.05, seed=seed + size, people=people, batch=50000)
            generate.analyze(db, dialect)
            generation_s = time.perf_counter() - began
            generated = size
            checked = generate.verify(db, settings, 20 if quick else 50, seed)
            log(f"{backend}: {size} open cases in {generation_s:.1f} s; measuring")
            entry: dict[str, Any] = {
                "generated": {"cases": plan.open_cases + plan.finished_cases, "rows": plan.rows, "overdue": plan.overdue,
                              "fresh_breaches": plan.fresh_breaches, "due_timers": plan.due_timers,
                              "seconds": round(generation_s, 2), "verified": checked},
                "database_bytes": database_bytes(db, backend),
            }
            entry["task_list"] = task_list(server, 35 if quick else 140)
            entry["overdue"] = overdue(server, 5 if quick else 20)
            warm = 2 * workers
            picks = ready_tasks(db, warm + (20 if quick else 80), seed + size)
            entry["complete"] = complete(server, picks, warm)
            entry["worker_pass"] = worker_passes(db, settings, 3 if quick else 5)
            manager = Caller(server, "manager")
            entry["manager_views"] = {path: at_scale._repeat(manager, path, 5 if quick else 20)
                                      for path in at_scale.MANAGER_VIEWS}
            more = at_scale._ready(db, 400 if quick else 3000, seed + size + 1)
            entry["realistic"] = at_scale.realistic(server, more, 4, 5 if quick else 30)
            entry["worker_backlog"] = at_scale.worker_after_midnight(db, settings, 20 if quick else 200)
            set_clock(db, generate.NOW)
            report["sizes"][str(size)] = entry
    db.dispose()
    return report
