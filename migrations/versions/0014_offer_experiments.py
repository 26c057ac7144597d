"""offer experiments: two offers (or an offer against none) for one churn reason, and the arm each
cancel flow in one was given (services/experiments.py, docs/EXPERIMENTS.md)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:32:10.568863

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('offer_experiments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('offer_a', sa.String(length=20), nullable=False),
    sa.Column('offer_b', sa.String(length=20), nullable=False),
    sa.Column('share_b', sa.Integer(), nullable=False),
    sa.Column('baseline_percent', sa.Float(), nullable=False),
    sa.Column('minimum_effect_points', sa.Float(), nullable=False),
    sa.Column('planned_a', sa.Integer(), nullable=False),
    sa.Column('planned_b', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.BigInteger(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', sa.BigInteger(), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("offer_a IN ('none', 'pause', 'switch_mentor', 'plan_reminder')", name=op.f('ck_offer_experiments_offer_a')),
    sa.CheckConstraint("offer_b IN ('none', 'pause', 'switch_mentor', 'plan_reminder')", name=op.f('ck_offer_experiments_offer_b')),
    sa.CheckConstraint("reason IN ('goal_reached', 'too_expensive', 'no_time', 'mentor_fit', 'mentor_unresponsive', 'switched_mentor', 'platform_issue', 'other')", name=op.f('ck_offer_experiments_reason')),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_offer_experiments_ended_after_start')),
    sa.CheckConstraint('offer_a <> offer_b', name=op.f('ck_offer_experiments_two_offers')),
    sa.CheckConstraint('share_b BETWEEN 1 AND 99', name=op.f('ck_offer_experiments_share_b')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_offer_experiments_ended_by_id_users')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_offer_experiments_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer_experiments'))
    )
    with op.batch_alter_table('offer_experiments', schema=None) as batch_op:
        batch_op.create_index('uq_offer_experiments_running_reason', ['reason'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.create_table('offer_assignments',
    sa.Column('cancel_flow_id', sa.Integer(), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('arm', sa.String(length=1), nullable=False),
    sa.CheckConstraint("arm IN ('a', 'b')", name=op.f('ck_offer_assignments_arm')),
    sa.ForeignKeyConstraint(['cancel_flow_id'], ['cancel_flows.id'], name=op.f('fk_offer_assignments_cancel_flow_id_cancel_flows'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['experiment_id'], ['offer_experiments.id'], name=op.f('fk_offer_assignments_experiment_id_offer_experiments')),
    sa.PrimaryKeyConstraint('cancel_flow_id', name=op.f('pk_offer_assignments'))
    )
    with op.batch_alter_table('offer_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_offer_assignments_experiment_id', ['experiment_id', 'cancel_flow_id'], unique=False)



def downgrade():
    with op.batch_alter_table('offer_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_offer_assignments_experiment_id')

    op.drop_table('offer_assignments')
    with op.batch_alter_table('offer_experiments', schema=None) as batch_op:
        batch_op.drop_index('uq_offer_experiments_running_reason', sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.drop_table('offer_experiments')
