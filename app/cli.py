"""Setup commands: flask --app app init-db | users create | demo | calendar load | audit verify | backup | restore."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from config import clock
from config.database import new_session
from labels.label import DEFAULT_SIZE, SIZES, labels_pdf
from routing.calendars import store_year
from routing.reference import load_reference_data
from routing.workdays import parse_year_file


def _session():
    return new_session(current_app.extensions["tongban"]["engine"])


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the schema and load the reference data (safe to run again)."""
    from app.schema import upgrade
    upgrade(current_app.extensions["tongban"]["engine"], settings=current_app.config["TONGBAN"])
    settings = current_app.config["TONGBAN"]
    with _session() as session:
        # a federation node keeps its own offices (and the gateways); `federation directory sync` adds its peers'
        added = load_reference_data(session, own_prefixes=settings.node_prefixes if settings.node else ())
        session.commit()
    click.echo("数据库已就绪。新增：区划 {divisions}，部门类型 {departments}，机构 {offices}，事项 {matters}。"
               .format(**added))


users = AppGroup("users", help="Staff accounts.")


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["clerk", "officer", "courier", "supervisor", "admin"]))
@click.option("--password", required=True)
@click.option("--office", "office_code", default=None, help="Office code (H… hall, D… department, P… hub).")
@click.option("--name", default="", help="姓名")
def users_create(username, role, password, office_code, name) -> None:
    from app.users import create_user
    from tracking.model.inputs import Invalid
    with _session() as session:
        try:
            user = create_user(session, username, role, password, office_code, name)
        except Invalid as e:
            raise click.ClickException("\n".join(error.message for error in e.errors)) from None
        session.commit()
        click.echo(f"已创建用户 {user.username}（{user.role}{'，' + user.office_code if user.office_code else ''}）。")


calendar = AppGroup("calendar", help="The official working-day calendar.")


