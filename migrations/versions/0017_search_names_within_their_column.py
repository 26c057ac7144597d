"""users.search_name: cut to its column's 100 characters where a name got longer in lower case ("\u0130"
becomes two characters). SQLite kept such values, PostgreSQL refuses them, so `copy-database` from
such a SQLite file stopped at them; tracker/domain/accounts.py:search_name cuts them from now on.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 05:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE users SET search_name = substr(search_name, 1, 100) WHERE length(search_name) > 100")


def downgrade():
    pass  # the cut is what the app writes now; the full lower-case name is still name.lower()
