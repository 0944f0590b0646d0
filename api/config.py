"""Settings from the environment (``MARSHRUT_*``): the only place that reads it."""

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from engine.config import Settings


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _dates(value: str | None) -> tuple[date, ...]:
    return tuple(date.fromisoformat(v.strip()) for v in (value or "").split(",") if v.strip())


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``MARSHRUT_*`` variables; unset ones keep defaults."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    return Settings(
        database_url=env.get("MARSHRUT_DATABASE_URL") or defaults.database_url,
        timezone=env.get("MARSHRUT_TIMEZONE") or defaults.timezone,
        controlled_clock=_flag(env.get("MARSHRUT_CONTROLLED_CLOCK")),
        at_risk_ratio=float(env.get("MARSHRUT_AT_RISK_RATIO") or defaults.at_risk_ratio),
        kept_workflows=int(env.get("MARSHRUT_KEPT_WORKFLOWS") or defaults.kept_workflows),
        extra_holidays=_dates(env.get("MARSHRUT_EXTRA_HOLIDAYS")),
        extra_working_days=_dates(env.get("MARSHRUT_EXTRA_WORKING_DAYS")),
        secret_key=env.get("MARSHRUT_SECRET_KEY") or defaults.secret_key,
        smtp_host=env.get("MARSHRUT_SMTP_HOST") or None,
        smtp_port=int(env.get("MARSHRUT_SMTP_PORT") or defaults.smtp_port),
        smtp_user=env.get("MARSHRUT_SMTP_USER") or None,
        smtp_password=env.get("MARSHRUT_SMTP_PASSWORD") or None,
        smtp_sender=env.get("MARSHRUT_SMTP_SENDER") or defaults.smtp_sender,
        smtp_starttls=_flag(env.get("MARSHRUT_SMTP_STARTTLS")),
        documents_dir=Path(env["MARSHRUT_DOCUMENTS_DIR"]) if env.get("MARSHRUT_DOCUMENTS_DIR") else defaults.documents_dir,
        max_document_mb=int(env.get("MARSHRUT_MAX_DOCUMENT_MB") or defaults.max_document_mb),
    )
