"""Settings from the environment (``MARSHRUT_*``): the only place that reads it."""

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from marshrut.engine.config import Settings


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _dates(value: str | None) -> tuple[date, ...]:
    return tuple(date.fromisoformat(v.strip()) for v in (value or "").split(",") if v.strip())


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``MARSHRUT_*`` variables; unset ones keep defaults."""
    env = os.environ if environ is None else environ
    defaults = Settings()
    database_url = env.get("MARSHRUT_DATABASE_URL") or defaults.database_url
    secure = env.get("MARSHRUT_SECURE_COOKIES")
    return Settings(
        database_url=database_url,
        timezone=env.get("MARSHRUT_TIMEZONE") or defaults.timezone,
        controlled_clock=_flag(env.get("MARSHRUT_CONTROLLED_CLOCK")),
        at_risk_ratio=float(env.get("MARSHRUT_AT_RISK_RATIO") or defaults.at_risk_ratio),
        kept_workflows=int(env.get("MARSHRUT_KEPT_WORKFLOWS") or defaults.kept_workflows),
        extra_holidays=_dates(env.get("MARSHRUT_EXTRA_HOLIDAYS")),
        extra_working_days=_dates(env.get("MARSHRUT_EXTRA_WORKING_DAYS")),
        martial_law_until=date.fromisoformat(env["MARSHRUT_MARTIAL_LAW_UNTIL"].strip())
        if (env.get("MARSHRUT_MARTIAL_LAW_UNTIL") or "").strip() else None,
        secret_key=env.get("MARSHRUT_SECRET_KEY") or None,
        smtp_host=env.get("MARSHRUT_SMTP_HOST") or None,
        smtp_port=int(env.get("MARSHRUT_SMTP_PORT") or defaults.smtp_port),
        smtp_user=env.get("MARSHRUT_SMTP_USER") or None,
        smtp_password=env.get("MARSHRUT_SMTP_PASSWORD") or None,
        smtp_sender=env.get("MARSHRUT_SMTP_SENDER") or defaults.smtp_sender,
        smtp_starttls=_flag(env.get("MARSHRUT_SMTP_STARTTLS")),
        script_timeout_ms=int(env.get("MARSHRUT_SCRIPT_TIMEOUT_MS") or defaults.script_timeout_ms),
        # Secure cookies unless told otherwise, except on the embedded default (the SQLite file
        # under var/ that ./scripts/run serves on 127.0.0.1 over plain HTTP).
        secure_cookies=_flag(secure) if secure else database_url != defaults.database_url,
        trusted_proxies=int(env.get("MARSHRUT_TRUSTED_PROXIES") or 0),
        timer_attempts=int(env.get("MARSHRUT_TIMER_ATTEMPTS") or defaults.timer_attempts),
        timer_backoff_seconds=float(env.get("MARSHRUT_TIMER_BACKOFF_SECONDS") or defaults.timer_backoff_seconds),
        email_sending_timeout=float(env.get("MARSHRUT_EMAIL_SENDING_TIMEOUT") or defaults.email_sending_timeout),
        documents_dir=Path(env["MARSHRUT_DOCUMENTS_DIR"]) if env.get("MARSHRUT_DOCUMENTS_DIR") else defaults.documents_dir,
        max_document_mb=int(env.get("MARSHRUT_MAX_DOCUMENT_MB") or defaults.max_document_mb),
    )
