"""Logging in to the pages: the same users as the API, a password and a signed session cookie."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, redirect, render_template, request, session, url_for

from api.deps import database, request_session
from engine import users
from engine.access import Actor
from engine.roles import ROLES
from engine.store import UnitOfWork
from ui import bp


def current_user() -> Actor | None:
    """The logged-in user, read once per request (the page and its layout both ask)."""
    login = session.get("login")
    if not login:
        return None
    if g.get("page_actor") is None or g.page_actor.login != login:
        g.page_actor = users.by_login(UnitOfWork(request_session()), login)  # the page's operation continues this transaction
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


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Вхід"""
    error = None
    if request.method == "POST":
        with database().unit_of_work() as uow:
            actor = users.by_password(uow, request.form.get("login", "").strip(), request.form.get("password", ""))
        if actor is not None:
            session.clear()
            session["login"] = actor.login
            target = request.args.get("next") or url_for("ui.home")
            return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("ui.home"))
        error = "Неправильний логін або пароль"
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    """Вихід"""
    session.clear()
    return redirect(url_for("ui.login"))
