"""Indexes on the timestamps of pulses, cancel flows, check-ins, pauses and risk reviews, so the health,
saves and at-risk pages read only the rows of the as-of day raw (tracker/reports/rollup_queries.py).

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
OTHERS = [("checkins", "occurred_at"), ("checkins", "logged_at"), ("pauses", "starts_at"), ("pauses", "ends_at"),
          ("risk_reviews", "handled_at")]


def upgrade():
    op.create_index('ix_pulses_submitted_at', 'pulses', ['submitted_at'], unique=False)
    for column in FLOW_TIMES:
        op.create_index(f'ix_cancel_flows_{column}', 'cancel_flows', [column], unique=False)
    for table, column in OTHERS:
        op.create_index(f'ix_{table}_{column}', table, [column], unique=False)


def downgrade():
    for table, column in OTHERS:
        op.drop_index(f'ix_{table}_{column}', table_name=table)
    for column in FLOW_TIMES:
        op.drop_index(f'ix_cancel_flows_{column}', table_name='cancel_flows')
    op.drop_index('ix_pulses_submitted_at', table_name='pulses')
