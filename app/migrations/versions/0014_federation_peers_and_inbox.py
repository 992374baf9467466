"""federation: peers and the inbox

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10

The peers this installation exchanges signed messages with (their keys and the divisions they own),
and every message accepted from them: its id answers a repeat with the first answer, and a message that
arrived ahead of its predecessor waits here (`held`) until the gap fills.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'peer',
        sa.Column('node_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('base_url', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('signing_keys', sa.JSON(), nullable=False),
        sa.Column('sealing_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('prefixes', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('node_id'),
    )
    op.create_table(
        'inboundmessage',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column('node', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('case_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('seq', sa.Integer(), nullable=True),
        sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('answer', sa.JSON(), nullable=False),
        sa.Column('envelope', sa.JSON(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('applied','held')", name='inbound_status'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id'),
        sa.UniqueConstraint('node', 'case_ref', 'seq', name='inbound_case_seq'),
    )
    op.create_index('inbound_case', 'inboundmessage', ['case_ref', 'node'], unique=False)


def downgrade() -> None:
    op.drop_index('inbound_case', table_name='inboundmessage')
    op.drop_table('inboundmessage')
    op.drop_table('peer')
