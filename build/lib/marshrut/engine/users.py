"""Staff accounts: API tokens (stored as SHA-256 digests) and web passwords (salted hashes)."""

import functools
import hashlib
import secrets
from datetime import datetime

from sqlalchemy import bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from marshrut.engine import definitions, reference
from marshrut.engine.access import Actor
from marshrut.engine.errors import Conflict, FieldError, InvalidInput
from marshrut.engine.models import User
from marshrut.engine.roles import ROLES
from marshrut.engine.store import UnitOfWork


def token_digest(token: str) -> str:
    # Tokens are 256-bit random strings, so a plain digest is enough (no salt or slow hash).
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    uow: UnitOfWork, login: str, roles: list[str], now: datetime, name: str | None = None,
    token: str | None = None, password: str | None = None, email: str | None = None,
    provider_id: str | None = None, reference_dir: str | None = None,
) -> tuple[User, str]:
    """Create an account; returns it with its API token (shown once, stored hashed).

    :param provider_id: binds a ``provider`` user to one organisation of the providers' list.
    :raise InvalidInput: unknown role, empty login, or a provider binding that does not fit.
    :raise Conflict: the login exists.
    """
    unknown = [r for r in roles if r not in ROLES]
    if unknown:  # a role a deployed diagram declares (a unit the card import did not know) is known too
        declared = definitions.declared_roles(uow)
        unknown = [r for r in unknown if r not in declared]
    if not login.strip() or not roles or unknown:
        message = f"Невідомі ролі: {', '.join(unknown)}" if unknown else "Потрібні логін і хоча б одна роль"
        raise InvalidInput(message, [FieldError("/roles" if unknown else "/login", message)])
    if provider_id is not None and ("provider" not in roles or provider_id not in reference.provider_ids(reference_dir)):
        message = (f"Надавача «{provider_id}» немає в довіднику надавачів" if "provider" in roles
                   else "Прив'язати до надавача можна лише користувача з роллю provider")
        raise InvalidInput(message, [FieldError("/provider", message)])
    if uow.session.scalars(select(User).where(User.login == login)).first() is not None:
        raise Conflict(f"Користувач {login} вже існує")
    token = token or secrets.token_urlsafe(32)
    user = User(
        login=login, name=name or login, roles=sorted(set(roles)), email=email, created_at=now,
        token_hash=token_digest(token), password_hash=generate_password_hash(password) if password else None,
        provider_id=provider_id,
    )
    uow.session.add(user)
    uow.flush()
    return user, token


def actor_of(user: User) -> Actor:
    return Actor(user.login, user.name, frozenset(user.roles), user.provider_id)


# Asked on every API call: three columns, no row object, the statement built once.
_BY_TOKEN = select(User.login, User.name, User.roles, User.provider_id).where(User.token_hash == bindparam("digest"))


def by_token(uow: UnitOfWork, token: str) -> Actor | None:
    """The actor a bearer token belongs to, if any."""
    row = uow.session.execute(_BY_TOKEN, {"digest": token_digest(token)}).first()
    return Actor(row.login, row.name, frozenset(row.roles), row.provider_id) if row else None


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches, checked for unknown logins so they cost what a wrong password costs."""
    return generate_password_hash(secrets.token_urlsafe(16))


def by_password(uow: UnitOfWork, login: str, password: str) -> Actor | None:
    """The actor whose login and password match, if any.

    An unknown login (or one without a password) is checked against a dummy hash, so the time
    taken does not tell whether a login exists.
    """
    user = uow.session.scalars(select(User).where(User.login == login)).first()
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return actor_of(user)


def by_login(uow: UnitOfWork, login: str) -> Actor | None:
    user = uow.session.scalars(select(User).where(User.login == login)).first()
    return actor_of(user) if user else None


def names_of(uow: UnitOfWork, logins: set[str | None]) -> dict[str, str]:
    """People's names by login, in one query (pages and lists show names, not logins)."""
    wanted = sorted(login for login in logins if login)
    if not wanted:
        return {}
    return {row.login: row.name for row in uow.session.execute(select(User.login, User.name).where(User.login.in_(wanted)))}
