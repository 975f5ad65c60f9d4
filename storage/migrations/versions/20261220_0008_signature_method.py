"""A signature says how it was given (drawn on the screen, or a photo of one on
paper) and which file is its evidence (the strokes drawn, or the photo as taken).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-20 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        # Every signature kept before this revision came from a photo.
        batch_op.add_column(
            sa.Column("method", sa.String(length=10), nullable=False, server_default="photo")
        )
        batch_op.add_column(sa.Column("evidence_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_signatures_evidence_id_attachments"),
            "attachments",
            ["evidence_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_signatures_evidence_id_attachments"), type_="foreignkey"
        )
        batch_op.drop_column("evidence_id")
        batch_op.drop_column("method")
