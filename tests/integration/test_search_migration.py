"""Migration 0007 fills the search keys of cases registered before it (SQLite, a fresh file)."""

import json

from alembic import command
from sqlalchemy import create_engine, text

from marshrut.engine import migrate


def test_cases_registered_before_the_migration_are_found_after_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0004")
    engine = create_engine(url)
    now = "2026-02-02 08:00:00"
    with engine.begin() as c:
        c.execute(text("INSERT INTO process_definitions (id, key, version, name, bpmn_xml, dmn_xml, forms, properties, "
                       "steps, checksum, deployed_at) VALUES (1, 'address_aid', 1, 'x', '', '{}', '{}', '{}', '[]', '', :now)"),
                  {"now": now})
        c.execute(text("INSERT INTO process_instances (id, number, process_key, definition_id, status, received_at, data, "
                       "state, created_at, updated_at, lock_version) VALUES (7, 'АД-2026-000007', 'address_aid', 1, "
                       "'running', :now, :data, '', :now, :now, 1)"),
                  {"now": now, "data": json.dumps({"surname": "Дем'яненко", "first_name": "Олена", "rnokpp": "1234567890"})})
    migrate.upgrade(url)
    with engine.connect() as c:
        row = c.execute(text("SELECT search_number, search_surname, search_first_name, search_rnokpp, applicant_name "
                             "FROM process_instances")).one()
    assert tuple(row) == ("ад-2026-000007", "демʼяненко", "олена", "1234567890", "Дем'яненко О.")
    command.downgrade(migrate.alembic_config(url), "0004")
    with engine.connect() as c:
        assert "search_surname" not in {r[1] for r in c.execute(text("PRAGMA table_info(process_instances)"))}
        assert c.execute(text("SELECT number FROM process_instances")).scalar() == "АД-2026-000007"
    engine.dispose()
