"""The service end to end: whole address-aid cases over HTTP against ``marshrut serve`` (gunicorn).

Client threads run cases from a shared queue. Each case is registered and walked through
its first ten steps (up to the committee meeting) with the ids the answers give; the
admin then moves the controlled clock past the meeting and asks for worker passes
(``POST /admin/tick``) until every meeting timer has fired; the threads then finish the
last three steps. Throughput is whole cases over the wall time of all of it.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import Caller, kyiv, latency_stats, log, prepare, serve
from bench.samples import APPLICATION, BEFORE_COMMITTEE, PATH, STEPS

REGISTERED = kyiv("2026-02-02 10:00")
AFTER_MEETING = kyiv("2026-02-04 10:00")  # the committee meets on Wednesday 2026-02-04


class Load:
    """Shared counters of one run; each thread keeps a caller per role."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.lock = threading.Lock()
        self.starts: list[float] = []
        self.completes: list[float] = []
        self.other: list[float] = []
        self.errors: list[str] = []

    def caller(self, cache: dict[str, Caller], role: str) -> Caller:
        if role not in cache:
            shared = next(iter(cache.values())).session if cache else None
            cache[role] = Caller(self.server, role, shared)
        return cache[role]

    def walk(self, cache: dict[str, Caller], instance: dict[str, Any], stop_before: str | None) -> dict[str, Any]:
        """Complete open steps (from each answer's ``open_tasks``) until none is open or ``stop_before``."""
        while instance["open_tasks"]:
            task = instance["open_tasks"][0]
            if task["element_id"] == stop_before:
                break
            body, elapsed = self.caller(cache, task["role"]).ok(
                "POST", f"/tasks/{task['id']}/complete", json={"data": STEPS[task["element_id"]]})
            with self.lock:
                self.completes.append(elapsed)
            instance = body["instance"]
        return instance

    def first_part(self, cache: dict[str, Caller]) -> int:
        body, elapsed = self.caller(cache, "programs_dept").ok(
            "POST", "/process-instances", 201, json={"process_key": "address_aid", "data": APPLICATION})
        with self.lock:
            self.starts.append(elapsed)
        instance = self.walk(cache, body, None)
        if instance["status"] != "running" or "wait_committee_meeting" not in [w["element_id"] for w in instance["waiting"]]:
            raise RuntimeError(f"case {instance['id']} is not waiting for the committee: {instance['status']}")
        return instance["id"]

    def second_part(self, cache: dict[str, Caller], instance_id: int) -> None:
        tasks, elapsed = self.caller(cache, "programs_head").ok("GET", "/tasks", params={"instance_id": instance_id})
        with self.lock:
            self.other.append(elapsed)
        [task] = [t for t in tasks["items"] if t["element_id"] == PATH[BEFORE_COMMITTEE]]
        body, elapsed = self.caller(cache, task["role"]).ok(
            "POST", f"/tasks/{task['id']}/complete", json={"data": STEPS[task["element_id"]]})
        with self.lock:
            self.completes.append(elapsed)
        instance = self.walk(cache, body["instance"], None)
        if instance["status"] != "completed":
            raise RuntimeError(f"case {instance_id} ended {instance['status']}")


def _threads(count: int, target: Any) -> float:
    started = time.perf_counter()
    threads = [threading.Thread(target=target, name=f"client-{i}", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def run(backend: str, url: str, cases: int, clients: int, workers: int, log_dir: Path) -> dict[str, Any]:
    db, _settings = prepare(url, REGISTERED)
    db.dispose()
    with serve(url, workers, log_dir) as server:
        admin = Caller(server, "admin")
        admin.ok("PUT", "/admin/clock", json={"now": REGISTERED.isoformat()})
        warm = Load(server)  # every gunicorn worker compiles the diagrams on its first case
        _threads(workers * 2, lambda: warm.first_part({}))
        log(f"{backend}: warmed up; {cases} cases with {clients} clients on {workers} workers")

        load = Load(server)
        slots = iter(range(cases))
        slot_lock = threading.Lock()
        waiting: list[int] = []

        def part_one() -> None:
            cache: dict[str, Caller] = {}
            while True:
                with slot_lock:
                    if next(slots, None) is None:
                        return
                try:
                    instance_id = load.first_part(cache)
                    with load.lock:
                        waiting.append(instance_id)
                except Exception as error:  # noqa: BLE001 - counted and reported
                    with load.lock:
                        load.errors.append(repr(error)[:300])

        first = _threads(clients, part_one)

        tick_started = time.perf_counter()
        admin.ok("PUT", "/admin/clock", json={"now": AFTER_MEETING.isoformat()})
        fired_counts: list[int] = []

        def ticks() -> None:  # one pass per gunicorn worker at a time; they share the due cases
            tick_admin = Caller(server, "admin")
            for _ in range(100):
                result, _elapsed = tick_admin.ok("POST", "/admin/tick")
                with load.lock:
                    fired_counts.append(result["timers_fired"])
                if result["timers_fired"] == 0:
                    return

        _threads(workers, ticks)
        fired = sum(fired_counts)
        tick = time.perf_counter() - tick_started

        queue = iter(list(waiting))
        done = itertools.count()

        def part_two() -> None:
            cache: dict[str, Caller] = {}
            while True:
                with slot_lock:
                    instance_id = next(queue, None)
                if instance_id is None:
                    return
                try:
                    load.second_part(cache, instance_id)
                    next(done)
                except Exception as error:  # noqa: BLE001 - counted and reported
                    with load.lock:
                        load.errors.append(repr(error)[:300])

        second = _threads(clients, part_two)
        finished = next(done)
    wall = first + tick + second
    return {
        "backend": backend, "gunicorn_workers": workers, "threads_per_worker": 4, "clients": clients,
        "cases": cases, "cases_completed": finished, "errors": len(load.errors), "error_samples": load.errors[:5],
        "wall_s": round(wall, 3), "cases_per_s": round(finished / wall, 3) if wall else None,
        "phase_s": {"to_committee": round(first, 3), "committee_tick": round(tick, 3), "after_committee": round(second, 3)},
        "timers_fired": fired, "requests": len(load.starts) + len(load.completes) + len(load.other) + 2,
        "start": latency_stats(load.starts), "complete": latency_stats(load.completes),
    }
