"""postage

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-21

Issue 15: each packet keeps its estimated weight, its postage (from the tariff when made, or what the
carrier charged) and the office that pays it. Packets made before carry none (NULL): they were never priced.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('packet', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weight_grams', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('postage_cents', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('postage_source', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
        batch_op.add_column(sa.Column('postage_payer', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True))
        batch_op.create_index(batch_op.f('ix_packet_postage_payer'), ['postage_payer'], unique=False)
        batch_op.create_check_constraint('packet_postage_source', "postage_source IN ('tariff','carrier')")


def downgrade() -> None:
    with op.batch_alter_table('packet', schema=None) as batch_op:
        batch_op.drop_constraint('packet_postage_source', type_='check')
        batch_op.drop_index(batch_op.f('ix_packet_postage_payer'))
        batch_op.drop_column('postage_payer')
        batch_op.drop_column('postage_source')
        batch_op.drop_column('postage_cents')
        batch_op.drop_column('weight_grams')
