"""Serving the app with gunicorn, with the timer worker beside it as a child process."""

import subprocess
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from api.app import create_app


class MarshrutServer(BaseApplication):  # type: ignore[misc]
    """gunicorn configured in code, so ``marshrut serve`` needs no config file."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return create_app()


def run(host: str, port: int, workers: int, with_worker: bool = True) -> None:
    """Serve until stopped; the timer worker starts and stops with the server."""
    worker_process: list[subprocess.Popen[bytes]] = []

    def when_ready(_server: Any) -> None:
        if with_worker:
            worker_process.append(subprocess.Popen([sys.executable, "-m", "api.cli", "worker"]))

    def on_exit(_server: Any) -> None:
        for process in worker_process:
            process.terminate()
            process.wait(timeout=10)

    options = {
        "bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread", "threads": 4,
        "timeout": 60, "graceful_timeout": 10, "accesslog": "-", "when_ready": when_ready, "on_exit": on_exit,
    }
    MarshrutServer(options).run()