@calendar.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def calendar_load(file: Path) -> None:
    """Load a published year: JSON {"year", "holidays": {date: name}, "workdays": {date: reason}}."""
    from tracking.commands.sweep import recompute_provisional
    from tracking.model import stage_store
    try:
        spec = parse_year_file(file.read_text(encoding="utf-8"))
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    with _session() as session:
        store_year(session, spec, clock.now())
        changed = recompute_provisional(session, current_app.config["TONGBAN"])
        # the open stages' stored due dates count working days on the calendar just loaded
        stage_store.rebuild(session, current_app.config["TONGBAN"], open_only=True)
        session.commit()
    click.echo(f"已载入 {spec.year} 年日历：节假日 {len(spec.holidays)} 天，调休上班 {len(spec.workdays)} 天；"
               f"重新计算承诺办结日期 {changed} 件。")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Load demo accounts and cases in several states, and print the accounts."""
    from app.demo import PASSWORD, demo_accounts, load_demo
    with _session() as session:
        made = load_demo(session, current_app.extensions["tongban"]["env"])
        accounts = demo_accounts(session)
    click.echo("演示数据已就绪（新建办件 %d 件）。演示账号（密码均为 %s）：" % (made, PASSWORD))
    for username, role, office, name in accounts:
        click.echo(f"  {username:<18} {role:<10} {office or '-':<12} {name}")


labels_group = AppGroup("labels", help="Printing.")


@labels_group.command("print")
@click.option("--manifest", "manifest_no", required=True, help="交接清单编号")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF 文件")
@click.option("--size", default=DEFAULT_SIZE, type=click.Choice(list(SIZES)))
def labels_print(manifest_no: str, out: Path, size: str) -> None:
    """Every label of a handover sheet in one PDF, one page each."""
    from tracking.model.errors import Refused
    from tracking.model.lookups import load_manifest
    from tracking.reads.documents import manifest_labels
    settings = current_app.config["TONGBAN"]
    with _session() as session:
        try:
            specs = manifest_labels(session, current_app.extensions["tongban"]["env"],
                                    load_manifest(session, manifest_no))
        except Refused as e:
            raise click.ClickException(e.message) from None
    with click.progressbar(length=len(specs), label=f"打印 {len(specs)} 张面单", file=sys.stderr,
                           show_pos=True) as bar:
        data = labels_pdf(specs, size, font_path=settings.font_path or None, title=f"面单 {manifest_no}",
                          progress=lambda _page: bar.update(1))
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)  # a half-written file never looks like a finished one
    click.echo(f"已生成 {out}：{len(specs)} 张面单（{size} 毫米）。")


@click.command("sweep")
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD：按该日期计算（默认今天，北京时间）")
@with_appcontext
def sweep_command(as_of: str | None) -> None:
    """Deem acceptances, close long-delivered cases, mark overdue stages and queue their notices."""
    from datetime import date

    from app.tasks import run_sweep
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise click.ClickException("--as-of 应为 YYYY-MM-DD 格式的日期。") from None
    done = run_sweep(day)
    click.echo("巡检完成（{as_of}）：视为受理 {deemed_accepted} 件，归档 {closed} 件，承诺日期顺延 {due_dates_moved} 件，"
               "新增超期 {overdue_marked} 项，发出通知 {sent} 条。".format(as_of=(day or clock.beijing_date()).isoformat(),
                                                                  **done)
               # said only when it happened: most days no supplement runs out
               + ("逾期未补正视为撤回 {deemed_withdrawn} 件。".format(**done) if done["deemed_withdrawn"] else ""))


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """A consistent copy of the database, made while the service runs (SQLite online backup or pg_dump)."""
    from app.backup import BackupError, backup
    try:
        how = backup(current_app.config["TONGBAN"].database_url, path)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"已备份到 {path}（{how}）。备份不含数据密钥、会话密钥和链密钥，请另行妥善保管："
               "没有数据密钥，备份中的个人信息无法读取。")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(path: Path) -> None:
    """Bring a backup back into an empty database (refused for a database that has tables)."""
    from app.backup import BackupError, restore
    try:
        how = restore(current_app.config["TONGBAN"].database_url, path)
    except BackupError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"已从 {path} 恢复（{how}）。请使用备份时的数据密钥和链密钥启动服务，"
               "再运行 flask --app app init-db 升级到当前版本。")


db_group = AppGroup("db", help="Schema migrations.")


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--rev-id", default=None, help="e.g. 0002: revisions are numbered in order")
def db_revision(message: str, rev_id: str | None) -> None:
    """Write a migration for the difference between the models and the database."""
    from app.schema import revision
    revision(current_app.extensions["tongban"]["engine"], message, rev_id)


audit = AppGroup("audit", help="Checks on the stored history.")


@audit.command("verify")
@click.option("--case", "case_no", default=None, help="只核验该办件及其邮件的哈希链")
def audit_verify(case_no: str | None) -> None:
    """Walk every case and packet chain; report each edited, inserted or deleted event (exit 1 if any)."""
    from tracking.model.errors import Refused
    from tracking.model.lookups import load_case
    from tracking.reads.chains import KIND_TITLES, OWNER_TITLES, Walked, walk_chains
    walked, broken = Walked(), 0
    with new_session(current_app.extensions["tongban"]["engine"], read_only=True) as session:
        try:
            case = load_case(session, case_no) if case_no else None
        except Refused as e:
            raise click.ClickException(e.message) from None
        for found in walk_chains(session, case, walked=walked):
            broken += 1
            where = (f"事件 #{found.event.id} {found.event.type} {clock.iso(found.event.at)}" if found.event
                     else "最后一条事件之后")
            before = (f"，此前应接在事件 #{found.after.id} 之后" if found.kind == "deleted" and found.after
                      else "")
            click.echo(f"{OWNER_TITLES[found.chain]} {found.number} {where}：{found.kind}，"
                       f"{KIND_TITLES[found.kind]}{before}")
    click.echo(f"核验完成：办件 {walked.cases} 件、邮件 {walked.packets} 件、事件 {walked.events} 条；"
               + (f"发现 {broken} 处异常。" if broken else "哈希链完好。"))
    if broken:
        sys.exit(1)


federation = AppGroup("federation", help="This installation as a node among its peers (docs/federation.md).")


@federation.command("key")
@click.option("--peers-file", "as_peers_file", is_flag=True,
              help="以协同节点文件的格式输出本节点（base_url 取 TONGBAN_PUBLIC_URL），供对方 peers load")
def federation_key(as_peers_file: bool) -> None:
    """Print the node id and its two public keys (base64url of the raw 32 bytes), for the peers' files."""
    import json

    from tracking.federation.envelope import NodeKeys
    settings = current_app.config["TONGBAN"]
    if not settings.node:
        raise click.ClickException("未设置 TONGBAN_NODE：本系统是单一安装，没有节点密钥。")
    keys = NodeKeys.from_settings(settings)
    if as_peers_file:
        # JSON is YAML: the file `peers load` reads, with nothing for the peer to retype
        entry = {"node_id": keys.node, "base_url": settings.public_url, "signing_keys": [keys.signing_public],
                 "sealing_key": keys.sealing_public, "prefixes": list(settings.node_prefixes)}
        click.echo(json.dumps({"peers": [entry]}, ensure_ascii=False, indent=2))
        return
    click.echo(f"node_id: {keys.node}")
    click.echo(f"signing_key: {keys.signing_public}")
    click.echo(f"sealing_key: {keys.sealing_public}")
    if settings.node_prefixes:
        click.echo(f"prefixes: {','.join(settings.node_prefixes)}")


