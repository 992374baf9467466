"""secrets at rest: keyed event chains, sealed result files and idempotent answers

Existing rows are converted in place: result files are sealed with the data key, stored idempotent answers
too, a download link kept in a notification's text becomes a reference to its file, and every case and packet
chain is hashed again under the chain key (HMAC-SHA256). The keys come from the settings app.schema.upgrade
was given, else from the environment and the instance folder as the app reads them, and only when there are
rows to convert.

Re-chaining translates a chain rather than vouching for it: an event whose old hash held gets a keyed hash
linked to its predecessor's new hash; an event whose old hash did not hold keeps its stored hash, and a link
to a hash no event has stays as it was. A break in the old chain is still a break, found by
`flask --app app audit verify`, rather than laundered by the upgrade.

The tables are written here as they stand at this revision (what an event's hash covers is every column
but id and hash), so a later migration that adds a column to an event table must re-chain it too.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

"""
import base64
import hashlib
import hmac
import json
import re
from datetime import timezone
from functools import cached_property

from alembic import context, op
import sqlalchemy as sa
import sqlmodel  # noqa: F401

from config.database import UTCDateTime


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BATCH = 500
FILE_BATCH = 20  # result files are up to 20 MB each
DELIVERY_LINK = "〔下载链接〕"  # tracking.model.records.DELIVERY_LINK
LINK_IN_TEXT = re.compile(r"\S*/api/v1/deliveries/([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+")

resultfile = sa.table("resultfile", sa.column("id", sa.Integer), sa.column("data", sa.LargeBinary),
                      sa.column("size", sa.Integer))
idempotentrequest = sa.table("idempotentrequest", sa.column("id", sa.Integer), sa.column("response", sa.JSON),
                             sa.column("response_sealed", sa.Text))
notification = sa.table("notification", sa.column("id", sa.Integer), sa.column("text", sa.String),
                        sa.column("result_file_id", sa.Integer))
case = sa.table("case", sa.column("id", sa.Integer), sa.column("last_hash", sa.String))
packet = sa.table("packet", sa.column("id", sa.Integer), sa.column("last_hash", sa.String))
caseevent = sa.table(
    "caseevent", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer), sa.column("type", sa.String),
    sa.column("status_after", sa.String), sa.column("actor", sa.String), sa.column("role", sa.String),
    sa.column("office_code", sa.String), sa.column("at", UTCDateTime), sa.column("recorded_at", UTCDateTime),
    sa.column("client_txn", sa.String), sa.column("data", sa.JSON), sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String))
