"""Settings the engine is given by its adapters (it never reads the environment itself)."""

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Marshrut deployment.

    :param database_url: SQLAlchemy URL; SQLite file by default.
    :param controlled_clock: allow admins to set "now" (tests, demos).
    :param at_risk_ratio: share of a task's time after which it is "at risk".
    :param kept_workflows: workflows a process keeps after saving them, for their cases' next
        step (0: every step rebuilds its case's workflow from the saved text).
    """

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'marshrut.db'}"
    bpmn_dir: Path = PROJECT_ROOT / "bpmn"
    forms_dir: Path = PROJECT_ROOT / "forms"
    reference_dir: Path = PROJECT_ROOT / "reference"
    #: The papers' templates (DOCX, XLSX) and the department's requisites, edited by analysts.
    templates_dir: Path = PROJECT_ROOT / "templates"
    timezone: str = "Europe/Kyiv"
    controlled_clock: bool = False
    at_risk_ratio: float = 0.75
    kept_workflows: int = 128
    extra_holidays: tuple[date, ...] = field(default_factory=tuple)
    extra_working_days: tuple[date, ...] = field(default_factory=tuple)
    secret_key: str = "dev-only-secret"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "marshrut@localhost"
    smtp_starttls: bool = False
