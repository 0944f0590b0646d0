"""web security: revocable web sessions, failed logins, an append-only audit table

``web_sessions`` holds the digest of each page session's id, so logout revokes a session
server-side; ``login_failures`` counts failed password logins per login and per client
address (every gunicorn worker reads the same counts). On PostgreSQL a trigger refuses
UPDATE and DELETE on ``audit_events``: the log is append-only for the service (TRUNCATE,
which only a table's owner may run, stays possible for tests and maintenance).

Revision ID: 0005_security
Revises: 0004
Create Date: 2026-12-04 15:20:00
"""
from alembic import op
import sqlalchemy as sa

from marshrut.engine.models import UtcDateTime


revision = '0005_security'
down_revision = '0004'
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
"""


def upgrade() -> None:
    op.create_table('web_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('login', sa.String(length=80), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('expires_at', UtcDateTime(), nullable=False),
        sa.Column('revoked_at', UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_web_sessions_login', 'web_sessions', ['login'], unique=False)
    op.create_table('login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('login', sa.String(length=80), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_failures_login_at', 'login_failures', ['login', 'at'], unique=False)
    op.create_index('ix_login_failures_address_at', 'login_failures', ['address', 'at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FUNCTION)
        op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    op.drop_index('ix_login_failures_address_at', table_name='login_failures')
    op.drop_index('ix_login_failures_login_at', table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_index('ix_web_sessions_login', table_name='web_sessions')
    op.drop_table('web_sessions')
