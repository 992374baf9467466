"""follow-ups to the end

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08

A rating is routed to the stage at fault (`stage`: window, post or the owning office; every earlier
rating was the owning office's, as its follow-up office says). A bad rating gets the last day of its
follow-up, and the follow-up records the return visit (回访: when, how, the applicant's answer).
Ratings made before the upgrade have no follow-up due date: they are never shown overdue.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      server_default='office', nullable=False))
        batch_op.add_column(sa.Column('follow_up_due', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('visited_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('visit_method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('visit_answer', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.drop_column('visit_answer')
        batch_op.drop_column('visit_method')
        batch_op.drop_column('visited_at')
        batch_op.drop_column('follow_up_due')
        batch_op.drop_column('stage')
