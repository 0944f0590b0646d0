"""Fixtures: a real database (SQLite file or a PostgreSQL schema of its own), settings,
deployed diagrams and one user per role.

``MARSHRUT_TEST_BACKEND`` picks the backend (``sqlite`` by default, ``postgresql`` to use
``MARSHRUT_TEST_POSTGRES_URL``); ``scripts/test`` runs the suite on both.
"""

import functools
import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text
from werkzeug.security import generate_password_hash

from marshrut.engine import definitions, forecast, migrate, reference, users
from marshrut.engine.access import Actor
from marshrut.engine.business_calendar import KYIV
from marshrut.engine.clock import FixedClock
from marshrut.engine.config import PROJECT_ROOT, Settings
from marshrut.engine.context import Context, set_controlled_clock
from marshrut.engine.models import Base
from marshrut.engine.roles import ROLES
from marshrut.engine.store import Database

BACKEND = os.environ.get("MARSHRUT_TEST_BACKEND", "sqlite")
POSTGRES_URL = os.environ.get("MARSHRUT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def kyiv(text_: str) -> datetime:
    """``"2026-02-02 10:00"`` → that moment in Kyiv."""
    return datetime.fromisoformat(text_).replace(tzinfo=KYIV)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND == "postgresql":
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'marshrut.db'}"


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    migrate.upgrade(database_url)
    return database_url


#: Signs the test apps' sessions (a fixed value keeps one built app per settings across tests).
TEST_SECRET_KEY = "test-only-" + uuid.uuid4().hex


@pytest.fixture
def settings(migrated: str, tmp_path: Path) -> Settings:
    # Tests serve plain HTTP on 127.0.0.1, so the session cookie may not be Secure-only there.
    return Settings(database_url=migrated, controlled_clock=True, secret_key=TEST_SECRET_KEY, secure_cookies=False)


def empty_tables(connection: Connection) -> None:
    """Every table emptied (TRUNCATE on PostgreSQL: its audit table refuses DELETE, migration 0005)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"TRUNCATE {', '.join(table.name for table in Base.metadata.sorted_tables)}"))
    else:
        # The tallies last: emptying the tasks and cases makes their triggers append changes.
        tables = sorted(reversed(Base.metadata.sorted_tables), key=lambda t: t.name.startswith("sla_tall"))
        for table in tables:
            connection.execute(table.delete())


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The database, emptied before each test."""
    database = Database(settings.database_url)
    with database.engine.begin() as connection:
        empty_tables(connection)
    forecast.clear_history_cache()
    yield database
    database.dispose()


def set_now(db: Database, moment: datetime) -> None:
    """Move the controlled clock (as ``PUT /admin/clock`` does)."""
    with db.unit_of_work() as uow:
        set_controlled_clock(uow, moment)
        uow.commit()


@pytest.fixture
def deployed(db: Database, settings: Settings) -> Database:
    """Every shipped diagram deployed."""
    paths = sorted(settings.bpmn_dir.glob("*.bpmn"))
    for bundle in definitions.bundles_from_paths(paths, settings.bpmn_dir, settings.forms_dir):
        with db.unit_of_work() as uow:
            definitions.deploy(uow, bundle, "test", kyiv("2026-01-01 09:00"))
            uow.commit()
    return db


@functools.cache
def password_hash(password: str) -> str:
    """A web password's hash, computed once per test session (hashing is slow on purpose)."""
    return generate_password_hash(password)


@pytest.fixture
def actors(db: Database) -> dict[str, Actor]:
    """One user per role, login = role key; tokens ``token-<role>``, passwords ``pw-<role>``."""
    result = {}
    with db.unit_of_work() as uow:
        for role in ROLES:
            user, _token = users.create_user(uow, role, [role], kyiv("2026-01-01 09:00"), token=f"token-{role}")
            user.password_hash = password_hash(f"pw-{role}")
            result[role] = users.actor_of(user)
        for provider_id in PROVIDER_IDS:  # staff of each provider organisation (SPEC §3.2)
            user, _token = users.create_user(uow, f"provider-{provider_id}", ["provider"], kyiv("2026-01-01 09:00"),
                                             token=f"token-provider-{provider_id}", provider_id=provider_id)
            result[f"provider-{provider_id}"] = users.actor_of(user)
        uow.commit()
    return result


#: The provider organisations of the reference data (a ``provider-<id>`` user each in ``actors``).
PROVIDER_IDS = [p["id"] for p in reference.providers() if p.get("kind") == "provider"]


def context_at(settings: Settings, moment: datetime) -> Context:
    return Context(replace(settings, controlled_clock=True), FixedClock(moment))


ROOT = PROJECT_ROOT
