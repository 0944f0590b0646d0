"""Logging in to the pages: the same users as the API, a password and a session that logout
revokes server-side (the signed cookie carries the session's random id; see ``engine.logins``).
"""

from collections.abc import Callable
from datetime import datetime, timezone
from functools import wraps
from typing import Any

from flask import g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError

from marshrut.api.deps import database, request_session
from marshrut.engine import audit, logins, users
from marshrut.engine.access import Actor
from marshrut.engine.roles import ROLES
from marshrut.engine.store import UnitOfWork
from marshrut.ui import bp


def wall_clock() -> datetime:
    """Sessions and login throttling run on real time, never on the controlled clock."""
    return datetime.now(timezone.utc)


def current_user() -> Actor | None:
    """The logged-in user of a live session, read once per request (the page and its layout both ask)."""
    login, session_id = session.get("login"), session.get("sid")
    if not login or not isinstance(session_id, str):
        return None
    if g.get("page_actor") is None or g.page_actor.login != login:
        uow = UnitOfWork(request_session())  # the page's operation continues this transaction
        if logins.session_login(uow, session_id, wall_clock()) != login:
            session.clear()  # revoked or expired: the cookie is worth nothing any more
            return None
        g.page_actor = users.by_login(uow, login)
    return g.page_actor


def login_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Page decorator: send anonymous visitors to the login page; 403 page for wrong roles."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = current_user()
            if actor is None:
                return redirect(url_for("ui.login", next=request.full_path))
            if roles and not actor.has(*roles):
                return render_template("forbidden.html", roles=roles), 403
            return view(*args, actor=actor, **kwargs)

        return wrapper

    return decorator


def template_globals() -> dict[str, Any]:
    actor = current_user()
    units = [ROLES[r] for r in sorted(actor.roles) if r in ROLES] if actor else []
    return {"actor": actor, "units": units, "ROLES": ROLES}


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only; anything else goes home.

    Refused: absolute and scheme-relative URLs (``https://evil``, ``//evil``), backslashes
    (``\\\\evil``, read as ``//evil`` by browsers) and control characters (``/\\t/evil`` loses its
    tab in the browser and becomes ``//evil``).
    """
    home = url_for("ui.home")
    if not target or not target.startswith("/") or target.startswith("//"):
        return home
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return home
    return target


def client_address() -> str:
    """The address failures are counted by (behind a proxy: ``MARSHRUT_TRUSTED_PROXIES``, see docs/websec.md)."""
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Вхід"""
    if request.method == "GET":
        return render_template("login.html", error=None)
    name, password = request.form.get("login", "").strip(), request.form.get("password", "")
    now, address = wall_clock(), client_address()
    with database().unit_of_work() as uow:
        throttled = logins.throttled(uow, name, address, now)
        if throttled is not None:
            audit.record(uow, "login_failed", name[:80] or None, now, data={"address": address, "reason": "throttled"})
            uow.commit()
            minutes = (throttled.retry_after + 59) // 60
            error = f"Забагато невдалих спроб входу. Спробуйте ще раз через {minutes} хв."
            return render_template("login.html", error=error), 429, {"Retry-After": str(throttled.retry_after)}
        actor = users.by_password(uow, name, password)
        if actor is None:
            logins.record_failure(uow, name, address, now)
            audit.record(uow, "login_failed", name[:80] or None, now, data={"address": address, "reason": "wrong_password"})
            uow.commit()
            return render_template("login.html", error="Неправильний логін або пароль"), 401
        logins.clear_failures(uow, actor.login)
        session_id = logins.start_session(uow, actor.login, now)
        audit.record(uow, "login", actor.login, now, data={"address": address})
        uow.commit()
    session.clear()
    session["login"], session["sid"] = actor.login, session_id
    return redirect(safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    """Вихід"""
    session_id = session.get("sid")
    if isinstance(session_id, str):
        with database().unit_of_work() as uow:
            logins.revoke_session(uow, session_id, wall_clock())
            uow.commit()
    session.clear()
    return redirect(url_for("ui.login"))


def csrf_failed(error: CSRFError):
    """A page form or fetch without a valid CSRF token: nothing was done (400, in Ukrainian)."""
    return render_template("csrf_error.html", reason=error.description), 400
