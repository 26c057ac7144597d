"""mail: the outbox, the mail preferences and the used single-use links (tracker/mail/)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:59:16.588727

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('used_links',
    sa.Column('link_id', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('link_id', name=op.f('pk_used_links'))
    )
    op.create_table('mail_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("kind IN ('application_received', 'application_decided', 'trial_ending', 'pulse_open', 'cancel_unfinished', 'mentor_summary', 'operator_digest')", name=op.f('ck_mail_preferences_kind')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mail_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_mail_preferences'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('mentorship_id', sa.Integer(), nullable=True),
    sa.Column('cancel_flow_id', sa.Integer(), nullable=True),
    sa.Column('period', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=10), server_default='queued', nullable=False),
    sa.Column('queued_at', sa.BigInteger(), nullable=False),
    sa.Column('next_attempt_at', sa.BigInteger(), nullable=False),
    sa.Column('claimed_until', sa.BigInteger(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=True),
    sa.Column('to_address', sa.String(length=254), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body_text', sa.Text(), nullable=True),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('unsubscribe_url', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('application_received', 'application_decided', 'trial_ending', 'pulse_open', 'cancel_unfinished', 'mentor_summary', 'operator_digest')", name=op.f('ck_outbox_kind')),
    sa.CheckConstraint("status IN ('queued', 'sending', 'sent', 'retrying', 'failed', 'skipped')", name=op.f('ck_outbox_status')),
    sa.ForeignKeyConstraint(['cancel_flow_id'], ['cancel_flows.id'], name=op.f('fk_outbox_cancel_flow_id_cancel_flows'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mentorship_id'], ['mentorships.id'], name=op.f('fk_outbox_mentorship_id_mentorships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_outbox_recipient_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_mentorship_id', ['mentorship_id'], unique=False)
        batch_op.create_index('ix_outbox_queued_at', ['queued_at'], unique=False)
        batch_op.create_index('ix_outbox_recipient_id', ['recipient_id'], unique=False)
        batch_op.create_index('ix_outbox_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)



def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next_attempt_at')
        batch_op.drop_index('ix_outbox_recipient_id')
        batch_op.drop_index('ix_outbox_queued_at')
        batch_op.drop_index('ix_outbox_mentorship_id')

    op.drop_table('outbox')
    op.drop_table('mail_preferences')
    op.drop_table('used_links')
