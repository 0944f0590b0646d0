"""Web logins: page sessions that logout revokes server-side, and failed passwords slowed down.

A page session is a random id in the signed cookie; its SHA-256 digest is the row in
``web_sessions``, so the database never holds a usable id and revoking the row ends every
copy of the cookie. Failed password logins are rows in ``login_failures``, counted per
login and per client address over a window: every gunicorn worker (and every server on
one PostgreSQL database) reads the same counts, which an in-process limiter could not.
Times here are wall-clock times the adapter passes in, not the controlled clock.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from marshrut.engine.models import LoginFailure, WebSession
from marshrut.engine.store import UnitOfWork

#: How long a page session lives after login (then the user logs in again).
SESSION_LIFETIME = timedelta(hours=12)
#: Failed logins are counted over this window.
FAILURE_WINDOW = timedelta(minutes=15)
#: Failures within the window after which a login (any address) is refused for a while.
MAX_FAILURES_PER_LOGIN = 5
#: Failures within the window after which an address (any login) is refused for a while.
MAX_FAILURES_PER_ADDRESS = 20
#: Longest login and address kept (longer ones are cut; they are counted, not trusted).
_LOGIN_CHARS, _ADDRESS_CHARS = 80, 64


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(uow: UnitOfWork, login: str, now: datetime) -> str:
    """Open a page session for ``login``; returns its id (for the cookie only, shown once)."""
    session_id = secrets.token_urlsafe(32)
    uow.session.add(WebSession(id=_digest(session_id), login=login, created_at=now, expires_at=now + SESSION_LIFETIME))
    return session_id


def session_login(uow: UnitOfWork, session_id: str, now: datetime) -> str | None:
    """The login of a live session (not revoked, not expired), or None."""
    query = select(WebSession.login).where(
        WebSession.id == _digest(session_id), WebSession.revoked_at.is_(None), WebSession.expires_at > now,
    )
    return uow.session.scalar(query)


def revoke_session(uow: UnitOfWork, session_id: str, now: datetime) -> None:
    """End a session: the cookie that carries its id is refused from now on."""
    uow.session.execute(update(WebSession).where(WebSession.id == _digest(session_id), WebSession.revoked_at.is_(None))
                        .values(revoked_at=now))


def revoke_all(uow: UnitOfWork, login: str, now: datetime) -> int:
    """End every session of ``login`` (e.g. after a password change); returns how many."""
    result = uow.session.execute(update(WebSession).where(WebSession.login == login, WebSession.revoked_at.is_(None))
                                 .values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Throttled:
    """Logins refused for now: how long until the oldest counted failure leaves the window."""

    retry_after: int
    reason: str  # "login" or "address"


def throttled(uow: UnitOfWork, login: str, address: str, now: datetime) -> Throttled | None:
    """Whether a login attempt must be refused before its password is even checked."""
    since = now - FAILURE_WINDOW
    for reason, column, value, limit in (
        ("login", LoginFailure.login, login[:_LOGIN_CHARS], MAX_FAILURES_PER_LOGIN),
        ("address", LoginFailure.address, address[:_ADDRESS_CHARS], MAX_FAILURES_PER_ADDRESS),
    ):
        count, oldest = uow.session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(column == value, LoginFailure.at > since)
        ).one()
        if count >= limit and oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
            seconds = int((oldest + FAILURE_WINDOW - now).total_seconds()) + 1
            return Throttled(max(1, seconds), reason)
    return None


def record_failure(uow: UnitOfWork, login: str, address: str, now: datetime) -> None:
    """Count one failed password (old failures, out of every window, are dropped on the way)."""
    uow.session.execute(delete(LoginFailure).where(LoginFailure.at < now - FAILURE_WINDOW * 4))
    uow.session.add(LoginFailure(login=login[:_LOGIN_CHARS], address=address[:_ADDRESS_CHARS], at=now))


def clear_failures(uow: UnitOfWork, login: str) -> None:
    """A successful login forgets the login's failures (the address's stay counted)."""
    uow.session.execute(delete(LoginFailure).where(LoginFailure.login == login[:_LOGIN_CHARS]))
