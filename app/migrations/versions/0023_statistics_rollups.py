"""statistics roll-ups

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

Daily and monthly roll-ups of the statistics figures (tracking.model.rollups), so that a year of a
province is read from a few groups a month instead of every case. Derived data: the table starts empty
and the sweep (or `flask stats rebuild`) fills it; until then the statistics read the cases directly.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

INDEXED = ('intake_date', 'received_at', 'accepted_at', 'decided_at', 'delivered_at')


def upgrade() -> None:
    op.create_table(
        'statrollup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('span', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('area', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('figure', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        *(sa.Column(f'k{i}', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False) for i in range(1, 6)),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('total', sa.BigInteger(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_statrollup_read', 'statrollup', ['figure', 'span', 'area', 'day'], unique=False)
    op.create_index('ix_statrollup_group', 'statrollup', ['figure', 'span', 'area', 'k2', 'day'], unique=False)
    op.create_index('ix_statrollup_day', 'statrollup', ['span', 'day'], unique=False)
    # the days without a roll-up (today) are read live: through indexes on the stages' times
    for column in INDEXED:
        op.create_index(f'ix_case_{column}', 'case', [column], unique=False)
    op.create_index('ix_evaluation_at', 'evaluation', ['at'], unique=False)
    op.create_index('ix_packet_dispatched_at', 'packet', ['dispatched_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_packet_dispatched_at', table_name='packet')
    op.drop_index('ix_evaluation_at', table_name='evaluation')
    for column in INDEXED:
        op.drop_index(f'ix_case_{column}', table_name='case')
    op.drop_index('ix_statrollup_day', table_name='statrollup')
    op.drop_index('ix_statrollup_group', table_name='statrollup')
    op.drop_index('ix_statrollup_read', table_name='statrollup')
    op.drop_table('statrollup')
