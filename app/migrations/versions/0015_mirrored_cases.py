"""mirrored cases

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-20

A case handed over by a peer (issue 14) arrives without its check code: only a slow salted hash of it
travels (`check_code_hash`), and the tracking check accepts the code against it.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('check_code_hash', sqlmodel.sql.sqltypes.AutoString(length=128),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('check_code_hash')
