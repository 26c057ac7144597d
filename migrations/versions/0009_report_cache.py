"""report cache: reports' settled parts per day, shared by the processes (tracker/data/report_cache.py)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 11:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_cache',
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('stored_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_report_cache')),
    comment="Reports' settled parts per day, shared by the processes (tracker/data/report_cache.py)."
    )


def downgrade():
    op.drop_table('report_cache')
