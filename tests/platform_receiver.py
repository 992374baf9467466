"""A platform's receiving end on a loopback port, as another vendor would write it from docs/federation.md:
it checks each report's HMAC-SHA256 itself (not with our code), records what it got, and answers with
the statuses a test scripts (200 when the script runs out)."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Got:
    path: str
    headers: dict
    body: bytes
    signed: bool  # the signature verified and the timestamp was fresh

    @property
    def json(self) -> dict:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Receiver:
    secret: str
    answers: list[int] = field(default_factory=list)  # statuses to answer, in order; then `otherwise`
    otherwise: int = 200
    delay: float = 0.0
    got: list[Got] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stamp = self.headers.get("X-Tongban-Timestamp", "")
                expected = "sha256=" + hmac.new(receiver.secret.encode(), f"{stamp}.".encode() + body,
                                                hashlib.sha256).hexdigest()
                fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
                signed = fresh and hmac.compare_digest(expected, self.headers.get("X-Tongban-Signature", ""))
                time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.got.append(Got(self.path, dict(self.headers), body, signed))
                    status = receiver.answers.pop(0) if receiver.answers else receiver.otherwise
                if not signed and receiver.secret:  # a peer's message is signed inside its body instead
                    status = 401
                answer = json.dumps({"ok": status < 300}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def url(self, path: str = "/reports") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
