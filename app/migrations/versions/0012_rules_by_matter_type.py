"""rules by matter type

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08

Every matter gets its kind (`type`: permit, notarization, confirmation, public_service), which decides
its rules, and the statutes it is decided under (`legal_basis`). Matters already loaded take both from
the shipped catalogue here, an admin's edited rows too (the kind is a fact of the law, not a setting).
A case may now end as `deemed_withdrawn` (逾期未补正，视为撤回申请): the status check is rebuilt (on
SQLite by recreating the table).
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import yaml

from config.settings import DATA_DIR


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_BEFORE = ('collected', 'in_transit', 'received', 'accepted', 'supplement_requested', 'supplement_in_transit',
           'rejected', 'withdrawn', 'decided', 'result_in_transit', 'ready_for_pickup', 'delivered', 'closed')
_AFTER = _BEFORE[:8] + ('deemed_withdrawn',) + _BEFORE[8:]


def _status_check(states) -> str:
    return "status IN (" + ",".join(f"'{s}'" for s in states) + ")"


def upgrade() -> None:
    with op.batch_alter_table('matter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      server_default='public_service', nullable=False))
        batch_op.add_column(sa.Column('legal_basis', sqlmodel.sql.sqltypes.AutoString(),
                                      server_default='', nullable=False))
    with (DATA_DIR / "matters.yaml").open(encoding="utf-8") as f:
        shipped = [{"code": m["code"], "type": m["type"], "legal_basis": m["legal_basis"]} for m in yaml.safe_load(f)]
    matter = sa.table('matter', sa.column('code', sa.String), sa.column('type', sa.String),
                      sa.column('legal_basis', sa.String))
    op.get_bind().execute(matter.update().where(matter.c.code == sa.bindparam('key'))
                          .values(type=sa.bindparam('type'), legal_basis=sa.bindparam('legal_basis')),
                          [{"key": m["code"], "type": m["type"], "legal_basis": m["legal_basis"]} for m in shipped])
    with op.batch_alter_table('case', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint('case_status', type_='check')
        batch_op.create_check_constraint('case_status', _status_check(_AFTER))


def downgrade() -> None:
    # a case deemed withdrawn was withdrawn in all but who asked: the older schema knows only that
    op.execute("UPDATE \"case\" SET status = 'withdrawn' WHERE status = 'deemed_withdrawn'")
    with op.batch_alter_table('case', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint('case_status', type_='check')
        batch_op.create_check_constraint('case_status', _status_check(_BEFORE))
    with op.batch_alter_table('matter', schema=None) as batch_op:
        batch_op.drop_column('legal_basis')
        batch_op.drop_column('type')
