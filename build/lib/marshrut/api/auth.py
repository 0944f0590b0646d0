"""Who is calling the API: a bearer token (the only credential it takes), as an engine ``Actor``."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request

from marshrut.api.deps import request_session
from marshrut.api.observability import note_user
from marshrut.engine import users
from marshrut.engine.access import Actor
from marshrut.engine.errors import Forbidden, Unauthenticated
from marshrut.engine.store import UnitOfWork


def current_actor() -> Actor:
    """The authenticated actor of this request.

    :raise Unauthenticated: no valid bearer token. The pages' session cookie is not one: the
        API is bearer-only, so a page (or another site) cannot act through it with a cookie.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    uow = UnitOfWork(request_session())  # not closed: the request's operation goes on in this transaction
    if scheme.lower() == "bearer" and token.strip():
        actor = users.by_token(uow, token.strip())
        if actor is not None:
            return actor
    raise Unauthenticated("Потрібен дійсний токен: заголовок Authorization: Bearer <токен>")


def require(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """View decorator: authenticate, check one of ``roles`` (any role if none), pass ``actor``."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            note_user(actor.login)
            if roles and not actor.has(*roles):
                raise Forbidden(f"Потрібна одна з ролей: {', '.join(roles)}")
            return view(*args, actor=actor, **kwargs)

        return wrapper

    return decorator
