"""promise from acceptance

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08

`due_date` counts from acceptance (行政许可法 art. 42) and is an estimate until then
(`due_date_estimated`); `expected_result_date` is when the result should reach the applicant;
an extension (延期) moves both. The upgrade only adds the columns: the next sweep counts every open
case's promise again; finished cases keep the date they were promised.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_date_estimated', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('expected_result_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('extension_days', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('extension_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('extended_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('extended_at')
        batch_op.drop_column('extension_reason')
        batch_op.drop_column('extension_days')
        batch_op.drop_column('expected_result_date')
        batch_op.drop_column('due_date_estimated')
