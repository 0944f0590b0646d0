"""What an operator watches: JSON logs with a request id, and Prometheus metrics.

- Every request has an id: the caller's ``X-Request-ID`` when it is a sane token, else a new
  one; it is echoed in the answer, carried by every log line of the request (and by the
  access line, see :mod:`api.server`), so one request can be followed through the logs.
- Logs are JSON lines on stderr (python-json-logger): time, level, logger, message, and the
  request id, user and case of the request being served.
- ``/metrics`` (Prometheus text format, prometheus-client): requests and their latency by
  endpoint, and gauges read from the database when scraped (open tasks by SLA status, timers
  due, notifications waiting for e-mail, open incidents). Under gunicorn the counters of all
  workers and of the timer worker are summed through ``PROMETHEUS_MULTIPROC_DIR``.
"""

import contextvars
import logging
import os
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import text

REQUEST_ID = contextvars.ContextVar("request_id", default="")
USER = contextvars.ContextVar("user", default="")
CASE = contextvars.ContextVar("case", default="")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

REQUESTS = Counter("marshrut_http_requests_total", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram("marshrut_http_request_seconds", "Time to answer an HTTP request", ["endpoint", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
WORKER_PASS = Histogram("marshrut_worker_pass_seconds", "Duration of one timer-worker pass",
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
WORKER_TIMERS = Counter("marshrut_worker_timers_fired_total", "Timers the worker fired")


class ContextFilter(logging.Filter):
    """Adds the request id, user and case of the work in progress to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        record.user = getattr(record, "user", None) or USER.get()
        record.case = getattr(record, "case", None) or CASE.get()
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter("{asctime}{levelname}{name}{message}{request_id}{user}{case}", style="{",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         json_ensure_ascii=False)


def configure_logging(level: str | None = None) -> None:
    """JSON lines on stderr for the whole process (server, its workers, the timer worker)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("MARSHRUT_LOG_LEVEL", "INFO"))
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the readiness check asks it on every call
    # SpiffWorkflow logs each task's change of state with the case's data (names, IBAN, incomes)
    # at INFO: personal data for whoever reads the logs (SPEC §8), ~9 KB per completion.
    logging.getLogger("spiff").setLevel(logging.WARNING)


def _start_request() -> None:
    offered = request.headers.get("X-Request-ID", "")
    g.request_id = offered if _SANE_ID.match(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    REQUEST_ID.set(g.request_id)
    USER.set("")
    view_args = request.view_args or {}
    CASE.set(str(view_args.get("instance_id", "")))


def _finish_request(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
    started = g.get("request_started")
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    if started is not None:
        LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
    return response


def note_user(login: str) -> None:
    """Called once the caller is known, so the request's log lines name them."""
    USER.set(login)


class DatabaseGauges:
    """Gauges counted in the database when Prometheus scrapes (indexed counts, nothing loaded)."""

    def __init__(self, app: Flask, now: Any) -> None:
        self.app, self.now = app, now

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Any:
        from sqlalchemy import func, select

        from marshrut.engine import sla_counts
        from marshrut.engine.models import Notification, Timer

        now = self.now
        database = self.app.extensions["marshrut"]["db"]
        with database.engine.connect() as connection:
            counts = {"on_track": 0, "at_risk": 0, "overdue": 0}
            for step in sla_counts.open_steps(sla_counts.Snapshot(connection, now)).values():  # the tallies, not a scan
                for status, count in step.items():
                    counts[status] += count
            tasks = GaugeMetricFamily("marshrut_open_tasks", "Open tasks by SLA status (at the service's clock)", labels=["status"])
            for label, count in counts.items():
                tasks.add_metric([label], float(count))
            yield tasks
            due = connection.scalar(select(func.count()).where(Timer.state == "waiting", Timer.fires_at <= now))
            yield GaugeMetricFamily("marshrut_timers_due", "Timers due and not yet fired", value=float(due or 0))
            outbox = connection.scalar(select(func.count()).where(Notification.email.is_not(None),
                                                                  Notification.email_state.in_(("pending", "sending"))))
            yield GaugeMetricFamily("marshrut_email_outbox", "Notifications whose e-mail is not sent yet",
                                    value=float(outbox or 0))
            incidents = self._open_incidents(connection)
            if incidents is not None:
                yield GaugeMetricFamily("marshrut_open_incidents", "Open incidents", value=float(incidents))
            connection.commit()

    @staticmethod
    def _open_incidents(connection: Any) -> int | None:
        from sqlalchemy import inspect

        if not inspect(connection).has_table("incidents"):
            return None
        return int(connection.execute(text("SELECT COUNT(*) FROM incidents WHERE resolved_at IS NULL")).scalar() or 0)


def metrics_answer(app: Flask) -> Response:
    registry = CollectorRegistry()
    multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiprocess_dir:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    from marshrut.api.deps import operation

    with operation() as (_uow, ctx):  # the controlled clock's "now" where it is on
        now = ctx.now()
    body = generate_latest(registry) + generate_latest(_gauges_registry(app, now))
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0], headers={"Cache-Control": "no-store"})


def _gauges_registry(app: Flask, now: Any) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseGauges(app, now))
    return registry


def register(app: Flask) -> None:
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.add_url_rule("/metrics", "metrics.get", lambda: metrics_answer(app))
    app.add_url_rule("/api/v1/metrics", "metrics.api", lambda: metrics_answer(app))
