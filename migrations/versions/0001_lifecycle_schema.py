"""lifecycle schema: users, mentor profiles, mentorships, check-ins, exit surveys

Every timestamp is a BIGINT of whole seconds since 1970-01-01 UTC (tracker.data.models.UTCDateTime).

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 09:21:53.855160

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('session_version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("role IN ('mentee', 'mentor', 'operator')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('mentor_profiles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('headline', sa.String(length=120), server_default='', nullable=False),
    sa.Column('expertise', sa.String(length=300), server_default='', nullable=False),
    sa.Column('bio', sa.Text(), server_default='', nullable=False),
    sa.Column('accepting_applications', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mentor_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_mentor_profiles'))
    )
    op.create_table('mentorships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=100), nullable=True),
    sa.Column('mentee_id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('goal_category', sa.String(length=20), nullable=False),
    sa.Column('goal_text', sa.Text(), nullable=False),
    sa.Column('meeting_preference', sa.String(length=10), nullable=True),
    sa.Column('applied_at', sa.BigInteger(), nullable=False),
    sa.Column('trial_started_at', sa.BigInteger(), nullable=True),
    sa.Column('ended_at', sa.BigInteger(), nullable=True),
    sa.Column('end_reason', sa.String(length=10), nullable=True),
    sa.CheckConstraint("end_reason IN ('declined', 'withdrawn', 'cancelled')", name=op.f('ck_mentorships_end_reason')),
    sa.CheckConstraint("goal_category IN ('change_careers', 'extend_skillset', 'get_promoted', 'land_first_job', 'start_business', 'other')", name=op.f('ck_mentorships_goal_category')),
    sa.CheckConstraint("meeting_preference IN ('video', 'in_person', 'mixed')", name=op.f('ck_mentorships_meeting_preference')),
    sa.CheckConstraint('(ended_at IS NULL) = (end_reason IS NULL)', name=op.f('ck_mentorships_ended_has_reason')),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= applied_at', name=op.f('ck_mentorships_ended_after_applied')),
    sa.CheckConstraint('ended_at IS NULL OR trial_started_at IS NULL OR ended_at >= trial_started_at', name=op.f('ck_mentorships_ended_after_trial')),
    sa.CheckConstraint('mentee_id <> mentor_id', name=op.f('ck_mentorships_two_people')),
    sa.CheckConstraint('trial_started_at IS NULL OR trial_started_at >= applied_at', name=op.f('ck_mentorships_trial_after_applied')),
    sa.ForeignKeyConstraint(['mentee_id'], ['users.id'], name=op.f('fk_mentorships_mentee_id_users')),
    sa.ForeignKeyConstraint(['mentor_id'], ['users.id'], name=op.f('fk_mentorships_mentor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentorships')),
    sa.UniqueConstraint('ref', name=op.f('uq_mentorships_ref'))
    )
    with op.batch_alter_table('mentorships', schema=None) as batch_op:
        batch_op.create_index('ix_mentorships_applied_at', ['applied_at'], unique=False)
        batch_op.create_index('ix_mentorships_mentee_id', ['mentee_id'], unique=False)
        batch_op.create_index('ix_mentorships_mentor_id_trial_started_at', ['mentor_id', 'trial_started_at'], unique=False)
        batch_op.create_index('ix_mentorships_trial_started_at', ['trial_started_at'], unique=False)
        batch_op.create_index('uq_mentorships_open_pair', ['mentee_id', 'mentor_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.create_table('checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mentorship_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.BigInteger(), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('logged_by_id', sa.Integer(), nullable=True),
    sa.Column('logged_at', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("mode IN ('video', 'in_person', 'phone', 'chat')", name=op.f('ck_checkins_mode')),
    sa.CheckConstraint('minutes BETWEEN 1 AND 600', name=op.f('ck_checkins_minutes')),
    sa.ForeignKeyConstraint(['logged_by_id'], ['users.id'], name=op.f('fk_checkins_logged_by_id_users')),
    sa.ForeignKeyConstraint(['mentorship_id'], ['mentorships.id'], name=op.f('fk_checkins_mentorship_id_mentorships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins'))
    )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_mentorship_id_occurred_at', ['mentorship_id', 'occurred_at'], unique=False)

    op.create_table('exit_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mentorship_id', sa.Integer(), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('goal_reached', sa.String(length=10), nullable=False),
    sa.Column('churn_reason', sa.String(length=30), nullable=False),
    sa.Column('feedback_platform', sa.Text(), server_default='', nullable=False),
    sa.Column('feedback_mentor', sa.Text(), server_default='', nullable=False),
    sa.Column('feedback_other', sa.Text(), server_default='', nullable=False),
    sa.Column('submitted_at', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("churn_reason IN ('goal_reached', 'too_expensive', 'no_time', 'mentor_fit', 'mentor_unresponsive', 'switched_mentor', 'platform_issue', 'other')", name=op.f('ck_exit_surveys_churn_reason')),
    sa.CheckConstraint("goal_reached IN ('yes', 'partly', 'no')", name=op.f('ck_exit_surveys_goal_reached')),
    sa.CheckConstraint('stars BETWEEN 1 AND 5', name=op.f('ck_exit_surveys_stars')),
    sa.ForeignKeyConstraint(['mentorship_id'], ['mentorships.id'], name=op.f('fk_exit_surveys_mentorship_id_mentorships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exit_surveys')),
    sa.UniqueConstraint('mentorship_id', name=op.f('uq_exit_surveys_mentorship_id'))
    )


def downgrade():
    op.drop_table('exit_surveys')
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_checkins_mentorship_id_occurred_at')

    op.drop_table('checkins')
    with op.batch_alter_table('mentorships', schema=None) as batch_op:
        batch_op.drop_index('uq_mentorships_open_pair', sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index('ix_mentorships_trial_started_at')
        batch_op.drop_index('ix_mentorships_mentor_id_trial_started_at')
        batch_op.drop_index('ix_mentorships_mentee_id')
        batch_op.drop_index('ix_mentorships_applied_at')

    op.drop_table('mentorships')
    op.drop_table('mentor_profiles')
    op.drop_table('users')
