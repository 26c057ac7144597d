"""hide mentor feedback

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:11:09.144337

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exit_surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mentor_feedback_hidden_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('mentor_feedback_hidden_at', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('mentor_feedback_hidden_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_exit_surveys_mentor_feedback_hidden_by_id_users'), 'users', ['mentor_feedback_hidden_by_id'], ['id'])



def downgrade():
    with op.batch_alter_table('exit_surveys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_exit_surveys_mentor_feedback_hidden_by_id_users'), type_='foreignkey')
        batch_op.drop_column('mentor_feedback_hidden_by_id')
        batch_op.drop_column('mentor_feedback_hidden_at')
        batch_op.drop_column('mentor_feedback_hidden_reason')

