"""``python -m bench.at_scale --database-url URL``: the issue-17 targets against a generated database.

Run after ``python -m bench.generate`` (which leaves the database at :data:`bench.generate.NOW`).
Against ``marshrut serve`` on that database, with ``--workers`` gunicorn workers:

- the task list (first page, each role of the path; the first read of each in each server process
  reported apart), the overdue view, every manager API view
  (``/sla/summary``, ``/sla/steps``, the case list filtered by SLA) and the dashboard page;
- completing random ready steps one after another (``complete``);
- the realistic load: ``--clients`` threads for ``--seconds``, each completion of a random
  ready step of a random case preceded by that role's task list and the task's page, the way
  a person works (random cases over the whole database: the kept-workflow cache is cold);
- the resident memory of every gunicorn worker, sampled throughout;
- the worker after the day boundary: the clock moved to 00:05 of the next day, passes run
  (in-process, as ``marshrut worker`` does every 5 s) until one finds nothing to do.

Prints and writes JSON (``--out``). The figures of one database; compare two runs (e.g. 100
and 1,000,000 open cases) for the "complete at 1,000,000 ≤ 1.3 × at 100" target.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import bindparam, text
from werkzeug.security import generate_password_hash

from bench import floor, generate, scale
from bench.common import Caller, HttpSession, latency_stats, log, serve, set_clock
from bench.samples import STEPS
from marshrut.engine import case_sync, sla_tallies, worker
from marshrut.engine.config import PROJECT_ROOT, Settings
from marshrut.engine.operation import operation
from marshrut.engine.store import Database

MANAGER_VIEWS = ("/sla/summary", "/sla/steps", "/process-instances?sla=breached")
WORKER_INTERVAL_S = 5.0
SERVER_SETTINGS = ("shared_buffers", "work_mem", "maintenance_work_mem", "max_wal_size", "checkpoint_timeout",
                   "autovacuum", "effective_cache_size")


class MemoryWatch(threading.Thread):
    """The largest resident set of each process of the server's process group, sampled every 0.5 s."""

    def __init__(self, group: int) -> None:
        super().__init__(daemon=True)
        self.group, self.peak_kb, self.running = group, {}, True

    def run(self) -> None:
        while self.running:
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    if int(stat[2]) != self.group:
                        continue
                    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                               if line.startswith("VmRSS:"))
                except (OSError, StopIteration, IndexError, ValueError):
                    continue
                self.peak_kb[int(pid)] = max(self.peak_kb.get(int(pid), 0), rss)
            time.sleep(0.5)


class TallyFolder(threading.Thread):
    """What ``marshrut worker`` does with the SLA tallies every pass (5 s): fold the changes in.
    Without it every completion's changes pile up unfolded and each work list reads them all."""

    def __init__(self, db: Database) -> None:
        super().__init__(daemon=True)
        self.db, self.running = db, True

    def run(self) -> None:
        while self.running:
            with self.db.engine.begin() as connection:
                sla_tallies.compact(connection)
            for _ in range(50):
                if not self.running:
                    break
                time.sleep(WORKER_INTERVAL_S / 50)


def _repeat(caller: Caller, path: str, count: int) -> dict[str, Any]:
    seconds, size = [], 0
    for _ in range(count):
        status, data, _type, elapsed = caller.raw("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {data[:300]!r}")
        seconds.append(elapsed)
        size = len(data)
    return {**latency_stats(seconds), "bytes": size}


def dashboard(server: Any, count: int) -> dict[str, Any]:
    """The web page as a manager signed in with a password (set here on the bench user)."""
    web = requests.Session()
    form = web.get(server.base + "/login").text  # the sign-in form carries its CSRF token, as a browser sees it
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    answer = web.post(server.base + "/login", data={"login": "manager", "password": "bench",
                                                    "csrf_token": token.group(1) if token else ""},
                      allow_redirects=False)
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"login: {answer.status_code}")
    seconds, size = [], 0
    for _ in range(count):
        started = time.perf_counter()
        page = web.get(server.base + "/dashboard")
        seconds.append(time.perf_counter() - started)
        if page.status_code != 200:
            raise RuntimeError(f"/dashboard: {page.status_code}")
        size = len(page.content)
    return {**latency_stats(seconds), "bytes": size}