peers_group = AppGroup("peers", help="The peers this node exchanges messages with.")
federation.add_command(peers_group)


@peers_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def peers_load(file: Path) -> None:
    """Add or update the peers a YAML or JSON file lists ({"peers": [...]}); each change is audited."""
    from app.federation import save_peer
    from tracking.federation.peers import read_peers_file
    from tracking.model.inputs import Invalid
    try:
        listed = read_peers_file(file.read_text(encoding="utf-8"))
    except Invalid as e:
        raise click.ClickException("\n".join(f"{error.field}：{error.message}" for error in e.errors)) from None
    added = changed = 0
    with _session() as session:
        for spec in listed.peers:
            _peer, changes, created = save_peer(session, "命令行", spec)
            added += created
            changed += bool(changes) and not created
        session.commit()
    click.echo(f"已载入协同节点 {len(listed.peers)} 个：新增 {added}，修改 {changed}，"
               f"未变 {len(listed.peers) - added - changed}。")


def _age(seconds: int) -> str:
    minutes = seconds // 60
    return f"{minutes // 1440} 天 {minutes % 1440 // 60} 小时" if minutes >= 1440 else \
        f"{minutes // 60} 小时 {minutes % 60} 分钟" if minutes >= 60 else f"{minutes} 分钟"


@federation.command("pending")
@click.option("--limit", default=500, show_default=True, help="最多列出的消息条数")
def federation_pending(limit: int) -> None:
    """Per peer and platform: messages waiting, failing and dead, the oldest unsent; then each of them."""
    from tracking.federation.outbox import STATUS_TITLES, link_health, unsent
    with new_session(current_app.extensions["tongban"]["engine"], read_only=True) as session:
        links = link_health(session)
        rows = unsent(session, limit)
    if not rows:
        click.echo("没有待发送或已停止重试的消息。")
    for link in links:
        if not (link["waiting"] or link["dead"]):
            continue
        oldest = (f"，最早未送达 {clock.iso(link['oldest_unsent_at'])}（已等待 {_age(link['oldest_unsent_seconds'])}）"
                  if link["oldest_unsent_at"] else "")
        click.echo(f"{link['title']}（{link['kind']} {link['destination']}）：待发送 {link['waiting']} 条"
                   f"（其中发送失败待重试 {link['failing']} 条），已停止重试 {link['dead']} 条{oldest}")
    for row in rows:
        when = f"，下次发送 {clock.iso(row.next_attempt_at)}" if row.status == "pending" else ""
        error = f"，最近错误：{row.last_error}" if row.last_error else ""
        click.echo(f"  {row.message_id}  {row.destination_kind}:{row.destination}  {row.type}  "
                   f"{STATUS_TITLES[row.status]}，已尝试 {row.attempts} 次{when}{error}")


@federation.command("replay")
@click.argument("message_ids", nargs=-1)
@click.option("--dead", is_flag=True, help="重发全部已停止重试的消息")
def federation_replay(message_ids: tuple[str, ...], dead: bool) -> None:
    """Send again: the named messages, or every dead-lettered one (--dead); dead ones start their tries afresh."""
    from tracking.federation.outbox import replay
    if bool(message_ids) == dead:
        raise click.ClickException("请列出要重发的消息编号，或使用 --dead 重发全部已停止重试的消息（二者选一）。")
    with _session() as session:
        done = replay(session, message_ids, dead=dead)
        session.commit()
    click.echo(f"已重新排队 {len(done['replayed'])} 条，下次发送时送出。")
    for message_id in done["sent_already"]:
        click.echo(f"  {message_id}：已送达，无需重发。")
    for message_id in done["unknown"]:
        click.echo(f"  {message_id}：没有这条消息。")
    if done["unknown"]:
        sys.exit(1)


