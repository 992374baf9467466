"""messages to people

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-22

Issue 15: the notifications outbox is claimed, retried and dead-lettered like the federation outbox, one
row per channel (sms, email, log), with the milestone's template fields and the hash of the phone an SMS
went to (the per-phone limit); an applicant may opt out of SMS and give an email address (sealed); an
office may name a phone and a mailbox for its notices. Rows already sent are `sent`; the others wait.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False,
                                      server_default='log'))
        batch_op.add_column(sa.Column('milestone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False,
                                      server_default='pending'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('recipient_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_notification_recipient_hash'), ['recipient_hash'], unique=False)
        batch_op.create_index('ix_notification_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_check_constraint('notification_status', "status IN ('pending','sent','dead')")
        batch_op.create_check_constraint('notification_channel', "channel IN ('sms','email','log')")
    # what the old task sent is sent; what it had not sent yet waits from when it was written, on the
    # log as before (no address was asked for then)
    notification = sa.table('notification', sa.column('status', sa.String), sa.column('sent_at', sa.DateTime),
                            sa.column('created_at', sa.DateTime), sa.column('next_attempt_at', sa.DateTime))
    op.execute(notification.update().where(notification.c.sent_at.is_not(None)).values(status='sent'))
    op.execute(notification.update().where(notification.c.sent_at.is_(None))
               .values(next_attempt_at=notification.c.created_at))
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_opt_out', sa.Boolean(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('email_sealed', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_phone', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('notify_email', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_column('notify_email')
        batch_op.drop_column('notify_phone')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('email_sealed')
        batch_op.drop_column('sms_opt_out')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint('notification_channel', type_='check')
        batch_op.drop_constraint('notification_status', type_='check')
        batch_op.drop_index('ix_notification_due')
        batch_op.drop_index(batch_op.f('ix_notification_recipient_hash'))
        for column in ('recipient_hash', 'last_error', 'claimed_until', 'claimed_by', 'next_attempt_at', 'attempts',
                       'status', 'params', 'milestone', 'channel'):
            batch_op.drop_column(column)
