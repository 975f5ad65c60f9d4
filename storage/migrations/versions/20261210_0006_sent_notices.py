"""The notices the scheduler sends once (reminders, digests, overdue warnings), each
claimed by a row unique by its kind and key. The overdue warnings sent before this
revision, known then by their delivery's key, are claimed here so none is sent again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: How a delivery marked the overdue warning of an intervention before this revision.
OVERDUE_PREFIX = "overdue:"


def upgrade() -> None:
    notices = op.create_table(
        "sent_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sent_notices")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_sent_notices_kind_key")),
    )
    deliveries = sa.table(
        "deliveries",
        sa.column("coalesce_key", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    told = (
        sa.select(
            sa.literal("overdue"),
            sa.func.substr(deliveries.c.coalesce_key, len(OVERDUE_PREFIX) + 1),
            sa.func.min(deliveries.c.created_at),
        )
        .where(deliveries.c.coalesce_key.like(f"{OVERDUE_PREFIX}%"))
        .group_by(deliveries.c.coalesce_key)
    )
    op.execute(sa.insert(notices).from_select(["kind", "key", "claimed_at"], told))


def downgrade() -> None:
    op.drop_table("sent_notices")