@federation.command("ping")
@click.argument("node_id")
def federation_ping(node_id: str) -> None:
    """Queue a node.ping to a peer: the next send checks keys, clocks and the address end to end."""
    from app.federation import messages_url
    from tracking.federation.envelope import NodeKeys, build
    from tracking.federation.outbox import enqueue
    from tracking.federation.peers import active_peer
    settings = current_app.config["TONGBAN"]
    if not settings.node:
        raise click.ClickException("未设置 TONGBAN_NODE：本系统是单一安装，没有协同节点。")
    with _session() as session:
        peer = active_peer(session, node_id)
        if peer is None:
            raise click.ClickException(f"未登记或已停用的协同节点：{node_id}。")
        message = build(NodeKeys.from_settings(settings), to=node_id, type="node.ping", body={})
        enqueue(session, destination_kind="peer", destination=node_id, url=messages_url(peer.base_url),
                message_id=message["message_id"], type="node.ping", payload=message)
        session.commit()
    click.echo(f"已排队 node.ping {message['message_id']} → {node_id}；发送：flask --app app federation send")


directory_group = AppGroup("directory", help="The peers' offices, from their signed directories.")
federation.add_command(directory_group)


@directory_group.command("sync")
def directory_sync() -> None:
    """Fetch every active peer's directory and load its offices (what the daily task does)."""
    from app.tasks import run_directory_sync
    failed = False
    for node_id, done in run_directory_sync().items():
        if "error" in done:
            failed = True
            click.echo(f"{node_id}：{done['error']}", err=True)
            continue
        refused = "、".join(done["refused"]) or "无"
        click.echo(f"{node_id}：新增机构 {done['added']}，更新 {done['updated']}，停用 {done['deactivated']}，"
                   f"拒收 {len(done['refused'])}（{refused}）。")
    if failed:
        sys.exit(1)


@federation.command("send")
def federation_send() -> None:
    """Send the due messages now (what the periodic task does; without a broker, run it from cron)."""
    from app.tasks import run_outbox
    done = run_outbox()
    click.echo("发送完成：送达 {sent} 条，稍后重试 {retried} 条，停止重试 {dead} 条。".format(**done))


@federation.command("schemas")
@click.option("--out", "out", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="目录（默认 docs/federation/schemas）")
def federation_schemas(out: Path | None) -> None:
    """Write the JSON Schemas of the envelope, each message body and the peers file."""
    from tracking.federation.schemas import SCHEMAS_DIR, write_schemas
    for path in write_schemas(out or SCHEMAS_DIR):
        click.echo(str(path.name))


carriers_group = AppGroup("carriers", help="Carriers: bookings, pick-ups and tracking events (docs/carriers.md).")


@carriers_group.command("send")
def carriers_send() -> None:
    """Sends the carrier outbox's due bookings, pick-ups and cancellations now."""
    from app.tasks import run_carrier_requests
    done = run_carrier_requests()
    click.echo(f"已完成 {done['done']} 条，待重试 {done['retried']} 条，已停止重试 {done['dead']} 条。")


@carriers_group.command("poll")
def carriers_poll() -> None:
    """Fetches the tracking events of every packet in a carrier's hands (fills what pushes missed)."""
    from app.tasks import run_carrier_poll
    for name, count in run_carrier_poll().items():
        click.echo(f"{name}：新记录轨迹 {count} 条。")


@carriers_group.command("pending")
def carriers_pending() -> None:
    """Requests waiting or dead, and carrier events that could not be recorded."""
    from tracking.reads.carriers import unsettled
    with new_session(current_app.extensions["tongban"]["engine"], read_only=True) as session:
        found = unsettled(session)
    if not (found["requests"] or found["events"]):
        click.echo("没有待发送、已停止重试的承运方请求，也没有未能记录的轨迹。")
    for r in found["requests"]:
        error = f"，最近错误：{r['last_error']}" if r["last_error"] else ""
        click.echo(f"  请求 {r['id']}  {r['carrier']} {r['kind_text']} {r['tracking_no'] or r['office_code']}  "
                   f"{r['status_text']}，已尝试 {r['attempts']} 次{error}")
    for e in found["events"]:
        click.echo(f"  轨迹 {e['carrier']} {e['waybill_no']} {e['code']} {e['text']}  {e['outcome_text']}"
                   f"{('：' + e['error']) if e['error'] else ''}")


