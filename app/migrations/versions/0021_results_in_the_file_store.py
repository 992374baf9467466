"""results in the file store

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-22

An electronic result goes through the same checks as a scan and is kept in the file store (sealed, by
content hash); results kept before keep their sealed bytes in the row, read as before.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('resultfile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    # an earlier release reads a result's bytes from its row only: refuse rather than leave it unreadable
    kept = op.get_bind().execute(sa.text("SELECT count(*) FROM resultfile WHERE data IS NULL")).scalar()
    if kept:
        raise RuntimeError(f"{kept} electronic results are kept in the file store, which a release before "
                           "0021 cannot read: restore a backup made before the upgrade instead")
    with op.batch_alter_table('resultfile', schema=None) as batch_op:
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('storage_key')
