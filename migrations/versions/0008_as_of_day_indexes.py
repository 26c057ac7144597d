"""Indexes on the pulse and cancel-flow timestamps, so the health and saves pages read only the rows
of the as-of day raw (tracker/reports/rollup_queries.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:50:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

FLOW_TIMES = ("offer_shown_at", "offer_accepted_at", "offer_declined_at", "cancelled_at", "superseded_at")


def upgrade():
    op.create_index('ix_pulses_submitted_at', 'pulses', ['submitted_at'], unique=False)
    for column in FLOW_TIMES:
        op.create_index(f'ix_cancel_flows_{column}', 'cancel_flows', [column], unique=False)


def downgrade():
    for column in FLOW_TIMES:
        op.drop_index(f'ix_cancel_flows_{column}', table_name='cancel_flows')
    op.drop_index('ix_pulses_submitted_at', table_name='pulses')
