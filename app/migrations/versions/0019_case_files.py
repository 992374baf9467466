"""case files

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-28

Issue 16: materials travel as files first. Each scan uploaded at the window is a row of `casefile`; the
content itself is sealed and kept in the file store (local disk or S3-compatible) under `storage_key`.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'casefile',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('material_code', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('thumbnail_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('removed_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.CheckConstraint("purpose IN ('material','supplement')", name='casefile_purpose'),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('casefile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_casefile_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_casefile_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_casefile_storage_key'), ['storage_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_casefile_thumbnail_key'), ['thumbnail_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('casefile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_casefile_thumbnail_key'))
        batch_op.drop_index(batch_op.f('ix_casefile_storage_key'))
        batch_op.drop_index(batch_op.f('ix_casefile_sha256'))
        batch_op.drop_index(batch_op.f('ix_casefile_case_id'))
    op.drop_table('casefile')
