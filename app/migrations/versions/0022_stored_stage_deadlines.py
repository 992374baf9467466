"""stored stage deadlines

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

Each case keeps its open stages' due dates and the open stage due first, with the office that answers for
it, in indexed columns, so that desks, the overdue board and the sweep read pages of cases instead of
computing every open case's stages. The columns start empty; the upgrade fills them from the stages
(the same pure functions `flask deadlines rebuild` uses).
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

STAGES = ('dispatch', 'receipt', 'supplement_notice', 'decision', 'result_dispatch')


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        for stage in STAGES:
            batch_op.add_column(sa.Column(f'open_due_{stage}', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('open_stage', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True))
        batch_op.add_column(sa.Column('open_stage_due', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('open_stage_office', sqlmodel.sql.sqltypes.AutoString(length=24),
                                      nullable=True))
        batch_op.create_index('ix_case_open_stage', ['open_stage_due', 'collecting_office', 'owning_office',
                                                     *(f'open_due_{stage}' for stage in STAGES)], unique=False)
        batch_op.create_index('ix_case_open_stage_office', ['open_stage_office', 'open_stage_due'], unique=False)
        batch_op.create_index('ix_case_owning_open', ['owning_office', 'open_stage_due'], unique=False)
        batch_op.create_index('ix_case_collecting_open', ['collecting_office', 'open_stage_due'], unique=False)
        batch_op.create_index('ix_case_owning_status', ['owning_office', 'status'], unique=False)
        batch_op.create_index('ix_case_collecting_status', ['collecting_office', 'status'], unique=False)
        batch_op.create_index('ix_case_collecting_created', ['collecting_office', 'created_at'], unique=False)
        batch_op.create_index('ix_case_owning_created', ['owning_office', 'created_at'], unique=False)
    # and what the window's desk counts: the packets still to leave, the recent exceptions
    with op.batch_alter_table('packet', schema=None) as batch_op:
        batch_op.create_index('ix_packet_leaving', ['from_office', 'status'], unique=False)
        batch_op.create_index('ix_packet_arriving', ['to_office', 'status'], unique=False)
    with op.batch_alter_table('packetevent', schema=None) as batch_op:
        batch_op.create_index('ix_packetevent_type_at', ['type', 'at'], unique=False)
    # existing cases: derived once, as `flask deadlines rebuild` does
    from tracking.model.stage_store import rebuild_on
    rebuild_on(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('packetevent', schema=None) as batch_op:
        batch_op.drop_index('ix_packetevent_type_at')
    with op.batch_alter_table('packet', schema=None) as batch_op:
        batch_op.drop_index('ix_packet_arriving')
        batch_op.drop_index('ix_packet_leaving')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index('ix_case_owning_created')
        batch_op.drop_index('ix_case_collecting_created')
        batch_op.drop_index('ix_case_collecting_status')
        batch_op.drop_index('ix_case_owning_status')
        batch_op.drop_index('ix_case_collecting_open')
        batch_op.drop_index('ix_case_owning_open')
        batch_op.drop_index('ix_case_open_stage_office')
        batch_op.drop_index('ix_case_open_stage')
        for column in ('open_stage_office', 'open_stage_due', 'open_stage',
                       *(f'open_due_{stage}' for stage in reversed(STAGES))):
            batch_op.drop_column(column)
