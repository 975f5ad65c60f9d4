"""Deliveries written from a handler's own calls keep the placeholder message id the
handler was given, so an edit naming it reaches the real message once it is sent.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_deliveries_ref"), ["ref"])


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_deliveries_ref"), type_="unique")
        batch_op.drop_column("ref")