@carriers_group.command("replay")
@click.argument("request_ids", nargs=-1, type=int)
@click.option("--dead", is_flag=True, help="重发全部已停止重试的请求")
def carriers_replay(request_ids: tuple[int, ...], dead: bool) -> None:
    """Sends again: the named requests, or every dead one (--dead); dead ones start their tries afresh."""
    from tracking.commands.carriers import replay_requests
    with new_session(current_app.extensions["tongban"]["engine"]) as session:
        replayed = replay_requests(session, list(request_ids), dead=dead)
        session.commit()
    click.echo(f"已重新排队 {len(replayed)} 条：{' '.join(map(str, replayed)) or '无'}。")


notifications_group = AppGroup("notifications", help="Messages to people: SMS and email (docs/messages.md).")


@notifications_group.command("send")
@click.option("--for", "seconds", default=0.0, show_default=True,
              help="持续发送的秒数（期间每隔 --every 秒再发一轮）；0：只发一轮")
@click.option("--every", default=1.0, show_default=True, help="两轮之间的秒数")
def notifications_send(seconds: float, every: float) -> None:
    """Send the due messages now (what the periodic task does); with --for, keep sending for that long."""
    import time

    from app.tasks import run_notifications
    total = {"sent": 0, "retried": 0, "dead": 0, "deferred": 0}
    until = time.monotonic() + seconds
    while True:
        for key, value in run_notifications().items():
            total[key] += value
        if time.monotonic() >= until:
            break
        time.sleep(every)
    click.echo("发送完成：已发送 {sent} 条，稍后重试 {retried} 条，停止重试 {dead} 条，"
               "超过每小时条数顺延 {deferred} 条。".format(**total))


@notifications_group.command("pending")
@click.option("--dead", "dead_only", is_flag=True, help="只列出已停止重试的消息")
@click.option("--limit", default=500, show_default=True, help="最多列出的消息条数")
def notifications_pending(dead_only: bool, limit: int) -> None:
    """Messages waiting or dead (only dead with --dead), with their tries and last error."""
    from tracking.commands.notifications import CHANNEL_TITLES, STATUS_TITLES, counts, unsent
    with new_session(current_app.extensions["tongban"]["engine"], read_only=True) as session:
        by_state = counts(session)
        rows = unsent(session, dead_only=dead_only, limit=limit)
    for (status, channel), n in sorted(by_state.items()):
        click.echo(f"{STATUS_TITLES[status]}（{CHANNEL_TITLES[channel]}）：{n} 条")
    if not rows:
        click.echo("没有已停止重试的消息。" if dead_only else "没有待发送或已停止重试的消息。")
    for row in rows:
        when = f"，下次发送 {clock.iso(row.next_attempt_at)}" if row.status == "pending" and row.next_attempt_at else ""
        error = f"，最近错误：{row.last_error}" if row.last_error else ""
        who = row.office_code or "申请人"
        click.echo(f"  {row.id}  {CHANNEL_TITLES[row.channel]}  {who}  {row.milestone or '-'}  "
                   f"{STATUS_TITLES[row.status]}，已尝试 {row.attempts} 次{when}{error}")


@notifications_group.command("replay")
@click.argument("ids", nargs=-1, type=int)
@click.option("--dead", is_flag=True, help="重发全部已停止重试的消息")
def notifications_replay(ids: tuple[int, ...], dead: bool) -> None:
    """Send again: the numbered messages, or every dead one (--dead); dead ones start their tries afresh."""
    from tracking.commands.notifications import replay
    if bool(ids) == dead:
        raise click.ClickException("请列出要重发的消息编号，或使用 --dead 重发全部已停止重试的消息（二者选一）。")
    with _session() as session:
        done = replay(session, ids, dead=dead)
        session.commit()
    click.echo(f"已重新排队 {len(done['replayed'])} 条，下次发送时送出。")
    for note_id in done["sent_already"]:
        click.echo(f"  {note_id}：已发送，无需重发。")
    for note_id in done["unknown"]:
        click.echo(f"  {note_id}：没有这条消息。")
    if done["unknown"]:
        sys.exit(1)


deadlines_group = AppGroup("deadlines", help="The stage deadlines stored on each case (docs/performance.md).")


