"""SLA tallies (issue 17): counters of open steps, running cases and step durations, kept by triggers

- ``sla_tally_changes``: +1/−1 under a key, appended by triggers on ``tasks`` and
  ``process_instances`` with each change (engine/sla_tallies.py says which keys);
- ``sla_tallies``: one row per key, the changes folded in by the worker;
- ``ix_tasks_state_risk``: the steps turning "at risk" within one hour, read beside the tallies;
- ``ix_instances_running_id``: the running cases newest first, for the case list's SLA filter;
- ``ix_tasks_done_steps`` (every completed step with its name and dates, which the step durations
  were read from) replaced by the narrow ``ix_tasks_done_by_time`` (process, completion time);
- the tallies counted from the rows already there.

Revision ID: 0011_sla_tallies
Revises: 0010_rules
Create Date: 2026-12-04 19:00:00
"""
from alembic import op
import sqlalchemy as sa

from marshrut.engine import sla_tallies


revision = '0011_sla_tallies'
down_revision = '0010_rules'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sla_tallies',
        sa.Column('tally', sa.String(12), primary_key=True),
        sa.Column('process_key', sa.String(100), primary_key=True),
        sa.Column('element_id', sa.String(500), primary_key=True),
        sa.Column('bucket', sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
    )
    op.create_index('ix_sla_tallies_zero', 'sla_tallies', ['tally'], postgresql_where=sa.text('amount = 0'),
                    sqlite_where=sa.text('amount = 0'))
    op.create_table(
        'sla_tally_changes',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), primary_key=True),
        sa.Column('tally', sa.String(12), nullable=False),
        sa.Column('process_key', sa.String(100), nullable=False),
        sa.Column('element_id', sa.String(500), nullable=False),
        sa.Column('bucket', sa.BigInteger(), nullable=False),
        sa.Column('amount', sa.Integer(), nullable=False),
    )
    op.create_index('ix_tasks_state_risk', 'tasks', ['state', 'at_risk_at'])
    # The step durations now come from the tallies: the wide index they were read from (every
    # completed step with its name and three dates) gives way to a narrow one by process and time.
    op.drop_index('ix_tasks_done_steps', table_name='tasks')
    op.create_index('ix_tasks_done_by_time', 'tasks', ['process_key', 'completed_at'],
                    postgresql_where=sa.text("state = 'completed'"), sqlite_where=sa.text("state = 'completed'"))
    op.create_index('ix_instances_running_id', 'process_instances', ['id'], postgresql_where=sa.text("status = 'running'"),
                    sqlite_where=sa.text("status = 'running'"))
    bind = op.get_bind()
    for statement in sla_tallies.trigger_ddl(bind.dialect.name):
        op.execute(statement)
    if bind.dialect.name == "postgresql":
        # Rows appended with every change and deleted by the worker every few seconds: vacuumed
        # after every 10,000 dead rows rather than after a fifth of the table (the default).
        op.execute("ALTER TABLE sla_tally_changes SET (autovacuum_vacuum_scale_factor = 0, "
                   "autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_insert_scale_factor = 0, "
                   "autovacuum_vacuum_insert_threshold = 10000)")
    sla_tallies.rebuild(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for statement in sla_tallies.drop_trigger_ddl(bind.dialect.name):
        op.execute(statement)
    op.drop_index('ix_instances_running_id', table_name='process_instances')
    op.drop_index('ix_tasks_done_by_time', table_name='tasks')
    op.create_index('ix_tasks_done_steps', 'tasks', ['process_key', 'element_id', 'name', 'completed_at', 'created_at', 'due_at'],
                    postgresql_where=sa.text("state = 'completed'"), sqlite_where=sa.text("state = 'completed'"))
    op.drop_index('ix_tasks_state_risk', table_name='tasks')
    op.drop_table('sla_tally_changes')
    op.drop_index('ix_sla_tallies_zero', table_name='sla_tallies')
    op.drop_table('sla_tallies')