def _ready(db: Database, count: int, seed: int) -> list[tuple[int, str, str]]:
    """``count`` ready address-aid steps of distinct cases, at random over the whole database."""
    with db.engine.connect() as connection:
        ids = connection.execute(text("SELECT MIN(id), MAX(id) FROM tasks")).one()
        rng, found, cases = random.Random(seed), [], set()
        for _attempt in range(50):  # a small database has fewer ready steps than asked for
            if len(found) >= count:
                break
            probe = [rng.randint(ids[0], ids[1]) for _ in range(min(count * 20, 20000))]
            rows = connection.execute(text(
                "SELECT id, instance_id, element_id, role FROM tasks WHERE id IN :ids AND state = 'ready' "
                "AND process_key = 'address_aid'").bindparams(bindparam("ids", expanding=True)),
                {"ids": probe}).all()
            if not rows and found:
                break
            for task_id, instance_id, element_id, role in rows:
                if instance_id not in cases and element_id in STEPS and len(found) < count:
                    cases.add(instance_id)
                    found.append((task_id, element_id, role))
    return found


def realistic(server: Any, tasks: list[tuple[int, str, str]], clients: int, seconds: float) -> dict[str, Any]:
    """Each client: the role's task list, the task page, then the completion; for ``seconds``."""
    queue = iter(tasks)
    lock = threading.Lock()
    lists: list[float] = []
    pages: list[float] = []
    completes: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def client() -> None:
        session = HttpSession(server)
        callers: dict[str, Caller] = {}
        while time.perf_counter() < deadline:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            task_id, element_id, role = item
            caller = callers.setdefault(role, Caller(server, role, session))
            try:
                _body, listed = caller.ok("GET", "/tasks")
                _body, page = caller.ok("GET", f"/tasks/{task_id}")
                _body, done = caller.ok("POST", f"/tasks/{task_id}/complete", json={"data": STEPS[element_id]})
            except Exception as error:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(repr(error)[:300])
                continue
            with lock:
                lists.append(listed)
                pages.append(page)
                completes.append(done)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"clients": clients, "seconds": round(wall, 2), "completions": len(completes),
            "completions_per_s": round(len(completes) / wall, 3), "errors": len(errors), "error_samples": errors[:3],
            "task_list": latency_stats(lists), "task_page": latency_stats(pages), "complete": latency_stats(completes)}


def worker_after_midnight(db: Database, settings: Settings, max_passes: int = 400) -> dict[str, Any]:
    """Passes from 00:05 of the day after ``NOW`` until one does nothing (or ``max_passes``); the
    backlog's wall time counts :data:`WORKER_INTERVAL_S` after each pass that left no backlog, as
    ``marshrut worker`` sleeps (a pass with a full batch is followed at once by the next). When stopped early, the time to clear is projected from the cases late at that
    moment (each re-forecast once that day) at the rate measured."""
    moment = (generate.NOW + timedelta(days=1)).replace(hour=0, minute=5)
    set_clock(db, moment)
    with db.engine.connect() as connection:
        late_cases = connection.execute(text(
            "SELECT COUNT(DISTINCT t.instance_id) FROM tasks t JOIN process_instances i ON i.id = t.instance_id "
            "WHERE t.state = 'ready' AND t.due_at < :moment AND i.status = 'running' AND i.sla_met_at IS NULL"),
            {"moment": moment}).scalar() or 0
    passes, busy, totals = 0, 0.0, {"timers_fired": 0, "breaches": 0, "forecasts": 0}
    slowest, pauses = 0.0, 0
    while passes < max_passes:
        started = time.perf_counter()
        result = worker.run_pass(db, settings)
        elapsed = time.perf_counter() - started
        passes += 1
        busy += elapsed
        slowest = max(slowest, elapsed)
        for key in totals:
            totals[key] += getattr(result, key)
        if not (result.timers_fired or result.breaches or result.forecasts):
            break
        pauses += 0 if result.backlog else 1  # ``marshrut worker`` pauses only after a pass that left no backlog
    cleared = passes < max_passes
    wall = busy + WORKER_INTERVAL_S * pauses
    rate = totals["forecasts"] / wall if wall else 0.0
    return {"from": moment.isoformat(), "late_cases": late_cases, "passes": passes, "busy_s": round(busy, 1),
            "slowest_pass_s": round(slowest, 2), "work": totals, "cleared": cleared,
            "backlog_cleared_in_s": round(wall, 1) if cleared else None,
            "forecasts_per_s": round(rate, 1),
            "projected_clear_s": round(wall if cleared else late_cases / rate, 1) if rate or cleared else None}


