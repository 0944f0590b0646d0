"""case search keys, scanned documents and comments

Search: normalised keys of the case number and the applicant's surname, first name and РНОКПП,
each indexed and compared bytewise (``COLLATE "C"`` on PostgreSQL) so that a prefix search is a
range of an index; filled here for the cases already registered. ``applicant_name`` is the
surname and initials the lists show.

Revision ID: 0007_documents
Revises: 0006_incidents
Create Date: 2026-12-04 15:30:00
"""
from alembic import op
import sqlalchemy as sa

from marshrut.engine import search


revision = '0007_documents'
down_revision = '0006_incidents'
branch_labels = None
depends_on = None

_KEYS = ("search_number", "search_surname", "search_first_name")
_BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    key = sa.String(100, collation="C") if bind.dialect.name == "postgresql" else sa.String(100)
    for name in _KEYS:
        op.add_column("process_instances", sa.Column(name, key, nullable=True))
    op.add_column("process_instances", sa.Column("search_rnokpp", sa.String(10), nullable=True))
    op.add_column("process_instances", sa.Column("applicant_name", sa.String(200), nullable=True))
    _fill(bind)
    for name in (*_KEYS, "search_rnokpp"):
        op.create_index(f"ix_process_instances_{name}", "process_instances", [name])

    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instances.id"), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(200), nullable=True),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("uploaded_by", sa.String(80), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.String(80), nullable=True),
    )
    op.create_index("ix_documents_instance_id", "documents", ["instance_id"])
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instances.id"), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_comments_instance_id", "comments", ["instance_id"])


def _fill(bind: sa.engine.Connection) -> None:
    """Search keys of the cases already registered, a batch of ids at a time."""
    cases = sa.table("process_instances", sa.column("id", sa.Integer), sa.column("number", sa.String),
                     sa.column("data", sa.JSON), *[sa.column(n, sa.String) for n in (*_KEYS, "search_rnokpp", "applicant_name")])
    last = 0
    while True:
        rows = bind.execute(sa.select(cases.c.id, cases.c.number, cases.c.data).where(cases.c.id > last)
                            .order_by(cases.c.id).limit(_BATCH)).all()
        if not rows:
            return
        for row in rows:
            values = {**search.keys_of(row.data or {}), "search_number": search.normalise(row.number)}
            bind.execute(cases.update().where(cases.c.id == row.id).values(**values))
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_comments_instance_id", "comments")
    op.drop_table("comments")
    op.drop_index("ix_documents_instance_id", "documents")
    op.drop_table("documents")
    with op.batch_alter_table("process_instances") as batch:  # SQLite rebuilds the table
        for name in (*_KEYS, "search_rnokpp"):
            batch.drop_index(f"ix_process_instances_{name}")
        for name in (*_KEYS, "search_rnokpp", "applicant_name"):
            batch.drop_column(name)
