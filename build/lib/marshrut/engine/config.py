"""Settings the engine is given by its adapters (it never reads the environment itself)."""

from dataclasses import dataclass, field
from datetime import date
from importlib.resources import files
from pathlib import Path

#: The installed package: shipped diagrams, forms, reference data, migrations (importlib.resources).
PACKAGE_ROOT = Path(str(files("marshrut")))
#: The checkout around the package (tests, bench); in an installed wheel, site-packages.
PROJECT_ROOT = PACKAGE_ROOT.parent
#: Where the service keeps its own files by default (the embedded database, generated secrets):
#: var/ under the directory it is started from (the checkout, for ./scripts/run).
VAR_DIR = Path.cwd() / "var"


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Marshrut deployment.

    :param database_url: SQLAlchemy URL; SQLite file by default.
    :param controlled_clock: allow admins to set "now" (tests, demos).
    :param at_risk_ratio: share of a task's time after which it is "at risk".
    :param script_timeout_ms: the deadline of one evaluation of a diagram's script or expression.
    :param kept_workflows: workflows a process keeps after saving them, for their cases' next
        step (0: every step rebuilds its case's workflow from the saved text).
    :param secret_key: signs page sessions and CSRF tokens; None: a random key kept in
        ``var_dir/secret_key`` (made on first start).
    :param secure_cookies: the session cookie is sent over HTTPS only.
    :param trusted_proxies: reverse proxies in front whose ``X-Forwarded-For``/``-Proto``/``-Host``
        are believed (0: none; the client address is the peer's).
    """

    database_url: str = f"sqlite:///{VAR_DIR / 'marshrut.db'}"
    bpmn_dir: Path = PACKAGE_ROOT / "bpmn"
    forms_dir: Path = PACKAGE_ROOT / "forms"
    reference_dir: Path = PACKAGE_ROOT / "reference"
    #: The papers' templates (DOCX, XLSX) and the department's requisites, edited by analysts.
    templates_dir: Path = PACKAGE_ROOT / "templates"
    timezone: str = "Europe/Kyiv"
    controlled_clock: bool = False
    at_risk_ratio: float = 0.75
    kept_workflows: int = 128
    extra_holidays: tuple[date, ...] = field(default_factory=tuple)
    extra_working_days: tuple[date, ...] = field(default_factory=tuple)
    #: The last day of martial law (SPEC §5); None while it lasts.
    martial_law_until: date | None = None
    secret_key: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "marshrut@localhost"
    smtp_starttls: bool = False
    script_timeout_ms: int = 1000
    var_dir: Path = VAR_DIR
    secure_cookies: bool = True
    trusted_proxies: int = 0
    #: A timer that fails to fire is tried this many times (waiting ``timer_backoff_seconds``,
    #: doubled after each failure), then becomes an incident.
    timer_attempts: int = 3
    timer_backoff_seconds: float = 60.0
    #: An e-mail claimed this many seconds ago and not marked sent (its worker died) is sent once more.
    email_sending_timeout: float = 300.0
    documents_dir: Path = VAR_DIR / "documents"
    max_document_mb: int = 20