def _save(out: Path | None, report: dict[str, Any]) -> None:
    """Each phase's figures written as soon as they are measured: a failure later loses none."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def measure(url: str, workers: int, clients: int, count: int, seconds: float, seed: int,
            worker_passes: int = 400, out: Path | None = None) -> dict[str, Any]:
    db = Database(url)
    settings = Settings(database_url=url, controlled_clock=True)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE users SET password_hash = :hash WHERE login = 'manager'"),
                           {"hash": generate_password_hash("bench")})
        open_cases = connection.execute(text("SELECT COUNT(*) FROM process_instances WHERE status = 'running'")).scalar()
        server_settings = dict(connection.execute(text(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(:names)"),
            {"names": list(SERVER_SETTINGS)}).all()) if db.engine.dialect.name == "postgresql" else {}
    set_clock(db, generate.NOW)
    # The day's step history, as the worker stores it on its first pass after midnight (the
    # generator leaves none; the forecasts of every completion read it).
    started = time.perf_counter()
    with operation(db, settings) as (uow, ctx):
        case_sync.store_step_history(uow, ctx)
        uow.commit()
    history_s = round(time.perf_counter() - started, 1)
    with db.engine.begin() as connection:  # the changes an earlier run left, folded as the worker would have
        sla_tallies.compact(connection)
    # The server's settings the figures depend on (autovacuum may be off on a CI machine).
    report: dict[str, Any] = {"open_cases": open_cases, "workers": workers, "postgresql": server_settings,
                              "step_history_stored_s": history_s}
    log_dir = PROJECT_ROOT / "bench" / "results" / "logs"
    with serve(url, workers, log_dir) as server:
        memory = MemoryWatch(server.process.pid)
        memory.start()
        scale._warm(server, workers)
        manager = Caller(server, "manager")
        log("task list, overdue, manager views")
        # Each role's first page read in each server process once before timing (a clerk's list
        # is read many times a day: its pages stay in PostgreSQL's cache); those first reads,
        # from a cache the generator left cold, are reported on their own.
        report["task_list_first_reads"] = scale.task_list(server, len(generate.ROLES_OF_PATH) * workers)
        report["task_list"] = scale.task_list(server, count)
        report["overdue"] = scale.overdue(server, max(10, count // 5))
        report["manager_views"] = {path: _repeat(manager, path, max(10, count // 5)) for path in MANAGER_VIEWS}
        report["dashboard"] = dashboard(server, max(5, count // 10))
        _save(out, report)
        log("complete, one after another")
        picks = _ready(db, 2 * workers + count + 2000, seed)
        report["complete"] = scale.complete(server, picks[:2 * workers + count // 2], 2 * workers)
        _save(out, report)
        log(f"floor: raw SpiffWorkflow in {workers} processes, just before the realistic load")
        report["floor"] = floor.measure_parallel(min(seconds, 20), workers)
        _save(out, report)
        log(f"realistic load: {clients} clients for {seconds} s")
        folder = TallyFolder(db)  # the server runs without its worker here: its tally folding, every 5 s
        folder.start()
        report["realistic"] = realistic(server, picks[2 * workers + count // 2:], clients, seconds)
        folder.running = False
        folder.join()
        memory.running = False
        memory.join()
        report["rss_mb"] = {str(pid): round(kb / 1024, 1) for pid, kb in sorted(memory.peak_kb.items())}
        _save(out, report)
    log("worker after the day boundary")
    try:
        report["worker"] = worker_after_midnight(db, settings, worker_passes)
    except Exception as error:  # noqa: BLE001 - a failing worker is a finding, reported with the rest
        report["worker"] = {"error": repr(error)[:500], "projected_clear_s": None, "cleared": False}
    _save(out, report)
    db.dispose()
    return report


def targets(report: dict[str, Any], small: dict[str, Any] | None) -> list[tuple[str, Any, str, bool]]:
    """(target, measured, limit, met) of issue 17, item 4."""
    rows: list[tuple[str, Any, str, bool]] = []

    def add(name: str, value: Any, limit: float, unit: str, at_most: bool = True) -> None:
        met = value is not None and (value <= limit if at_most else value >= limit)
        rows.append((name, f"{value} {unit}", f"{'≤' if at_most else '≥'} {limit} {unit}", met))

    add("task list p95", report["task_list"]["p95_ms"], 20, "ms")
    add("overdue p95", report["overdue"]["p95_ms"], 50, "ms")
    for path, stats in report["manager_views"].items():
        add(f"`{path}` p95", stats["p95_ms"], 200, "ms")
    add("dashboard page p95", report["dashboard"]["p95_ms"], 500, "ms")
    if small is not None:
        add(f"complete p95 ≤ 1.3 × at {small['open_cases']:,} open cases ({small['complete']['p95_ms']} ms)",
            report["complete"]["p95_ms"], round(1.3 * small["complete"]["p95_ms"], 1), "ms")
    add("RSS of every gunicorn process, peak", max(report["rss_mb"].values()), 300, "MB")
    worker_ = report["worker"]
    clear = worker_["projected_clear_s"]
    add("worker clears the day's re-forecasts (from 00:05)" + ("" if worker_["cleared"] else ", projected"),
        round(clear / 60, 1) if clear is not None else None, 60, "min")
    add(f"realistic load completions/s ≥ ½ floor ({report['floor']['steps_per_s']} steps/s in "
        f"{report['floor']['processes']} processes)", report["realistic"]["completions_per_s"],
        round(report["floor"]["steps_per_s"] / 2, 2), "/s", at_most=False)
    return rows


def render(report: dict[str, Any], small: dict[str, Any] | None) -> str:
    lines = [f"| target at {report['open_cases']:,} open cases | measured | limit | |", "| --- | ---: | ---: | --- |"]
    for name, value, limit, met in targets(report, small):
        lines.append(f"| {name} | {value} | {limit} | {'met' if met else '**missed**'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.at_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, the machine's cores)")
    parser.add_argument("--clients", type=int, default=4, help="client threads of the realistic load")
    parser.add_argument("--count", type=int, default=100, help="requests per measured view (default 100)")
    parser.add_argument("--seconds", type=float, default=60, help="length of the realistic load (default 60 s)")
    parser.add_argument("--worker-passes", type=int, default=400, help="stop the worker after so many passes "
                        "and project the rest (default 400)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", type=Path, help="the JSON of a run on a small database (complete p95 target)")
    args = parser.parse_args(argv)
    report = measure(args.database_url, args.workers, args.clients, args.count, args.seconds, args.seed,
                     args.worker_passes, args.out)
    print(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    small = json.loads(args.compare.read_text(encoding="utf-8")) if args.compare else None
    print(render(report, small))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
