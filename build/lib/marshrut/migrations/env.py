"""Alembic environment: migrations run against the URL the caller put in the config."""

from alembic import context

from marshrut.engine.models import Base
from marshrut.engine.store import make_engine

config = context.config
target_metadata = Base.metadata
if not config.get_main_option("sqlalchemy.url"):
    # The stock `alembic` command (alembic.ini): the service's own database.
    import os

    from marshrut.engine.config import Settings

    config.set_main_option("sqlalchemy.url", (os.environ.get("MARSHRUT_DATABASE_URL") or Settings().database_url).replace("%", "%%"))


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # Batch migrations rebuild tables; with foreign keys on, dropping the old
                # parent table would fail. SQLite only honours this outside a transaction.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
