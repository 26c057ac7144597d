"""reviews: public reviews, their moderation log, each mentor's public review counts (derived, kept by
services/reviews.py), and the indexes the mentor directory and profile read

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 11:15:55.513051

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mentor_review_stats',
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('star_sum', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('stars_1', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('stars_2', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('stars_3', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('stars_4', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('stars_5', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['mentor_id'], ['users.id'], name=op.f('fk_mentor_review_stats_mentor_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('mentor_id', name=op.f('pk_mentor_review_stats'))
    )
    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mentorship_id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('naming', sa.String(length=10), nullable=False),
    sa.Column('display_name', sa.String(length=110), nullable=False),
    sa.Column('consented_at', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.Column('hidden_at', sa.BigInteger(), nullable=True),
    sa.Column('hidden_reason', sa.String(length=20), nullable=True),
    sa.Column('reply_text', sa.Text(), nullable=True),
    sa.Column('replied_at', sa.BigInteger(), nullable=True),
    sa.Column('reply_hidden_at', sa.BigInteger(), nullable=True),
    sa.Column('reply_hidden_reason', sa.String(length=20), nullable=True),
    sa.CheckConstraint("hidden_reason IN ('abuse', 'personal_data', 'spam', 'off_topic')", name=op.f('ck_reviews_hidden_reason')),
    sa.CheckConstraint("naming IN ('initial', 'anonymous')", name=op.f('ck_reviews_naming')),
    sa.CheckConstraint("reply_hidden_reason IN ('abuse', 'personal_data', 'spam', 'off_topic')", name=op.f('ck_reviews_reply_hidden_reason')),
    sa.CheckConstraint('(hidden_at IS NULL) = (hidden_reason IS NULL)', name=op.f('ck_reviews_hidden_has_reason')),
    sa.CheckConstraint('stars BETWEEN 1 AND 5', name=op.f('ck_reviews_stars')),
    sa.ForeignKeyConstraint(['mentor_id'], ['users.id'], name=op.f('fk_reviews_mentor_id_users')),
    sa.ForeignKeyConstraint(['mentorship_id'], ['mentorships.id'], name=op.f('fk_reviews_mentorship_id_mentorships'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('mentorship_id', name=op.f('uq_reviews_mentorship_id'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index('ix_reviews_mentor_id_created_at', ['mentor_id', 'created_at'], unique=False)
        batch_op.create_index('ix_reviews_hidden_at', ['hidden_at'], unique=False)
        batch_op.create_index('ix_reviews_reply_hidden_at', ['reply_hidden_at'], unique=False)
        batch_op.create_index('ix_reviews_bias_cover', ['mentorship_id', 'hidden_at', 'created_at', 'stars'],
                              unique=False)

    op.create_table('review_moderations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=10), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("action IN ('hide', 'show')", name=op.f('ck_review_moderations_action')),
    sa.CheckConstraint("reason IN ('abuse', 'personal_data', 'spam', 'off_topic')", name=op.f('ck_review_moderations_reason')),
    sa.CheckConstraint("target IN ('review', 'reply')", name=op.f('ck_review_moderations_target')),
    sa.ForeignKeyConstraint(['operator_id'], ['users.id'], name=op.f('fk_review_moderations_operator_id_users')),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], name=op.f('fk_review_moderations_review_id_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_moderations'))
    )
    with op.batch_alter_table('review_moderations', schema=None) as batch_op:
        batch_op.create_index('ix_review_moderations_review_id', ['review_id'], unique=False)

    with op.batch_alter_table('mentorships', schema=None) as batch_op:
        batch_op.create_index('ix_mentorships_mentor_category', ['mentor_id', 'goal_category', 'trial_started_at'], unique=False)

    with op.batch_alter_table('rollup_mentor_surveys', schema=None) as batch_op:
        batch_op.create_index('ix_rollup_mentor_surveys_mentor_id', ['mentor_id'], unique=False)

    with op.batch_alter_table('exit_surveys', schema=None) as batch_op:
        batch_op.create_index('ix_exit_surveys_submitted_cover', ['submitted_at', 'mentorship_id', 'stars'],
                              unique=False)



def downgrade():
    with op.batch_alter_table('exit_surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_exit_surveys_submitted_cover')

    with op.batch_alter_table('rollup_mentor_surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_rollup_mentor_surveys_mentor_id')

    with op.batch_alter_table('mentorships', schema=None) as batch_op:
        batch_op.drop_index('ix_mentorships_mentor_category')

    with op.batch_alter_table('review_moderations', schema=None) as batch_op:
        batch_op.drop_index('ix_review_moderations_review_id')

    op.drop_table('review_moderations')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_reviews_bias_cover')
        batch_op.drop_index('ix_reviews_reply_hidden_at')
        batch_op.drop_index('ix_reviews_hidden_at')
        batch_op.drop_index('ix_reviews_mentor_id_created_at')

    op.drop_table('reviews')
    op.drop_table('mentor_review_stats')
