"""managers' views from SQL aggregates: partial indexes of open tasks, completed tasks and running cases

The summary counts the open tasks by step and status and the running cases by process and
status with GROUP BY; the step durations take percentiles of the completed tasks per step.
Each reads one of these partial indexes (index-only on PostgreSQL once vacuumed) instead of
the tables, whose rows are mostly finished history.

Revision ID: 0009_scale
Revises: 0007_documents
Create Date: 2026-12-04 15:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_scale'
down_revision = '0007_documents'
branch_labels = None
depends_on = None


def _where(condition: str) -> dict:
    return {"postgresql_where": sa.text(condition), "sqlite_where": sa.text(condition)}


def upgrade() -> None:
    op.create_index('ix_tasks_open_steps', 'tasks',
                    ['process_key', 'element_id', 'name', 'due_at', 'at_risk_at', 'created_at'],
                    **_where("completed_at IS NULL"))
    op.create_index('ix_tasks_done_steps', 'tasks',
                    ['process_key', 'element_id', 'name', 'completed_at', 'created_at', 'due_at'],
                    **_where("state = 'completed'"))
    op.create_index('ix_instances_running_sla', 'process_instances',
                    ['process_key', 'received_at', 'target_due', 'legal_due', 'sla_met_at', 'forecast_at'],
                    **_where("completed_at IS NULL"))


def downgrade() -> None:
    op.drop_index('ix_instances_running_sla', table_name='process_instances')
    op.drop_index('ix_tasks_done_steps', table_name='tasks')
    op.drop_index('ix_tasks_open_steps', table_name='tasks')
