"""Marshrut's benchmark, one command: ``.venv/bin/python -m bench.run [--quick]``.

Prints a table of the figures against the targets, writes them all to
``bench/results/latest.json`` (``quick.json`` with ``--quick``) and, for a full run, the
table to ``bench/LATEST.md``. Parts: the raw-engine floor, whole cases over HTTP on
SQLite and on PostgreSQL, bytes per finished case, and the large database (100,000 open
cases) compared with a small one (100). PostgreSQL parts are skipped, and said so, when
the server is not reachable (``MARSHRUT_BENCH_POSTGRES_URL``, default the test database).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import floor, http_load, scale, storage
from bench.common import log, postgres_available, scratch_database
from marshrut.engine.config import PROJECT_ROOT
from marshrut.engine.store import Database

BENCH = PROJECT_ROOT / "bench"
KB = 1024


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _git() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _section(results: dict[str, Any], name: str, work: Any) -> Any:
    before, started = _load(), time.perf_counter()
    value = work()
    results.setdefault("load_average", {})[name] = {"start": before, "end": _load(),
                                                    "seconds": round(time.perf_counter() - started, 1)}
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute (smaller sizes)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="for the HTTP part (default: both)")
    parser.add_argument("--scale-backends", default="postgresql,sqlite", help="for the large database (default: both)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, the machine's cores)")
    parser.add_argument("--clients", type=int, default=8, help="client threads of the HTTP load")
    parser.add_argument("--http-cases", type=int, help="whole cases per backend (default 200, quick 16)")
    parser.add_argument("--scale", type=int, help="open cases of the large database (default 100000, quick 3000)")
    parser.add_argument("--out", type=Path, help="JSON results (default bench/results/latest.json or quick.json)")
    parser.add_argument("--markdown", type=Path, help="the table as Markdown (default bench/LATEST.md for a full run)")
    args = parser.parse_args(argv)
    quick = args.quick
    http_cases = args.http_cases or (16 if quick else 200)
    large = args.scale or (3000 if quick else 100_000)
    out = args.out or BENCH / "results" / ("quick.json" if quick else "latest.json")
    markdown = args.markdown or (None if quick else BENCH / "LATEST.md")
    log_dir = BENCH / "results" / "logs"
    have_postgres = postgres_available()

    def usable(backend: str) -> bool:
        return backend == "sqlite" or (backend == "postgresql" and have_postgres)

    backends = [b for b in args.backends.split(",") if b]
    scale_backends = [b for b in args.scale_backends.split(",") if b]
    started = time.perf_counter()
    results: dict[str, Any] = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": quick, "git": _git(),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "settings": {"gunicorn_workers": args.workers, "clients": args.clients, "http_cases": http_cases,
                     "scale": [100, large]},
        "skipped": [], "http": {}, "storage": {}, "scale": {},
    }
    log("floor: raw SpiffWorkflow")
    results["floor"] = _section(results, "floor", lambda: floor.measure_parallel(5 if quick else 20, args.workers))
    for backend in backends:
        if not usable(backend):
            results["skipped"].append(f"{backend}: server not reachable")
            continue
        # The machine's speed drifts over minutes (floors from 9.5 to 24 cases/s were seen on one
        # machine in one day), so each HTTP part is held against a floor measured just before it.
        log(f"floor again, just before HTTP on {backend}")
        adjacent = floor.measure_parallel(5 if quick else 10, args.workers)
        log(f"HTTP: {http_cases} whole cases on {backend}")
        with scratch_database(backend) as url:
            results["http"][backend] = _section(results, f"http_{backend}", lambda: http_load.run(
                backend, url, http_cases, args.clients, args.workers, log_dir))
            results["http"][backend]["floor_just_before"] = adjacent
            database = Database(url)
            results["storage"][backend] = storage.per_finished_case(database, backend)
            database.dispose()
    for backend in scale_backends:
        if not usable(backend):
            results["skipped"].append(f"scale on {backend}: server not reachable")
            continue
        log(f"scale: 100 and {large} open cases on {backend}")
        with scratch_database(backend) as url:
            results["scale"][backend] = _section(results, f"scale_{backend}", lambda: scale.run(
                backend, url, [100, large], args.workers, log_dir, quick))
    results["duration_s"] = round(time.perf_counter() - started, 1)
    results["targets"] = targets(results, large)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    table = render(results, large)
    print(table)
    if markdown is not None:
        markdown.write_text(table, encoding="utf-8")
    log(f"done in {results['duration_s']} s; {out.relative_to(PROJECT_ROOT) if out.is_relative_to(PROJECT_ROOT) else out}")
    return 0


def targets(results: dict[str, Any], large: int) -> list[dict[str, Any]]:
    """Each target of the issue with the measured figure and whether it is met."""
    rows: list[dict[str, Any]] = []

    def add(name: str, backend: str, value: float | None, limit: float | None, unit: str, rule: str) -> None:
        met = value is not None and limit is not None and (value >= limit if rule == ">=" else value <= limit)
        rows.append({"target": name, "backend": backend, "value": value, "limit": limit, "unit": unit, "rule": rule,
                     "met": met})

    for backend, http in results["http"].items():
        floor_rate = http["floor_just_before"]["cases_per_s"]
        add("HTTP throughput ≥ ½ raw-engine floor (measured just before)", backend, http["cases_per_s"],
            round(floor_rate / 2, 3), "cases/s", ">=")
    for backend, data in results["scale"].items():
        small, big = data["sizes"]["100"], data["sizes"][str(large)]
        add(f"task list p95 at {large:,} open cases", backend, big["task_list"]["p95_ms"], 20, "ms", "<=")
        add(f"overdue p95 at {large:,} open cases", backend, big["overdue"]["p95_ms"], 50, "ms", "<=")
        add(f"complete p95 at {large:,} ≤ 1.3 × at 100", backend, big["complete"]["p95_ms"],
            round(small["complete"]["p95_ms"] * 1.3, 2), "ms", "<=")
        add(f"one worker pass at {large:,} (slowest)", backend, round(big["worker_pass"]["max_ms"] / 1000, 3), 5, "s", "<=")
        for path, stats in big.get("manager_views", {}).items():
            add(f"{path} p95 at {large:,} open cases", backend, stats["p95_ms"], 200, "ms", "<=")
        if "realistic" in big:
            floor_ = results["floor"]
            add(f"realistic load at {large:,}: completions/s ≥ ½ floor steps/s ({floor_['processes']} processes)", backend,
                big["realistic"]["completions_per_s"], round(floor_["steps_per_s"] / 2, 2), "steps/s", ">=")
        if big.get("worker_backlog", {}).get("projected_clear_s") is not None:
            add(f"worker clears the day's re-forecasts at {large:,}", backend,
                round(big["worker_backlog"]["projected_clear_s"] / 60, 1), 60, "min", "<=")
    for backend, data in results["storage"].items():
        if data.get("cases"):
            add("bytes per finished case", backend, round(data["logical_bytes"] / KB, 1), 64, "KB", "<=")
    return rows


def _ms(stats: dict[str, Any]) -> str:
    return f"{stats['p50_ms']:.1f} / {stats['p95_ms']:.1f}" if stats.get("count") else "—"


def render(results: dict[str, Any], large: int) -> str:
    """The Markdown table of the run (also what the command prints)."""
    lines = [f"# Benchmark — {results['when']} ({'quick' if results['quick'] else 'full'} run, commit {results['git']})", ""]
    machine = results["machine"]
    loads = results.get("load_average", {})
    lines.append(f"Machine: {machine['cores']} cores, Python {machine['python']}; gunicorn "
                 f"{results['settings']['gunicorn_workers']} workers × 4 threads, {results['settings']['clients']} client threads; "
                 f"1-minute load average at the start of each part: "
                 + ", ".join(f"{k} {v['start']}" for k, v in loads.items()) + f". Whole run {results['duration_s']} s.")
    lines += ["", "## Targets", "", "| target | backend | measured | limit | |", "| --- | --- | ---: | ---: | --- |"]
    for row in results["targets"]:
        sign = "≥" if row["rule"] == ">=" else "≤"
        lines.append(f"| {row['target']} | {row['backend']} | {row['value']} {row['unit']} | {sign} {row['limit']} {row['unit']} "
                     f"| {'met' if row['met'] else '**missed**'} |")
    floor_ = results["floor"]
    lines += ["", "## Figures", "",
              f"Floor (raw SpiffWorkflow in {floor_['processes']} processes, the product's state format, "
              f"serialize + rebuild after every step): "
              f"**{floor_['cases_per_s']} cases/s** ({floor_['ms_per_case']} ms per case of {floor_['steps_per_case']} steps, "
              f"{floor_['ms_per_step']} ms per step in each process; {floor_['cases']} cases; largest saved state "
              f"{floor_['state_bytes_max']:,} bytes).",
              "", "| HTTP, whole address-aid cases | cases/s | floor just before | start p50 / p95 / p99 ms | "
                  "complete p50 / p95 / p99 ms | cases | errors |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for backend, http in results["http"].items():
        s, c = http["start"], http["complete"]
        lines.append(f"| {backend} | {http['cases_per_s']} | {http['floor_just_before']['cases_per_s']} | "
                     f"{s['p50_ms']} / {s['p95_ms']} / {s['p99_ms']} | "
                     f"{c['p50_ms']} / {c['p95_ms']} / {c['p99_ms']} | {http['cases_completed']} | {http['errors']} |")
    if results["storage"]:
        lines += ["", "| bytes per finished case | logical | on disk (PostgreSQL row sizes) | saved state, chars |",
                  "| --- | ---: | ---: | ---: |"]
        for backend, data in results["storage"].items():
            if data.get("cases"):
                on_disk = data.get("on_disk_bytes")
                lines.append(f"| {backend} ({data['cases']} cases) | {data['logical_bytes']:,} | "
                             f"{f'{on_disk:,}' if on_disk else '—'} | "
                             f"{data['state_chars_avg']:,} avg, {data['state_chars_max']:,} max |")
    for backend, data in results["scale"].items():
        lines += ["", f"| {backend}: open cases | generated in | task list p50 / p95 ms | overdue p50 / p95 ms (answer) | "
                      "complete p50 / p95 ms | worker pass p50 / p95 s (first pass: fired, breaches, forecasts) |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: |"]
        for size, entry in data["sizes"].items():
            answer = entry["overdue"]["answer"]
            work = entry["worker_pass"]["work"][0]
            lines.append(
                f"| {int(size):,} | {entry['generated']['seconds']} s | {_ms(entry['task_list'])} | "
                f"{_ms(entry['overdue'])} ({answer['tasks']} of {answer['total_tasks']:,} tasks, {answer['instances']} of "
                f"{answer['total_instances']:,} cases, {answer['bytes']:,} B) | "
                f"{_ms(entry['complete'])} | {entry['worker_pass']['p50_ms'] / 1000:.2f} / {entry['worker_pass']['p95_ms'] / 1000:.2f} "
                f"({work['timers_fired']}, {work['breaches']}, {work['forecasts']}) |")
    if results["skipped"]:
        lines += ["", "Skipped: " + "; ".join(results["skipped"]) + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
