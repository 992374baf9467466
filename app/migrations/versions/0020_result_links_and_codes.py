"""result links and verification codes

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-29

Issue 16 (electronic results): the window may re-issue an electronic result's download link, so the link's
expiry is kept on the result (NULL: `created_at` + the setting, as every link made before); each result
carries a public verification code, and the owning office may revoke the result (when, by whom, why).
Results stored before get a code now, so that every electronic result can be verified.
"""
import secrets

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # tracking.model.verification.ALPHABET


def upgrade() -> None:
    with op.batch_alter_table('resultfile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('verification_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('revoke_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.create_index(batch_op.f('ix_resultfile_verification_code'), ['verification_code'], unique=True)
    result = sa.table('resultfile', sa.column('id', sa.Integer), sa.column('verification_code', sa.String))
    bind = op.get_bind()
    for (file_id,) in bind.execute(sa.select(result.c.id).where(result.c.verification_code.is_(None))).all():
        code = "".join(secrets.choice(ALPHABET) for _ in range(16))
        bind.execute(result.update().where(result.c.id == file_id).values(verification_code=code))


def downgrade() -> None:
    with op.batch_alter_table('resultfile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resultfile_verification_code'))
        batch_op.drop_column('revoke_reason')
        batch_op.drop_column('revoked_by')
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('verification_code')
        batch_op.drop_column('link_expires_at')
