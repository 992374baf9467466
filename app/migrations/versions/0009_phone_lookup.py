"""cases found by the applicant's phone

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08

The window finds an applicant's cases by their phone as it finds them by their ID number: by a keyed
hash (HMAC with the lookup key derived from the data key), never by a phone stored in clear. Each case
gets `phone_hash`, the hash of the applicant's phone as intake stored it (a person's mobile, an
organisation's contact phone). Existing cases are filled by opening their sealed applicant, with the data
key from the settings app.schema.upgrade was given, else from the environment and the instance folder as
the app reads them, and only when there are cases. Downgrading drops the column.
"""
from functools import cached_property

from alembic import context, op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BATCH = 500

case = sa.table("case", sa.column("id", sa.Integer), sa.column("applicant_sealed", sa.String),
                sa.column("phone_hash", sa.String))


class _Keys:
    """The installation's data key, read on first use: only if a case needs it."""

    @cached_property
    def sealer(self):
        from config.settings import Settings
        from tracking.model.sealing import Sealer
        return Sealer((context.config.attributes.get("settings") or Settings.from_env()).data_key)


def upgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_case_phone_hash'), ['phone_hash'], unique=False)

    conn, keys, after = op.get_bind(), _Keys(), 0
    while True:
        rows = conn.execute(sa.select(case.c.id, case.c.applicant_sealed).where(case.c.id > after)
                            .order_by(case.c.id).limit(BATCH)).all()
        if not rows:
            break
        after = rows[-1][0]
        conn.execute(case.update().where(case.c.id == sa.bindparam("_id")).values(phone_hash=sa.bindparam("_hash")),
                     [{"_id": id_, "_hash": keys.sealer.lookup_hash(keys.sealer.open(sealed)["phone"])}
                      for id_, sealed in rows])


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_phone_hash'))
        batch_op.drop_column('phone_hash')
