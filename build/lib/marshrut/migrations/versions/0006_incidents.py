"""incidents; timers' failed attempts and back-off; notifications' e-mail outbox state

A failing automatic element of a case becomes an incident row (open until retried); a timer
that fails to fire counts its attempts and waits before the next one; each notification's
e-mail is claimed, sent and marked on its own (``email_state``).

Revision ID: 0006_incidents
Revises: 0005_security
Create Date: 2026-12-04 15:30:00
"""
from alembic import op
import sqlalchemy as sa

from marshrut.engine.models import UtcDateTime


revision = '0006_incidents'
down_revision = '0005_security'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instances.id"), nullable=False),
        sa.Column("element_id", sa.String(100), nullable=False),
        sa.Column("spiff_id", sa.String(36), nullable=True),
        sa.Column("timer_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(80), nullable=True),
    )
    op.create_index("ix_incidents_instance_id", "incidents", ["instance_id"])
    op.create_index("ix_incidents_open", "incidents", ["resolved_at", "created_at"])
    with op.batch_alter_table("timers") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("email_state", sa.String(20), nullable=False, server_default="pending"))
        batch.add_column(sa.Column("email_claimed_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("email_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("email_error", sa.Text(), nullable=True))
    op.execute("UPDATE notifications SET email_state = 'sent' WHERE emailed_at IS NOT NULL")
    op.create_index("ix_notifications_outbox", "notifications", ["email_state", "id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_outbox", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        for column in ("email_error", "email_attempts", "email_claimed_at", "email_state"):
            batch.drop_column(column)
    with op.batch_alter_table("timers") as batch:
        for column in ("incident_id", "next_attempt_at", "attempts"):
            batch.drop_column(column)
    op.drop_index("ix_incidents_open", table_name="incidents")
    op.drop_index("ix_incidents_instance_id", table_name="incidents")
    op.drop_table("incidents")
