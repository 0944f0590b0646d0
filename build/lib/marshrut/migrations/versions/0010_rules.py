"""rules (issue 12): forecast basis and review moment on cases; providers bound to users and delivery steps

- ``process_instances.forecast_basis``: ``history`` or ``card`` (SPEC §5), what the forecast was built from.
- ``process_instances.forecast_review_at``: from this moment the stored forecast moves with the
  clock (an open step has run past its expected end); the worker re-forecasts such cases once a day.
- ``users.provider_id``: a ``provider`` user's organisation (``reference/providers.json`` id).
- ``tasks.provider_id``: the provider named by the decision for one delivery branch.

Revision ID: 0010_rules
Revises: 0009_scale
Create Date: 2026-12-04 15:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_rules'
down_revision = '0009_scale'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instances") as batch:
        batch.add_column(sa.Column("forecast_basis", sa.String(10), nullable=True))
        batch.add_column(sa.Column("forecast_review_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_instances_status_review", "process_instances", ["status", "forecast_review_at"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("provider_id", sa.String(100), nullable=True))
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("provider_id", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("provider_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("provider_id")
    op.drop_index("ix_instances_status_review", table_name="process_instances")
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("forecast_review_at")
        batch.drop_column("forecast_basis")