packetevent = sa.table(
    "packetevent", sa.column("id", sa.Integer), sa.column("event_id", sa.String),
    sa.column("packet_id", sa.Integer), sa.column("type", sa.String), sa.column("status_after", sa.String),
    sa.column("at", UTCDateTime), sa.column("recorded_at", UTCDateTime), sa.column("actor", sa.String),
    sa.column("role", sa.String), sa.column("office_code", sa.String), sa.column("note", sa.String),
    sa.column("reason", sa.String), sa.column("contents", sa.JSON), sa.column("client_txn", sa.String),
    sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
CHAINS = ((case, caseevent, caseevent.c.case_id), (packet, packetevent, packetevent.c.packet_id))


class _Keys:
    """The installation's keys, read on first use: only if a row needs one."""

    @cached_property
    def settings(self):
        from config.settings import Settings
        return context.config.attributes.get("settings") or Settings.from_env()

    @cached_property
    def sealer(self):
        from tracking.model.sealing import Sealer
        return Sealer(self.settings.data_key)

    # -- the two ways of hashing an event ----------------------------------------------------------

    @staticmethod
    def plain(prev_hash: str, payload: dict) -> str:
        return hashlib.sha256(_body(prev_hash, payload)).hexdigest()

    def keyed(self, prev_hash: str, payload: dict) -> str:
        return hmac.new(self.settings.chain_key.encode(), _body(prev_hash, payload), hashlib.sha256).hexdigest()


def _body(prev_hash: str, payload: dict) -> bytes:
    def default(value):
        return value.astimezone(timezone.utc).isoformat() if hasattr(value, "astimezone") else value.isoformat()
    return (prev_hash + "\n" + json.dumps(payload, sort_keys=True, ensure_ascii=False, default=default)).encode()


def _rechain(conn, old, new) -> None:
    """Every chain translated from the `old` hashing to the `new`, owners in batches, breaks kept."""
    for owners, events, owner_id in CHAINS:
        after = 0
        while True:
            heads = conn.execute(sa.select(owners.c.id, owners.c.last_hash).where(owners.c.id > after)
                                 .order_by(owners.c.id).limit(BATCH)).all()
            if not heads:
                break
            after = heads[-1][0]
            rows = conn.execute(sa.select(events).where(owner_id.in_([h[0] for h in heads]))
                                .order_by(owner_id, events.c.id)).mappings().all()
            by_owner: dict[int, list] = {}
            for row in rows:
                by_owner.setdefault(row[owner_id.name], []).append(row)
            changed, new_heads = [], []
            for owner, head in heads:
                translated = {"": ""}  # old hash -> new hash
                for row in by_owner.get(owner, []):
                    payload = {k: v for k, v in row.items() if k not in ("id", "hash")}
                    prev = translated.get(row["prev_hash"], row["prev_hash"])
                    digest = new(prev, {**payload, "prev_hash": prev}) \
                        if old(row["prev_hash"], payload) == row["hash"] else row["hash"]
                    translated[row["hash"]] = digest
                    changed.append({"_id": row["id"], "_prev": prev, "_hash": digest})
                new_heads.append({"_id": owner, "_head": translated.get(head, head)})
            if changed:
                conn.execute(events.update().where(events.c.id == sa.bindparam("_id"))
                             .values(prev_hash=sa.bindparam("_prev"), hash=sa.bindparam("_hash")), changed)
            conn.execute(owners.update().where(owners.c.id == sa.bindparam("_id"))
                         .values(last_hash=sa.bindparam("_head")), new_heads)


def _each(conn, table, columns, where, batch=BATCH):
    """Rows of `table` matching `where`, in id order, a batch at a time."""
    after = 0
    while True:
        rows = conn.execute(sa.select(table.c.id, *columns).where(where, table.c.id > after)
                            .order_by(table.c.id).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1][0]


def _file_id(token_body: str) -> int | None:
    try:
        return int(base64.urlsafe_b64decode(token_body + "=" * (-len(token_body) % 4)).split(b".")[0])
    except ValueError:
        return None


def upgrade() -> None:
    with op.batch_alter_table('resultfile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('size', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result_file_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_notification_result_file_id', 'resultfile', ['result_file_id'], ['id'])
    with op.batch_alter_table('idempotentrequest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_sealed', sa.Text(), nullable=True))

    conn, keys = op.get_bind(), _Keys()
    for id_, data in _each(conn, resultfile, [resultfile.c.data], sa.true(), FILE_BATCH):
        conn.execute(resultfile.update().where(resultfile.c.id == id_)
                     .values(data=keys.sealer.seal_bytes(bytes(data)), size=len(data)))
    for id_, response in _each(conn, idempotentrequest, [idempotentrequest.c.response],
                               idempotentrequest.c.response.is_not(None)):
        if response is not None:  # a JSON null
            conn.execute(idempotentrequest.update().where(idempotentrequest.c.id == id_)
                         .values(response_sealed=keys.sealer.seal(response)))
    for id_, text in _each(conn, notification, [notification.c.text], notification.c.text.like("%/deliveries/%")):
        found = LINK_IN_TEXT.search(text)
        if found:
            conn.execute(notification.update().where(notification.c.id == id_).values(
                text=LINK_IN_TEXT.sub(DELIVERY_LINK, text), result_file_id=_file_id(found.group(1))))
    _rechain(conn, keys.plain, keys.keyed)

    with op.batch_alter_table('idempotentrequest', schema=None) as batch_op:
        batch_op.drop_column('response')


def downgrade() -> None:
    with op.batch_alter_table('idempotentrequest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response', sa.JSON(), nullable=True))

    conn, keys = op.get_bind(), _Keys()
    _rechain(conn, keys.keyed, keys.plain)
    for id_, sealed in _each(conn, idempotentrequest, [idempotentrequest.c.response_sealed],
                             idempotentrequest.c.response_sealed.is_not(None)):
        conn.execute(idempotentrequest.update().where(idempotentrequest.c.id == id_)
                     .values(response=keys.sealer.open(sealed)))
    for id_, data in _each(conn, resultfile, [resultfile.c.data], sa.true(), FILE_BATCH):
        conn.execute(resultfile.update().where(resultfile.c.id == id_)
                     .values(data=keys.sealer.open_bytes(bytes(data))))
    # a notification's link is not written back in clear: its text keeps the placeholder

    with op.batch_alter_table('idempotentrequest', schema=None) as batch_op:
        batch_op.drop_column('response_sealed')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint('fk_notification_result_file_id', type_='foreignkey')
        batch_op.drop_column('result_file_id')
    with op.batch_alter_table('resultfile', schema=None) as batch_op:
        batch_op.drop_column('size')
