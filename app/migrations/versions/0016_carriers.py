"""carriers

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-21

Issue 15: a packet names its carrier and the carrier's waybill number; the carrier outbox holds the
bookings, pick-ups and cancellations to send; every tracking event a carrier tells of is kept as it came.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('packet', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carrier', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='own'))
        batch_op.add_column(sa.Column('waybill_no', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_packet_waybill_no'), ['waybill_no'], unique=False)
    op.create_table('carrierrequest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('carrier', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('packet_id', sa.Integer(), nullable=True),
    sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('book','pickup','cancel')", name='carrier_request_kind'),
    sa.CheckConstraint("status IN ('pending','done','dead','void')", name='carrier_request_status'),
    sa.ForeignKeyConstraint(['packet_id'], ['packet.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('carrierrequest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carrierrequest_office_code'), ['office_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_carrierrequest_packet_id'), ['packet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_carrierrequest_status'), ['status'], unique=False)
    op.create_table('carrierevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('carrier', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('carrier_event_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('waybill_no', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('packet_id', sa.Integer(), nullable=True),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('scan_type', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['packet_id'], ['packet.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('carrier', 'carrier_event_id', name='carrier_event_once')
    )
    with op.batch_alter_table('carrierevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carrierevent_packet_id'), ['packet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_carrierevent_waybill_no'), ['waybill_no'], unique=False)


def downgrade() -> None:
    op.drop_table('carrierevent')
    op.drop_table('carrierrequest')
    with op.batch_alter_table('packet', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_packet_waybill_no'))
        batch_op.drop_column('waybill_no')
        batch_op.drop_column('carrier')
