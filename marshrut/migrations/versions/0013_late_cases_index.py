"""late steps and cases, unnoticed breaches and steps with participants walked by date

The overdue view's page of late cases walked ``ix_instances_running_id`` (every running case,
filtered one by one) or ``ix_instances_status_target`` (every running case past its target
date, met or not): at a million open cases 1–3 s for a page, even with no case late. These
partial indexes hold only the running cases whose measured part is not done, so a page of
late ones reads that page and stops: by target date (in the page's order), and by legal date
(the few late only by that date); the running cases met (for a moment before they were met).

The worker's breach notices looked for unnoticed late steps by reading every late step's id
each pass, and for unnoticed late cases by walking every running case in id order (2 s a
kind at a million cases): partial indexes of the steps and cases whose breach is not yet
recorded, by due date, make a pass's batch the range before now.

The open steps by due date (``completed_at IS NULL`` first in ix_tasks_completed_due is not an
equality, so PostgreSQL would not walk that index in due-date order: it read every late step and
sorted them, 20–40 ms at a million cases), and the open steps with participants by due date
(a participant's work list is its roles' steps and the steps it takes part in: under one OR
the page was a walk of every ready step, 30–60 ms; now each part is a walk of its own index).

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

_PARTICIPATING = sa.text("state = 'ready' AND length(participant_roles) > 2")
_RUNNING = sa.text("status = 'running' AND completed_at IS NULL")
_UNNOTICED = (
    ("ix_tasks_unnoticed_due", "tasks", ["due_at", "id"], "state = 'ready' AND breach_recorded IS {false}"),
    ("ix_instances_unnoticed_target", "process_instances", ["target_due", "id"],
     "status = 'running' AND sla_met_at IS NULL AND target_breach_recorded IS {false}"),
    ("ix_instances_unnoticed_legal", "process_instances", ["legal_due", "id"],
     "status = 'running' AND sla_met_at IS NULL AND legal_breach_recorded IS {false}"),
)
_UNMET = sa.text("status = 'running' AND completed_at IS NULL AND sla_met_at IS NULL")


def upgrade() -> None:
    op.create_index('ix_instances_unmet_target', 'process_instances', ['target_due', 'id'],
                    postgresql_where=_UNMET, sqlite_where=_UNMET)
    op.create_index('ix_instances_unmet_legal', 'process_instances', ['legal_due', 'target_due', 'id'],
                    postgresql_where=_UNMET, sqlite_where=_UNMET)
    op.create_index('ix_instances_met_running', 'process_instances', ['sla_met_at'],
                    postgresql_where=_RUNNING, sqlite_where=_RUNNING)
    op.create_index('ix_tasks_open_due', 'tasks', ['due_at', 'created_at', 'id'],
                    postgresql_where=sa.text("completed_at IS NULL"), sqlite_where=sa.text("completed_at IS NULL"))
    op.create_index('ix_tasks_participating', 'tasks', ['due_at', 'id'],
                    postgresql_where=_PARTICIPATING, sqlite_where=_PARTICIPATING)
    # The breaches not yet noticed, by due date: the worker's batch is the range before now.
    for name, table, columns, where in _UNNOTICED:
        op.create_index(name, table, columns, postgresql_where=sa.text(where.format(false="false")),
                        sqlite_where=sa.text(where.format(false="0")))


def downgrade() -> None:
    op.drop_index('ix_tasks_participating', table_name='tasks')
    op.drop_index('ix_tasks_open_due', table_name='tasks')
    for name, table, _columns, _where in _UNNOTICED:
        op.drop_index(name, table_name=table)
    op.drop_index('ix_instances_met_running', table_name='process_instances')
    op.drop_index('ix_instances_unmet_legal', table_name='process_instances')
    op.drop_index('ix_instances_unmet_target', table_name='process_instances')
