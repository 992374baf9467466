"""joint handling: steps of a matter and of a case

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07

多地联办 (issue 18): a matter may declare steps owned by offices of different localities (routing.steps); a
case of it keeps a row per step. Cases registered before keep their single office: no step rows.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import yaml

from config.database import UTCDateTime
from config.settings import DATA_DIR

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

_KINDS_BEFORE = ('outbound', 'supplement', 'result', 'return', 'replacement')
_KINDS_AFTER = (*_KINDS_BEFORE, 'transfer')  # an archive passed from one step's office to the next


def _kind_check(kinds) -> str:
    return "kind IN (" + ",".join(f"'{k}'" for k in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table('matter') as batch:
        batch.add_column(sa.Column('steps', sa.JSON(), server_default='[]', nullable=False))
    with (DATA_DIR / "matters.yaml").open(encoding="utf-8") as f:
        shipped = [{"key": m["code"], "steps": m["steps"]} for m in yaml.safe_load(f) if m.get("steps")]
    matter = sa.table('matter', sa.column('code', sa.String), sa.column('steps', sa.JSON),
                      sa.column('edited', sa.Boolean))
    if shipped:  # the shipped joint matters nobody edited become step matters (init-db would do the same)
        op.get_bind().execute(matter.update().where(matter.c.code == sa.bindparam('key'), matter.c.edited == False)  # noqa: E712
                              .values(steps=sa.bindparam('steps')), shipped)
    with op.batch_alter_table('packet', schema=None, recreate='auto') as batch:
        batch.drop_constraint('packet_kind', type_='check')
        batch.create_check_constraint('packet_kind', _kind_check(_KINDS_AFTER))
    with op.batch_alter_table('casefile', schema=None, recreate='auto') as batch:  # a step's documents
        batch.drop_constraint('casefile_purpose', type_='check')
        batch.create_check_constraint('casefile_purpose', "purpose IN ('material','supplement','step')")
    with op.batch_alter_table('case') as batch:
        batch.add_column(sa.Column('promised_days', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('step_offices', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('step_due', sa.Date(), nullable=True))
    op.create_table(
        'casestep',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('place', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('office_code', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('due', sa.Date(), nullable=True),
        sa.Column('started_at', UTCDateTime(), nullable=True),
        sa.Column('accepted_at', UTCDateTime(), nullable=True),
        sa.Column('done_at', UTCDateTime(), nullable=True),
        sa.Column('done_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('outputs', sa.JSON(), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('supplement', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['case.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_id', 'code'))
    op.create_index('ix_casestep_office_status', 'casestep', ['office_code', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_casestep_office_status', table_name='casestep')
    op.drop_table('casestep')
    with op.batch_alter_table('case') as batch:
        batch.drop_column('step_due')
        batch.drop_column('step_offices')
        batch.drop_column('promised_days')
    op.execute("DELETE FROM packetevent WHERE packet_id IN (SELECT id FROM packet WHERE kind = 'transfer')")
    op.execute("DELETE FROM manifestitem WHERE packet_id IN (SELECT id FROM packet WHERE kind = 'transfer')")
    op.execute("DELETE FROM packet WHERE kind = 'transfer'")
    with op.batch_alter_table('packet', schema=None, recreate='auto') as batch:
        batch.drop_constraint('packet_kind', type_='check')
        batch.create_check_constraint('packet_kind', _kind_check(_KINDS_BEFORE))
    op.execute("DELETE FROM casefile WHERE purpose = 'step'")
    with op.batch_alter_table('casefile', schema=None, recreate='auto') as batch:
        batch.drop_constraint('casefile_purpose', type_='check')
        batch.create_check_constraint('casefile_purpose', "purpose IN ('material','supplement')")
    with op.batch_alter_table('matter') as batch:
        batch.drop_column('steps')
