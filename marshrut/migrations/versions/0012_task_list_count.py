"""a role's work list counted from its index: ix_tasks_state_role_due also holds provider_id

The work list's total (``COUNT(*)`` of a role's ready steps with no provider or the caller's)
read every matching row of ``tasks`` from the table, because ``provider_id`` was not in the
index the page walks: at 20,000 open cases 3,255 table pages for one role's 4,276 steps,
13 ms of the 20 ms of the list. With ``provider_id`` as the index's last column (after ``id``,
so the walk's order is unchanged) the count is an index-only scan on PostgreSQL (1.4 ms) and
a covering-index count on SQLite.

An index-only scan reads the table for rows on pages changed since the last VACUUM (the
visibility map): every completion updates a step and inserts the next. With the default
autovacuum thresholds (20 % of the table) a table of millions of steps is vacuumed far too
rarely, so on PostgreSQL ``tasks`` is vacuumed and analysed after 1 % of its rows changed or
were inserted (as docs/performance.md advised doing by hand); the same for ``process_instances``.

Revision ID: 0012_task_list_count
Revises: 0011_sla_tallies
Create Date: 2026-12-04 18:30:00
"""
from alembic import op


revision = '0012_task_list_count'
down_revision = '0011_sla_tallies'
branch_labels = None
depends_on = None


_AUTOVACUUM = ("autovacuum_vacuum_scale_factor", "autovacuum_vacuum_insert_scale_factor",
               "autovacuum_analyze_scale_factor")


def upgrade() -> None:
    op.drop_index('ix_tasks_state_role_due', table_name='tasks')
    op.create_index('ix_tasks_state_role_due', 'tasks', ['state', 'role', 'due_at', 'id', 'provider_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in ("tasks", "process_instances"):
            op.execute(f"ALTER TABLE {table} SET ({', '.join(f'{name} = 0.01' for name in _AUTOVACUUM)})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("tasks", "process_instances"):
            op.execute(f"ALTER TABLE {table} RESET ({', '.join(_AUTOVACUUM)})")
    op.drop_index('ix_tasks_state_role_due', table_name='tasks')
    op.create_index('ix_tasks_state_role_due', 'tasks', ['state', 'role', 'due_at', 'id'], unique=False)
