"""Browser tests: the app served over real HTTP in a thread, driven by Debian's Chromium
through Playwright (no browser download: ``executable_path``). Screenshots go to
``tests/screenshots/``.
"""

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from marshrut.api.app import create_app

CHROMIUM = os.environ.get("MARSHRUT_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def live_server(deployed, settings, actors) -> Iterator[str]:
    """The whole app on a free port; yields its base URL."""
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    app.extensions["marshrut"]["db"].dispose()  # close the pool's connections now, not at garbage collection


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="uk-UA", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def login(page, base_url: str, role: str) -> None:
    """Log in through the form as the fixture user of ``role`` (password ``pw-<role>``)."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=login]", role)
    page.fill("input[name=password]", f"pw-{role}")
    page.click("button[type=submit]")
