"""Serving the app with gunicorn, with the timer worker beside it as a child process.

Logs: gunicorn's error log and the access log are JSON lines on stderr (see
:mod:`api.observability`); each access line carries the request id that the request's own
log lines carry, so one request can be followed from the access line to what it logged.
Metrics of all gunicorn workers and of the timer worker are summed through a folder of
prometheus-client's multiprocess files, made afresh at each start.
"""

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger


class JsonLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with JSON lines and a structured access line."""

    def setup(self, cfg: Any) -> None:
        # Imported here: prometheus-client (which api.observability loads) must first see the
        # multiprocess folder that run() sets.
        from marshrut.api.observability import ContextFilter, json_formatter

        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.propagate = False  # its own handler writes it; the root's would write it twice
            for handler in log.handlers:
                handler.setFormatter(json_formatter())
                handler.addFilter(ContextFilter())

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.syslog):
            return
        headers = dict((name.lower(), value) for name, value in (resp.headers or []))
        self.access_log.info("%s %s %s", req.method, req.path, resp.status_code, extra={
            "request_id": headers.get("x-request-id", ""), "method": req.method, "path": req.path,
            "query": req.query, "status": resp.status_code, "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "remote": environ.get("REMOTE_ADDR"),
        })


class MarshrutServer(BaseApplication):  # type: ignore[misc]
    """gunicorn configured in code, so ``marshrut serve`` needs no config file."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from marshrut.api.app import create_app
        from marshrut.api.observability import configure_logging

        configure_logging()
        return create_app()


def _metrics_folder() -> str:
    """A fresh folder for this run's multiprocess metrics (set before prometheus-client loads)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(tempfile.gettempdir(), f"marshrut-metrics-{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


def run(host: str, port: int, workers: int, with_worker: bool = True) -> None:
    """Serve until stopped; the timer worker starts and stops with the server."""
    _metrics_folder()
    worker_process: list[subprocess.Popen[bytes]] = []

    def when_ready(_server: Any) -> None:
        if with_worker:
            worker_process.append(subprocess.Popen([sys.executable, "-m", "marshrut.api.cli", "worker"]))

    def on_exit(_server: Any) -> None:
        for process in worker_process:
            process.terminate()
            process.wait(timeout=10)

    def child_exit(_server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

    options = {
        "bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread", "threads": 4,
        "timeout": 60, "graceful_timeout": 10, "accesslog": "-", "errorlog": "-", "logger_class": JsonLogger,
        "when_ready": when_ready, "on_exit": on_exit, "child_exit": child_exit,
    }
    logging.getLogger("gunicorn.error").propagate = False
    MarshrutServer(options).run()
