"""outbox: an index on the cancel flow a mail is about, so the schedule's "not queued yet" test for an
unfinished cancel flow is a lookup, not a scan of the outbox (tracker/mail/schedule.py)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 13:48:37.098542

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_cancel_flow_id', ['cancel_flow_id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_cancel_flow_id')