@deadlines_group.command("rebuild")
def deadlines_rebuild() -> None:
    """Derive every case's stored stage deadlines again from its rows (after a calendar change, or to repair)."""
    from tracking.model.stage_store import rebuild
    with _session() as session:
        changed = rebuild(session, current_app.config["TONGBAN"])
        session.commit()
    click.echo(f"已重新计算各办件的环节时限：{changed} 件有变化。")


@deadlines_group.command("check")
def deadlines_check() -> None:
    """List the cases whose stored stage deadlines disagree with their rows (exit 1 if any)."""
    from tracking.model.stage_store import check
    with new_session(current_app.extensions["tongban"]["engine"], read_only=True) as session:
        wrong = check(session, current_app.config["TONGBAN"])
    for case_no, stored, derived in wrong[:50]:
        differ = {k: (stored[k], derived[k]) for k in stored if stored[k] != derived[k]}
        click.echo(f"{case_no}：{differ}")
    click.echo(f"环节时限与办件记录不符：{len(wrong)} 件。")
    if wrong:
        sys.exit(1)


@click.command("synth")
@click.option("--cases", type=click.IntRange(min=1), required=True, help="要生成的办件数")
@click.option("--open-share", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="截至今天仍在办理中的办件比例")
@click.option("--seed", type=int, default=1, show_default=True, help="随机种子：同一种子生成同样的数据")
@click.option("--days", type=click.IntRange(min=1), default=365, show_default=True, help="收件日期分布在今天之前的天数")
@with_appcontext
def synth_command(cases: int, open_share: float, seed: int, days: int) -> None:
    """Generate realistic synthetic cases, packets and events in bulk (for measuring at scale)."""
    import time

    from app.synth import synthesise
    env = current_app.extensions["tongban"]["env"]
    began = time.perf_counter()

    def progress(made: int, seconds: float) -> None:
        click.echo(f"  已生成 {made} 件（{made / max(seconds, 1e-9):,.0f} 件/秒）", err=True)
    done = synthesise(current_app.extensions["tongban"]["engine"], current_app.config["TONGBAN"], cases,
                      open_share=open_share, seed=seed, days=days, sealer=env.sealer, progress=progress)
    seconds = time.perf_counter() - began
    rows = done["cases"] + done["case_events"] + done["packets"] + done["packet_events"]
    click.echo(f"已生成办件 {done['cases']} 件（在办 {done['open']} 件）、办件事件 {done['case_events']} 条、"
               f"邮件 {done['packets']} 件、邮件事件 {done['packet_events']} 条；用时 {seconds:.1f} 秒，"
               f"{done['cases'] / seconds:,.0f} 件/秒，{rows / seconds:,.0f} 行/秒。")


stats_group = AppGroup("stats", help="The statistics' daily roll-ups.")


@stats_group.command("rebuild")
@click.option("--since", default=None, help="YYYY-MM-DD：从该日起重建（默认最早的办件日期）")
@click.option("--until", default=None, help="YYYY-MM-DD：重建到该日（默认昨天，北京时间）")
def stats_rebuild(since: str | None, until: str | None) -> None:
    """Builds the statistics' roll-ups of a range of days afresh (after a correction, or a new directory)."""
    import time
    from datetime import date, timedelta

    from tracking.commands.rollups import build, first_day
    try:
        start, end = (date.fromisoformat(since) if since else None), (date.fromisoformat(until) if until else None)
    except ValueError:
        raise click.ClickException("--since 和 --until 应为 YYYY-MM-DD 格式的日期。") from None
    t0 = time.perf_counter()
    with _session() as session:
        start = start or first_day(session)
        end = end or clock.beijing_date() - timedelta(days=1)
        if start is None or start > end:
            click.echo("没有需要汇总的日期。")
            return
        days = build(session, start, end, session.commit)
        session.commit()
    click.echo(f"已重建 {start.isoformat()} 至 {end.isoformat()} 的统计日汇总，共 {days} 天；"
               f"用时 {time.perf_counter() - t0:.1f} 秒。")


def init_app(app: Flask) -> None:
    for command in (init_db, users, calendar, demo, labels_group, sweep_command, db_group, audit,
                    backup_command, restore_command, federation, notifications_group, carriers_group,
                    deadlines_group, synth_command, stats_group):
        app.cli.add_command(command)
