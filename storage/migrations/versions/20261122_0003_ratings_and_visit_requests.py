"""What the office and the client need: the client's rating of an intervention and
their requests for a new visit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 19:43:49.876390
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_ratings_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_ratings_intervention_id_interventions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("intervention_id", name=op.f("uq_ratings_intervention_id")),
    )
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ratings_client_id"), ["client_id"], unique=False)

    op.create_table(
        "visit_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("intervention_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_visit_requests_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_visit_requests_intervention_id_interventions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_visit_requests_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_requests")),
    )
    with op.batch_alter_table("visit_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visit_requests_client_id"), ["client_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("visit_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_requests_client_id"))

    op.drop_table("visit_requests")
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ratings_client_id"))

    op.drop_table("ratings")
