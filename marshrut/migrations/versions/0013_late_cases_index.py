"""the late cases found by walking the unmet running cases by each date

The overdue view's page of late cases walked ``ix_instances_running_id`` (every running case,
filtered one by one) or ``ix_instances_status_target`` (every running case past its target
date, met or not): at a million open cases 1–3 s for a page, even with no case late. These
partial indexes hold only the running cases whose measured part is not done, so a page of
late ones reads that page and stops: by target date (in the page's order), and by legal date
(the few late only by that date); the running cases met (for a moment before they were met).

Revision ID: 0013_late_cases_index
Revises: 0012_task_list_count
Create Date: 2026-12-04 21:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_late_cases_index'
down_revision = '0012_task_list_count'
branch_labels = None
depends_on = None

_RUNNING = sa.text("status = 'running' AND completed_at IS NULL")
_UNMET = sa.text("status = 'running' AND completed_at IS NULL AND sla_met_at IS NULL")


def upgrade() -> None:
    op.create_index('ix_instances_unmet_target', 'process_instances', ['target_due', 'id'],
                    postgresql_where=_UNMET, sqlite_where=_UNMET)
    op.create_index('ix_instances_unmet_legal', 'process_instances', ['legal_due', 'target_due', 'id'],
                    postgresql_where=_UNMET, sqlite_where=_UNMET)
    op.create_index('ix_instances_met_running', 'process_instances', ['sla_met_at'],
                    postgresql_where=_RUNNING, sqlite_where=_RUNNING)


def downgrade() -> None:
    op.drop_index('ix_instances_met_running', table_name='process_instances')
    op.drop_index('ix_instances_unmet_legal', table_name='process_instances')
    op.drop_index('ix_instances_unmet_target', table_name='process_instances')
