"""Staff accounts: API tokens (stored as SHA-256 digests) and web passwords (salted hashes)."""

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from engine import definitions
from engine.access import Actor
from engine.errors import Conflict, FieldError, InvalidInput
from engine.models import User
from engine.roles import ROLES
from engine.store import UnitOfWork


def token_digest(token: str) -> str:
    # Tokens are 256-bit random strings, so a plain digest is enough (no salt or slow hash).
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    uow: UnitOfWork, login: str, roles: list[str], now: datetime, name: str | None = None,
    token: str | None = None, password: str | None = None, email: str | None = None,
) -> tuple[User, str]:
    """Create an account; returns it with its API token (shown once, stored hashed).

    :raise InvalidInput: unknown role or empty login. :raise Conflict: the login exists.
    """
    unknown = [r for r in roles if r not in ROLES]
    if unknown:  # a role a deployed diagram declares (a unit the card import did not know) is known too
        declared = definitions.declared_roles(uow)
        unknown = [r for r in unknown if r not in declared]
    if not login.strip() or not roles or unknown:
        message = f"Невідомі ролі: {', '.join(unknown)}" if unknown else "Потрібні логін і хоча б одна роль"
        raise InvalidInput(message, [FieldError("/roles" if unknown else "/login", message)])
    if uow.session.scalars(select(User).where(User.login == login)).first() is not None:
        raise Conflict(f"Користувач {login} вже існує")
    token = token or secrets.token_urlsafe(32)
    user = User(
        login=login, name=name or login, roles=sorted(set(roles)), email=email, created_at=now,
        token_hash=token_digest(token), password_hash=generate_password_hash(password) if password else None,
    )
    uow.session.add(user)
    uow.flush()
    return user, token


def actor_of(user: User) -> Actor:
    return Actor(user.login, user.name, frozenset(user.roles))


# Asked on every API call: three columns, no row object, the statement built once.
_BY_TOKEN = select(User.login, User.name, User.roles).where(User.token_hash == bindparam("digest"))


def by_token(uow: UnitOfWork, token: str) -> Actor | None:
    """The actor a bearer token belongs to, if any."""
    row = uow.session.execute(_BY_TOKEN, {"digest": token_digest(token)}).first()
    return Actor(row.login, row.name, frozenset(row.roles)) if row else None


def by_password(uow: UnitOfWork, login: str, password: str) -> Actor | None:
    """The actor whose login and password match, if any."""
    user = uow.session.scalars(select(User).where(User.login == login)).first()
    if user is None or not user.password_hash or not check_password_hash(user.password_hash, password):
        return None
    return actor_of(user)


def by_login(uow: UnitOfWork, login: str) -> Actor | None:
    user = uow.session.scalars(select(User).where(User.login == login)).first()
    return actor_of(user) if user else None
