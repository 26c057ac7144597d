"""administration: the audit log, account deactivation and erasure, the name in lower case for the
operators' search (filled here), a note on applications closed for the mentee, the password-reset mail

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 11:23:48.925439

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

KINDS_BEFORE = ("application_received", "application_decided", "trial_ending", "pulse_open", "cancel_unfinished",
                "mentor_summary", "operator_digest")
KINDS_AFTER = (*KINDS_BEFORE, "password_reset")


def _kinds(kinds) -> str:
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def _set_kinds(kinds) -> None:
    for table in ("outbox", "mail_preferences"):
        with op.batch_alter_table(table, recreate="auto") as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_kind"), type_="check")
            batch_op.create_check_constraint("kind", _kinds(kinds))


def _fill_search_names() -> None:
    """lower() of Python, not of the engine (SQLite lowers ASCII only), as the model keeps it."""
    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("name", sa.String),
                     sa.column("search_name", sa.String))
    last = 0
    while True:
        rows = connection.execute(sa.select(users.c.id, users.c.name).where(users.c.id > last)
                                  .order_by(users.c.id).limit(20000)).all()
        if not rows:
            return
        connection.execute(users.update().where(users.c.id == sa.bindparam("uid"))
                           .values(search_name=sa.bindparam("lowered")),
                           [{"uid": uid, "lowered": (name or "").lower()} for uid, name in rows])
        last = rows[-1][0]


def upgrade():
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('subject_type', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.Text(), server_default='', nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_action_at', ['action', 'at'], unique=False)
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_log_subject', ['subject_type', 'subject_id'], unique=False)

    with op.batch_alter_table('mentorships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_note', sa.Text(), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_name', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('deactivated_at', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.BigInteger(), nullable=True))
    _fill_search_names()
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_email_prefix', ['email'], unique=False,
                              postgresql_ops={'email': 'text_pattern_ops'})
        batch_op.create_index('ix_users_role_id', ['role', 'id'], unique=False)
        batch_op.create_index('ix_users_search_name', ['search_name'], unique=False,
                              postgresql_ops={'search_name': 'text_pattern_ops'})
    _set_kinds(KINDS_AFTER)



def downgrade():
    op.execute("DELETE FROM outbox WHERE kind = 'password_reset'")
    op.execute("DELETE FROM mail_preferences WHERE kind = 'password_reset'")
    _set_kinds(KINDS_BEFORE)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_search_name')
        batch_op.drop_index('ix_users_role_id')
        batch_op.drop_index('ix_users_email_prefix')
    # Plain ALTER TABLE ... DROP COLUMN on both engines (SQLite 3.35+): a batch copy of `users` would
    # have to drop the table every other table refers to.
    for column in ('erased_at', 'deactivated_at', 'search_name'):
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")
    op.execute("ALTER TABLE mentorships DROP COLUMN end_note")

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_subject')
        batch_op.drop_index('ix_audit_log_at')
        batch_op.drop_index('ix_audit_log_action_at')

    op.drop_table('audit_log')
