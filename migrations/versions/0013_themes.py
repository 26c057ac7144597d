"""themes: each computation of the themes in the written feedback (services/themes.py)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 11:46:04.105293

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('theme_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.BigInteger(), nullable=False),
    sa.Column('themes_asked', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('texts', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theme_runs'))
    )


def downgrade():
    op.drop_table('theme_runs')
