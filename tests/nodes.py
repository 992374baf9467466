"""Installations run as real processes, for tests of several nodes: each has its own instance folder (keys),
its own database (a SQLite file there, or a fresh PostgreSQL database when the suite runs on PostgreSQL),
its own node id and prefixes, and is served by `flask run` on a loopback port. Peers join the way the
README says: `federation key --peers-file` on one, `federation peers load` of that file on the other.
Stop a node and start it again (same port, same database) to play a peer that is down.

    with two_nodes(database_url, tmp_path) as (shanxi, beijing):
        shanxi.enqueue(beijing, "node.ping", {})
        shanxi.flask("federation", "send")
        beijing.inbound()
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from tests.databases import fresh_database, is_postgres

ROOT = Path(__file__).resolve().parents[1]
SHANXI = ("140000", "山西省", ("14",))
BEIJING = ("110000", "北京市", ("11",))
# each node numbers its packets from its own S10 range: both hold every packet of a shared case
OWN_RANGES = {"140000": {"TONGBAN_S10_FIRST_PREFIX": "EA", "TONGBAN_S10_LAST_PREFIX": "EM"},
              "110000": {"TONGBAN_S10_FIRST_PREFIX": "EN", "TONGBAN_S10_LAST_PREFIX": "EZ"}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Node:
    node_id: str
    name: str
    prefixes: tuple[str, ...]
    instance: Path
    database_url: str
    port: int = field(default_factory=free_port)
    extra_env: dict = field(default_factory=dict)  # e.g. TONGBAN_FEDERATION_RETRY_SECONDS
    server: Optional[subprocess.Popen] = None
    _engine: object = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def messages_url(self) -> str:
        from app.federation import messages_url
        return messages_url(self.base_url)

    def env(self, **overrides: str) -> dict[str, str]:
        # nothing of the test run's own TONGBAN_* leaks in (a broker, another database): only this node's
        env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
        env.update({"TONGBAN_NODE": self.node_id, "TONGBAN_NODE_PREFIXES": ",".join(self.prefixes),
                    "TONGBAN_INSTANCE_PATH": str(self.instance), "TONGBAN_DATABASE_URL": self.database_url,
                    "TONGBAN_PUBLIC_URL": self.base_url, "FLASK_APP": "app", "PYTHONUNBUFFERED": "1",
                    **self.extra_env, **overrides})
        return env

    def flask(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        """`flask --app app ARGS…` as this node, in its own process."""
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=self.env(**env),
                              capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"{self.node_id}: flask {' '.join(args)} → {done.returncode}\n"
                                 f"{done.stdout}\n{done.stderr}")
        return done

    # -- setting up and joining --------------------------------------------------------------------

    def set_up(self, demo: bool = False) -> None:
        self.instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.flask("init-db")
        if demo:
            self.flask("demo")

    def peers_entry(self) -> dict:
        """This node as its peers list it: what `federation key --peers-file` prints."""
        return json.loads(self.flask("federation", "key", "--peers-file").stdout)["peers"][0]

    def load_peers(self, entries: list[dict]) -> str:
        path = self.instance / "peers.yaml"
        path.write_text(json.dumps({"peers": entries}, ensure_ascii=False), encoding="utf-8")
        return self.flask("federation", "peers", "load", str(path)).stdout

    # -- the server -----------------------------------------------------------------------------------

    def start(self, timeout: float = 20) -> None:
        assert self.server is None, "already running"
        log = (self.instance / "server.log").open("ab")
        self.server = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "run", "--host", "127.0.0.1",
                                        "--port", str(self.port)], cwd=ROOT, env=self.env(), stdout=log,
                                       stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise AssertionError(f"{self.node_id} did not start:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/login", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise AssertionError(f"{self.node_id} did not answer within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
            self.server = None

    def log(self) -> str:
        path = self.instance / "server.log"
        return path.read_text(encoding="utf-8", errors="replace")[-4000:] if path.exists() else ""

    def post(self, message: dict | bytes) -> tuple[int, dict]:
        """POSTs one envelope (or raw bytes) to this node's endpoint, as a peer would."""
        body = message if isinstance(message, bytes) else json.dumps(message, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.messages_url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    # -- this node's keys, database and outbox, from the test's side ------------------------------------

    def settings(self):
        from config.settings import Settings
        return Settings.from_env(env=self.env())

    def keys(self):
        """This node's private keys, read where the node keeps them (its instance folder)."""
        from tracking.federation.envelope import NodeKeys
        return NodeKeys.from_settings(self.settings())

    @property
    def engine(self):
        if self._engine is None:
            from config.database import make_engine
            self._engine = make_engine(self.database_url)
        return self._engine

    def session(self):
        from config.database import new_session
        return new_session(self.engine, read_only=True)

    def enqueue(self, to: "Node", type: str, body: dict, case_ref: str | None = None, seq: int | None = None) -> str:
        """Queues a message to a peer in this node's outbox, the way the node itself does: the envelope
        built and signed with its key, the row added by `outbox.enqueue` and committed. Returns its id."""
        from config.database import new_session
        from tracking.federation.envelope import build
        from tracking.federation.outbox import enqueue
        message = build(self.keys(), to=to.node_id, type=type, body=body, case_ref=case_ref, seq=seq)
        with new_session(self.engine) as session:
            enqueue(session, destination_kind="peer", destination=to.node_id, url=to.messages_url,
                    message_id=message["message_id"], type=type, payload=message)
            session.commit()
        return message["message_id"]

    def outbox(self) -> dict[str, tuple[str, int]]:
        """{message_id: (status, attempts)}."""
        from sqlmodel import select

        from tracking.federation.outbox import OutboxMessage
        with self.session() as session:
            return {m.message_id: (m.status, m.attempts) for m in session.exec(select(OutboxMessage))}

    def inbound(self, case_ref: str | None = None) -> list:
        """The messages this node received (of one case, or all), in the order they arrived."""
        from sqlmodel import select

        from tracking.federation.tables import InboundMessage
        with self.session() as session:
            query = select(InboundMessage).order_by(InboundMessage.id)
            if case_ref is not None:
                query = query.where(InboundMessage.case_ref == case_ref)
            rows = list(session.exec(query))
            session.expunge_all()
            return rows

    def close(self) -> None:
        self.stop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


@contextmanager
def nodes(database_url: str, folder: Path, *specs: tuple[str, str, tuple[str, ...]], demo: tuple[str, ...] = (),
          extra_env: dict | None = None, node_env: dict[str, dict] | None = None,
          sync: bool = True) -> Iterator[list[Node]]:
    """Installations set up side by side (in parallel), each listing all the others as peers, all serving.
    `database_url` only says which kind of database: each node gets a fresh one of its own. `node_env`: one
    node's own settings (by node id), e.g. its S10 range. Each node loads only its own offices and the gateways
    (`init-db`), then its peers' from their directories (`federation directory sync`) unless `sync` is False."""
    from concurrent.futures import ThreadPoolExecutor
    with ExitStack() as stack:
        made = []
        for node_id, name, prefixes in specs:
            # SQLite: the file in the node's instance folder, as `make run` has it
            url = stack.enter_context(fresh_database(database_url, folder, f"node_{node_id}")) \
                if is_postgres(database_url) else f"sqlite:///{folder / node_id / 'tongban.db'}"
            node = Node(node_id, name, prefixes, folder / node_id, url,
                        extra_env={**(extra_env or {}), **(node_env or {}).get(node_id, {})})
            stack.callback(node.close)
            made.append(node)
        with ThreadPoolExecutor(len(made)) as pool:
            list(pool.map(lambda n: n.set_up(demo=n.node_id in demo), made))
            entries = {n.node_id: {**e, "name": n.name} for n, e in zip(made, pool.map(Node.peers_entry, made))}
            list(pool.map(lambda n: n.load_peers([e for i, e in entries.items() if i != n.node_id]), made))
            list(pool.map(Node.start, made))
            if sync:
                for node in made:  # one at a time, patiently: a loaded machine answers slowly
                    node.flask("federation", "directory", "sync", TONGBAN_FEDERATION_TIMEOUT_SECONDS="60")
        yield made


def two_nodes(database_url: str, folder: Path, **kw):
    """山西 (140000, prefix 14) and 北京 (110000, prefix 11), each the other's peer."""
    return nodes(database_url, folder, SHANXI, BEIJING, **kw)
