"""What the technician's wizard and the reports need: the intervention a technician is
working on, worked hours and travel details, merging of waiting deliveries, and the
record of issued PDF reports (fingerprint and verification code).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:08:32.634056
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "issued_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_issued_reports_attachment_id_attachments"),
        ),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_issued_reports_intervention_id_interventions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_reports")),
        sa.UniqueConstraint("code", name=op.f("uq_issued_reports_code")),
    )
    with op.batch_alter_table("issued_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_issued_reports_intervention_id"), ["intervention_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_issued_reports_sha256"), ["sha256"], unique=False)

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coalesce_key", sa.String(length=100), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_deliveries_coalesce_key"), ["coalesce_key"], unique=False
        )

    with op.batch_alter_table("interventions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("worked_hours", sa.Numeric(precision=6, scale=2), nullable=True)
        )
        batch_op.add_column(sa.Column("travel_mode", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("travel_km_rate", sa.Numeric(precision=8, scale=3), nullable=True)
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_intervention_id", sa.Integer(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("current_intervention_id")

    with op.batch_alter_table("interventions", schema=None) as batch_op:
        batch_op.drop_column("travel_km_rate")
        batch_op.drop_column("travel_mode")
        batch_op.drop_column("worked_hours")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_coalesce_key"))
        batch_op.drop_column("coalesce_key")

    with op.batch_alter_table("issued_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_reports_sha256"))
        batch_op.drop_index(batch_op.f("ix_issued_reports_intervention_id"))

    op.drop_table("issued_reports")

    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("language")
