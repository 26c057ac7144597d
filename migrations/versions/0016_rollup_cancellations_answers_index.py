"""rollup_cancellations: an index in the order of the answers, holding every column, so the cancellations'
settled part (tracker/reports/rollup_queries.py) groups by the answers without a sort or a look-up in the
table. Built concurrently on PostgreSQL (writers of mentorships keep writing), outside a transaction.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 20:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

NAME = 'ix_rollup_cancellations_answers'
COLUMNS = ['stage', 'churn_reason', 'goal_reached', 'stars', 'ended_day', 'surveyed_day', 'goal_category', 'n']


def upgrade():
    if op.get_context().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            # A concurrent build that failed (or was stopped) leaves an invalid index of this name behind.
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {NAME}')
            op.create_index(NAME, 'rollup_cancellations', COLUMNS, unique=False, postgresql_concurrently=True)
    else:
        op.create_index(NAME, 'rollup_cancellations', COLUMNS, unique=False)


def downgrade():
    if op.get_context().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.drop_index(NAME, table_name='rollup_cancellations', postgresql_concurrently=True)
    else:
        op.drop_index(NAME, table_name='rollup_cancellations')
