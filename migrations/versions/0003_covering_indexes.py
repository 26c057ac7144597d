"""covering indexes for the metrics

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:54:40.423214

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exit_surveys', schema=None) as batch_op:
        batch_op.create_index('ix_exit_surveys_metrics_cover', ['mentorship_id', 'submitted_at', 'churn_reason', 'goal_reached', 'stars'], unique=False)

    with op.batch_alter_table('mentorships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mentorships_applied_at'))
        batch_op.drop_index(batch_op.f('ix_mentorships_trial_started_at'))
        batch_op.create_index('ix_mentorships_applied_cover', ['applied_at', 'trial_started_at', 'ended_at', 'goal_category', 'mentor_id'], unique=False)
        batch_op.create_index('ix_mentorships_ended_cover', ['ended_at', 'trial_started_at', 'goal_category', 'mentor_id', 'id'], unique=False)
        batch_op.create_index('ix_mentorships_trial_cover', ['trial_started_at', 'ended_at', 'goal_category', 'mentor_id'], unique=False)



def downgrade():
    with op.batch_alter_table('mentorships', schema=None) as batch_op:
        batch_op.drop_index('ix_mentorships_trial_cover')
        batch_op.drop_index('ix_mentorships_ended_cover')
        batch_op.drop_index('ix_mentorships_applied_cover')
        batch_op.create_index(batch_op.f('ix_mentorships_trial_started_at'), ['trial_started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mentorships_applied_at'), ['applied_at'], unique=False)

    with op.batch_alter_table('exit_surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_exit_surveys_metrics_cover')

