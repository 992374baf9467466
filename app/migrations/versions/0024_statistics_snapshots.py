"""statistics snapshots

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

The statistics roll-ups gain running sums (span "c", tracking.model.rollups.Running): a period of built
days is then the difference of two snapshots, a few hundred rows whatever its length and its cases. The
snapshot's sums are JSON in the new column `hist`. The medians per office and per matter are counted in
buckets whose width grows with the duration (`group_bucket_of`). Derived data: the roll-ups are dropped
and the next sweep (or `flask stats rebuild`) builds them again, snapshots included; until then the
statistics read the cases directly, as before 0023.
"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('statrollup') as batch:
        batch.add_column(sa.Column('hist', sa.Text(), server_default='', nullable=False))
    op.execute("DELETE FROM statrollup")


def downgrade() -> None:
    op.execute("DELETE FROM statrollup WHERE span = 'c'")
    with op.batch_alter_table('statrollup') as batch:
        batch.drop_column('hist')
