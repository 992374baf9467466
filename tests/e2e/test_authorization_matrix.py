"""The authorization matrix: every /api/v1 route × every role × the resource being their own office's or
another's, each cell the answer expected, against a live app with real cases (issue 12, §2 and §8).

A resource is "own" when it belongs to the user's office: the case was collected at the clerk's hall and
is owned by the officer's department; the courier works at a hub on its route (P140100 太原, on the way
out and on the result's way home); the supervisor watches over the collecting hall's city (忻州). "other"
users are of unrelated offices: 晋中 hall, 迎泽区 police, 晋中 hub, 晋中 supervisor. Admins and anonymous
callers have no office.

A cell holds the HTTP status, or, for POST /scans (always 200 for a scanning role), the verdict on the
one scan sent: `rec` recorded, `forb` rejected `forbidden`, `wrong` rejected `wrong_office`. A refused
cell must also leave its case as it was (status, flags, events, packets and their events, sheets).
On failure the whole table is printed with every wrong cell marked, so all of them are seen at once.
"""
from __future__ import annotations

import base64
import io
import re
import uuid

from sqlmodel import func, select

from mailing.tables import ManifestEvent, Packet, PacketEvent
from tests.e2e.steps import PDF, collect, rows
from tests.helpers import PASSWORD, intake_body, permit_body, person
from tracking.model.tables import Case, CaseEvent, Evaluation

USERS = {  # column: (username, role, office)
    "clerk/own": ("clerk", "clerk", "H140902"),
    "clerk/other": ("clerk_jz", "clerk", "H140700"),
    "officer/own": ("officer", "officer", "D140105-GA"),
    "officer/other": ("officer_yz", "officer", "D140106-GA"),
    "courier/own": ("courier", "courier", "P140100"),
    "courier/other": ("courier_jz", "courier", "P140700"),
    "supervisor/own": ("supervisor", "supervisor", "H140900"),
    "supervisor/other": ("supervisor_jz", "supervisor", "H140700"),
    "admin": ("admin", "admin", None),
    "anonymous": None,
}
COLUMNS = list(USERS)

#                                                    clerk      officer    courier    supervisor  admin anon
#                                                    own other  own other  own other  own other
MATRIX = """
POST /auth/token                                     200  200   200  200   200  200   200  200    200   401
GET  /offices                                        200  200   200  200   200  200   200  200    200   401
GET  /matters                                        200  200   200  200   200  200   200  200    200   401
GET  /openapi.json                                   200  200   200  200   200  200   200  200    200   200
POST /cases                                          201  201   403  403   403  403   403  403    403   401
GET  /cases                                          200  200   200  200   403  403   200  200    403   401
GET  /cases/{case_no}                                200  403   200  403   403  403   200  403    403   401
POST /cases/{case_no}/accept                         403  403   200  403   403  403   403  403    403   401
POST /cases/{case_no}/supplement-requests            403  403   200  403   403  403   403  403    403   401
POST /cases/{case_no}/supplements                    201  403   403  403   403  403   403  403    403   401
POST /cases/{case_no}/reject                         403  403   200  403   403  403   403  403    403   401
POST /cases/{case_no}/withdraw                       200  403   403  403   403  403   403  403    403   401
POST /cases/{case_no}/decision                       403  403   200  403   403  403   403  403    403   401
POST /cases/{case_no}/follow-up                      403  403   200  403   403  403   403  403    403   401
POST /cases/{case_no}/extension                      403  403   200  403   403  403   403  403    403   401
POST /cases/{case_no}/steps/{code}/accept            403  403   200  403   403  403   403  403    403   401
POST /cases/{case_no}/steps/{code}/completion        403  403   201  403   403  403   403  403    403   401
POST /cases/{case_no}/steps/{code}/refusal           403  403   200  403   403  403   403  403    403   401
POST /cases/{case_no}/steps/{code}/supplement-request 403 403  200  403   403  403   403  403    403   401
POST /cases/{case_no}/handover-to-applicant          200  403   403  403   403  403   403  403    403   401
POST /cases/{case_no}/result-link                    201  403   403  403   403  403   403  403    403   401
POST /cases/{case_no}/result-revocation              403  403   200  403   403  403   403  403    403   401
GET  /cases/{case_no}/result-file                    200  403   200  403   403  403   403  403    403   401
GET  /cases/{case_no}/receipt.pdf                    200  403   403  403   403  403   403  403    403   401
POST /cases/{case_no}/files                          201  403   403  403   403  403   403  403    403   401
GET  /cases/{case_no}/files                          200  403   200  403   403  403   403  403    403   401
GET  /files/{file_id}                                200  403   200  403   403  403   403  403    403   401
GET  /files/{file_id}/thumbnail.png                  200  403   200  403   403  403   403  403    403   401
GET  /cases/{case_no}/supplement-notice.pdf          200  403   200  403   403  403   403  403    403   401
GET  /cases/{case_no}/rejection-notice.pdf           200  403   200  403   403  403   403  403    403   401
GET  /cases/{case_no}/acceptance-notice.pdf          200  403   200  403   403  403   403  403    403   401
GET  /cases/{case_no}/decision-notice.pdf            200  403   200  403   403  403   403  403    403   401
GET  /packets/{tracking_no}                          200  403   200  403   200  200   200  403    403   401
POST /packets/{tracking_no}/replacement              201  403   403  403   403  403   403  403    403   401
GET  /packets/{tracking_no}/label.pdf                200  403   200  403   200  403   403  403    403   401
GET  /packets/{tracking_no}/label.zpl                200  403   200  403   200  403   403  403    403   401
GET  /exceptions                                     200  200   200  200   403  403   200  200    403   401
POST /manifests                                      201  403   403  403   403  403   403  403    403   401
GET  /manifests/{manifest_no}                        200  403   403  403   200  403   403  403    403   401
GET  /manifests/{manifest_no}.pdf                    200  403   403  403   200  403   403  403    403   401
GET  /manifests/{manifest_no}/labels.pdf             200  403   403  403   200  403   403  403    403   401
POST /manifests/{manifest_no}/cancel                 200  403   403  403   403  403   403  403    403   401
POST /manifests/{manifest_no}/receipt                403  403   403  403   200  403   403  403    403   401
GET  /courier/deliveries                             403  403   403  403   200  200   403  403    403   401
GET  /courier/today                                  403  403   403  403   200  200   403  403    403   401
GET  /track/{number}                                 200  200   200  200   200  200   200  200    200   200
POST /track/{case_no}/evaluation                     201  201   201  201   201  201   201  201    201   201
GET  /deliveries/{token}                             200  200   200  200   200  200   200  200    200   200
GET  /verify/{code}                                  200  200   200  200   200  200   200  200    200   200
POST /federation/messages                            401  401   401  401   401  401   401  401    401   401
GET  /federation/links                               403  403   403  403   403  403   200  200    403   401
GET  /federation/directory                           200  200   200  200   200  200   200  200    200   200
POST /carriers/pickups                               422  422   422  422   403  403   403  403    403   401
POST /carriers/{name}/events                         404  404   404  404   404  404   404  404    404   404
GET  /offices/{office_code}/postage                  200  403   200  403   403  403   200  403    403   401
POST /scans dispatched                               rec  wrong wrong wrong rec  rec   403  403    403   401
POST /scans dispatched (handover sheet)              rec  wrong wrong wrong rec  forb  403  403    403   401
POST /scans arrived_hub                              forb forb  forb forb  rec  rec   403  403    403   401
POST /scans departed_hub                             forb forb  forb forb  rec  rec   403  403    403   401
POST /scans out_for_delivery                         forb forb  forb forb  rec  rec   403  403    403   401
POST /scans delivered (home)                         forb forb  forb forb  rec  forb  403  403    403   401
POST /scans delivered (office)                       forb forb  rec  forb  rec  rec   403  403    403   401
POST /scans received                                 wrong wrong rec wrong wrong wrong 403  403    403   401
POST /scans exception lost                           rec  forb  forb forb  rec  forb  403  403    403   401
"""


def _table() -> dict[str, list[str]]:
    """The matrix as {row label: expected cells}: the last cells of a line are its columns."""
    table = {}
    for line in MATRIX.strip().splitlines():
        words = line.split()
        table[" ".join(words[:-len(COLUMNS)])] = words[-len(COLUMNS):]
    return table


# -- the world the matrix is asked about --------------------------------------------------------------

class World:
    """Cases in the states each endpoint needs, made over HTTP by the own users, the clock moving on a
    minute per step (every scan is made at the server's present)."""

    def __init__(self, api, frozen):
        self.api, self.frozen, self.minute = api, frozen, 0
        self.roles = {user[0]: user[1] for user in USERS.values() if user}

    def now(self) -> str:
        self.minute += 1
        at = f"2026-03-02T{9 + self.minute // 60 % 12:02d}:{self.minute % 60:02d}:00+08:00"
        day = 2 + self.minute // 720  # twelve hours of work a day, from Monday 2 March
        at = at.replace("2026-03-02", f"2026-03-{day:02d}")
        self.frozen.set(at)
        return at

    def scan(self, who: str, number: str, type_: str, office: str | None = None, *, sheet: bool = False,
             **extra) -> dict:
        body = {"event_id": str(uuid.uuid4()), "manifest_no" if sheet else "tracking_no": number, "type": type_,
                "at": self.now(), "office_code": office, **extra}
        r = self.api.post("/api/v1/scans", {"scans": [body]}, as_=who)
        assert r.status_code == 200, r.get_json()
        return r.json["results"][0]

    def _done(self, who: str, number: str, type_: str, office: str | None = None, **extra) -> None:
        result = self.scan(who, number, type_, office, **extra)
        assert result["status"] == "recorded", result

    def _post(self, path: str, body: dict | None = None, who: str = "officer") -> dict:
        self.now()
        r = self.api.post(path, body, as_=who)
        assert r.status_code in (200, 201), (path, r.get_json())
        return r.json

    def collected(self, body: dict | None = None) -> dict:
        self.now()
        return collect(self.api, body)

    def dispatched(self, body: dict | None = None) -> dict:
        case = self.collected(body)
        self._done("clerk", case["tracking_no"], "dispatched")
        return case

    def at_hub(self) -> dict:
        case = self.dispatched()
        self._done("courier", case["tracking_no"], "arrived_hub")  # at the courier's hub, P140100
        return case

    def received(self, body: dict | None = None) -> dict:
        case = self.dispatched(body)
        self._done("officer", case["tracking_no"], "received")
        return case

    def accepted(self, body: dict | None = None) -> dict:
        case = self.received(body)
        self._post(f"/api/v1/cases/{case['case_no']}/accept")
        return case

    def supplement_requested(self) -> dict:
        case = self.received()
        self._post(f"/api/v1/cases/{case['case_no']}/supplement-requests", {"materials": ["id_card"]})
        return case

    def rejected(self) -> dict:
        case = self.received()
        self._post(f"/api/v1/cases/{case['case_no']}/reject", {"reason": "不属于本机关管辖"})
        return case

    def accepted_permit(self) -> dict:
        return self.accepted(permit_body())

    def refused(self) -> dict:
        case = self.accepted()
        self._post(f"/api/v1/cases/{case['case_no']}/decision", {"outcome": "refused", "note": "不符合办理条件"})
        return case

    def decided(self, delivery: dict | None = None, **extra) -> dict:
        case = self.accepted(intake_body(result_delivery=delivery) if delivery else None)
        made = self._post(f"/api/v1/cases/{case['case_no']}/decision", {"outcome": "approved", "note": "准予", **extra})
        return {**case, "result_no": (made.get("result_packet") or {}).get("tracking_no"),
                "delivery_url": made.get("delivery_url")}

    def result_dispatched(self) -> dict:
        """A paper result sent by the owning office to the applicant's door."""
        case = self.decided()
        self._done("officer", case["result_no"], "dispatched")
        return case

    def result_out(self) -> dict:
        case = self.result_dispatched()
        self._done("courier", case["result_no"], "out_for_delivery")
        return case

    def ready_for_pickup(self) -> dict:
        case = self.decided({"method": "pickup"})
        self._done("officer", case["result_no"], "dispatched")
        self._done("clerk", case["result_no"], "received")
        return case

    def lost(self) -> dict:
        case = self.dispatched()
        self._done("clerk", case["tracking_no"], "exception", reason="lost")
        return case

    def decided_electronically(self) -> dict:
        case = self.decided({"method": "electronic"}, result_file=base64.b64encode(PDF).decode())
        seen = self.api.get(f"/api/v1/cases/{case['case_no']}", as_="officer").json
        return {**case, "code": seen["electronic_result"]["verification_code"]}

    def delivered(self) -> dict:
        case = self.decided_electronically()
        self.now()
        assert self.api.client.get(case["delivery_url"]).status_code == 200
        return case

    def rated_badly(self) -> dict:
        case = self.delivered()
        self.now()
        r = self.api.post(f"/api/v1/track/{case['case_no']}/evaluation", {"check": case["check_code"], "score": 2})
        assert r.status_code == 201, r.get_json()
        return case

    def with_a_file(self) -> dict:
        """Collected with its application form as a scan (issue 16), the scan uploaded."""
        case = self.collected(intake_body(materials=[
            {"code": "application_form", "copies": 1, "original": True, "travels": "file"},
            {"code": "id_card", "copies": 1, "original": False}]))
        made = _upload(self, "clerk", case)
        assert made.status_code == 201, made.get_json()
        return {**case, "file_id": made.json["files"][0]["id"]}

    def joint_accepted(self) -> dict:
        """多地联办: a household move from 忻府区 (the hall's county, the 迁出地) to 小店区 (the own officer's, the
        迁入地), received and accepted by the own officer: its first step runs there."""
        return self.accepted(permit_body(matter_code="GA-HKQY-01", applicant=person(division_code="140902"),
                                         materials=[{"code": c, "copies": 1, "original": c == "application_form"}
                                                    for c in ("application_form", "id_card", "hukou_book",
                                                              "spouse_hukou_book", "marriage_cert")]))

    def joint_settling(self) -> dict:
        """The move approved, 忻府区's police done with theirs, the 户籍档案 received back at 小店区: the last step
        waits for the own officer to accept it."""
        case = self.joint_accepted()
        pdf = base64.b64encode(PDF).decode()
        self._post(f"/api/v1/cases/{case['case_no']}/steps/approve/completion",
                   {"files": [{"code": "move_permit", "data": pdf}]})
        self._post(f"/api/v1/cases/{case['case_no']}/steps/move_out/accept", who="officer_xz")
        made = self._post(f"/api/v1/cases/{case['case_no']}/steps/move_out/completion",
                          {"files": [{"code": "migration_cert", "data": pdf}]}, who="officer_xz")
        archive = made["transfer_packets"][0]["tracking_no"]
        self.roles["officer_xz"] = "officer"
        self._done("officer_xz", archive, "dispatched")
        self._done("officer", archive, "received")
        return case

    def on_sheet(self) -> dict:
        case = self.collected()
        made = self._post("/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": [case["tracking_no"]]},
                          who="clerk")
        return {**case, "manifest_no": made["manifest_no"]}

    def handed_over(self) -> dict:
        case = self.on_sheet()
        result = self.scan("courier", case["manifest_no"], "dispatched", sheet=True)
        assert result["status"] == "recorded", result
        return case


# -- each row: the resource it needs, and the call --------------------------------------------------

def _scan(type_: str, office: str | None = None, **extra):
    """A scan row: the verdict on one scan of the resource's packet (or its sheet)."""
    def call(w: World, who, res):
        if who is None:
            r = w.api.post("/api/v1/scans", {"scans": [{"event_id": str(uuid.uuid4()), "tracking_no": res["number"],
                                                        "type": type_, "at": w.now()}]})
            return r.status_code
        sheet = "manifest_no" in res
        r = w.api.post("/api/v1/scans", {"scans": [{
            "event_id": str(uuid.uuid4()), "manifest_no" if sheet else "tracking_no": res["number"], "type": type_,
            "at": w.now(), "office_code": office if w.roles[who] == "courier" else None, **extra}]}, as_=who)
        if r.status_code != 200:
            return r.status_code
        result = r.json["results"][0]
        if result["status"] == "recorded":
            return "rec"
        code = result["error"]["code"]
        if sheet and result.get("packets"):  # the sheet was taken, its one packet refused
            code = result["packets"][0]["error"]["code"]
        return {"forbidden": "forb", "wrong_office": "wrong"}.get(code, code)
    return call


def _get(path: str):
    return lambda w, who, res: w.api.get("/api/v1" + path.format(**res), as_=who).status_code


def _post(path: str, body: dict | None = None):
    return lambda w, who, res: w.api.post("/api/v1" + path.format(**res), body, as_=who).status_code


def _upload(w: World, who, res):
    """A scan of the case's application form, as the window's page or a client uploads it (multipart)."""
    from tests.scans_made import pdf_scan
    w.now()
    return w.api.client.post(f"/api/v1/cases/{res['case_no']}/files", headers=w.api._headers(who, None),
                             data={"material_code": "application_form", "file": (io.BytesIO(pdf_scan()), "申请表.pdf")},
                             content_type="multipart/form-data")


def _token(w: World, who, res):
    username = who or "nobody"
    return w.api.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD if who
                                                          else "wrong-password"}).status_code


def _stranger_ping() -> dict:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from tracking.federation.envelope import NodeKeys, build
    return build(NodeKeys("110000", Ed25519PrivateKey.generate(), X25519PrivateKey.generate()), to="140000",
                 type="node.ping", body={})


def _directory_as_node(w: World, who, res) -> int:
    """The installation made a node for the call: its directory is public, the signature vouches for it."""
    import secrets
    settings = w.api.client.application.config["TONGBAN"]
    before = (settings.node, settings.node_prefixes, settings.node_signing_key, settings.node_sealing_key)
    settings.node, settings.node_prefixes = "140000", ("14",)
    settings.node_signing_key, settings.node_sealing_key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    try:
        return w.api.get("/api/v1/federation/directory?node=110000", as_=who).status_code
    finally:
        settings.node, settings.node_prefixes, settings.node_signing_key, settings.node_sealing_key = before


def _postage_statement(w: World, who, res) -> int:
    """The statement of the case's office that the caller would keep: an officer's the owning office's,
    everyone else's the collecting hall's (the courier's hub pays no postage)."""
    side = "owning_office" if who and w.roles[who] == "officer" else "collecting_office"
    return w.api.get(f"/api/v1/offices/{res[side]['code']}/postage?format=csv", as_=who).status_code


NEW_CASE = intake_body()
OK_ID = {"identity_check": {"method": "id_card_reader", "passed": True}}

ROWS = {  # label: (the resource's state, the call, whether a success changes it)
    "POST /auth/token": (None, _token, False),
    "GET /offices": (None, _get("/offices"), False),
    "GET /matters": (None, _get("/matters?mode=proxy"), False),
    "GET /openapi.json": (None, _get("/openapi.json"), False),
    "POST /cases": (None, _post("/cases", NEW_CASE), False),
    "GET /cases": (None, _get("/cases"), False),
    "GET /cases/{case_no}": ("collected", _get("/cases/{case_no}"), False),
    "POST /cases/{case_no}/accept": ("received", _post("/cases/{case_no}/accept"), True),
    "POST /cases/{case_no}/supplement-requests": ("received", _post("/cases/{case_no}/supplement-requests",
                                                                    {"materials": ["id_card"]}), True),
    "POST /cases/{case_no}/supplements": ("supplement_requested", _post(
        "/cases/{case_no}/supplements", {"materials": [{"code": "id_card", "copies": 1, "original": False}]}), True),
    "POST /cases/{case_no}/reject": ("received", _post("/cases/{case_no}/reject", {"reason": "不属于本机关管辖"}), True),
    "POST /cases/{case_no}/withdraw": ("collected", _post("/cases/{case_no}/withdraw", {"reason": "申请人撤回"}), True),
    "POST /cases/{case_no}/decision": ("accepted", _post("/cases/{case_no}/decision",
                                                         {"outcome": "approved", "note": "准予"}), True),
    "POST /cases/{case_no}/follow-up": ("rated_badly", _post("/cases/{case_no}/follow-up",
                                                             {"note": "已电话回访申请人并致歉"}), True),
    "POST /cases/{case_no}/steps/{code}/accept": ("joint_settling", _post("/cases/{case_no}/steps/settle/accept"), True),
    "POST /cases/{case_no}/steps/{code}/completion": ("joint_accepted", _post(
        "/cases/{case_no}/steps/approve/completion", {"files": [{"code": "move_permit",
                                                                 "data": base64.b64encode(PDF).decode()}]}), True),
    "POST /cases/{case_no}/steps/{code}/supplement-request": ("joint_accepted", _post(
        "/cases/{case_no}/steps/approve/supplement-request", {"materials": ["residence_proof"]}), True),
    "POST /cases/{case_no}/steps/{code}/refusal": ("joint_accepted", _post("/cases/{case_no}/steps/approve/refusal",
                                                                           {"reason": "不符合投靠迁入条件"}), True),
    "POST /cases/{case_no}/handover-to-applicant": ("ready_for_pickup",
                                                    _post("/cases/{case_no}/handover-to-applicant", OK_ID), True),
    "GET /cases/{case_no}/receipt.pdf": ("collected", _get("/cases/{case_no}/receipt.pdf"), False),
    "POST /cases/{case_no}/files": ("collected", lambda w, who, res: _upload(w, who, res).status_code, True),
    "GET /cases/{case_no}/files": ("with_a_file", _get("/cases/{case_no}/files"), False),
    "GET /files/{file_id}": ("with_a_file", _get("/files/{file_id}"), False),
    "GET /files/{file_id}/thumbnail.png": ("with_a_file", _get("/files/{file_id}/thumbnail.png"), False),
    "GET /cases/{case_no}/supplement-notice.pdf": ("supplement_requested",
                                                   _get("/cases/{case_no}/supplement-notice.pdf"), False),
    "GET /cases/{case_no}/rejection-notice.pdf": ("rejected", _get("/cases/{case_no}/rejection-notice.pdf"), False),
    "GET /cases/{case_no}/acceptance-notice.pdf": ("accepted", _get("/cases/{case_no}/acceptance-notice.pdf"), False),
    "GET /cases/{case_no}/decision-notice.pdf": ("refused", _get("/cases/{case_no}/decision-notice.pdf"), False),
    "POST /cases/{case_no}/extension": ("accepted_permit", _post("/cases/{case_no}/extension", {
        "days": 5, "reason": "需要实地核查", "approved_by": "张局长"}), True),
    "GET /packets/{tracking_no}": ("dispatched", _get("/packets/{tracking_no}"), False),
    "POST /packets/{tracking_no}/replacement": ("lost", _post("/packets/{tracking_no}/replacement"), True),
    "GET /packets/{tracking_no}/label.pdf": ("collected", _get("/packets/{tracking_no}/label.pdf"), False),
    "GET /packets/{tracking_no}/label.zpl": ("collected", _get("/packets/{tracking_no}/label.zpl"), False),
    "GET /exceptions": (None, _get("/exceptions"), False),
    "POST /manifests": ("collected", lambda w, who, res: w.api.post(
        "/api/v1/manifests", {"to_party": "courier:courier", "tracking_nos": [res["tracking_no"]]},
        as_=who).status_code, True),
    "GET /manifests/{manifest_no}": ("on_sheet", _get("/manifests/{manifest_no}"), False),
    "GET /manifests/{manifest_no}.pdf": ("on_sheet", _get("/manifests/{manifest_no}.pdf"), False),
    "GET /manifests/{manifest_no}/labels.pdf": ("on_sheet", _get("/manifests/{manifest_no}/labels.pdf"), False),
    "POST /manifests/{manifest_no}/cancel": ("on_sheet", _post("/manifests/{manifest_no}/cancel"), True),
    "POST /manifests/{manifest_no}/receipt": ("handed_over", lambda w, who, res: w.api.post(
        f"/api/v1/manifests/{res['manifest_no']}/receipt", {"tracking_nos": [res["tracking_no"]]},
        as_=who).status_code, True),
    "GET /courier/deliveries": (None, _get("/courier/deliveries"), False),  # each courier: their own list
    "GET /courier/today": (None, _get("/courier/today"), False),  # each courier: their own day
    "GET /track/{number}": ("collected", lambda w, who, res: w.api.get(
        f"/api/v1/track/{res['case_no']}?check={res['check_code']}", as_=who).status_code, False),
    "POST /track/{case_no}/evaluation": ("delivered", lambda w, who, res: w.api.post(
        f"/api/v1/track/{res['case_no']}/evaluation", {"check": res["check_code"], "score": 5}).status_code, True),
    # a node's message signed by a key no peer lists: a staff token opens nothing here
    "POST /federation/messages": (None, lambda w, who, res: w.api.post("/api/v1/federation/messages", _stranger_ping(),
                                                                      as_=who).status_code, False),
    "POST /cases/{case_no}/result-link": ("decided_electronically", _post("/cases/{case_no}/result-link"), True),
    "POST /cases/{case_no}/result-revocation": ("decided_electronically", _post(
        "/cases/{case_no}/result-revocation", {"reason": "决定已依法撤销"}), True),
    "GET /cases/{case_no}/result-file": ("decided_electronically", _get("/cases/{case_no}/result-file"), False),
    "GET /verify/{code}": ("decided_electronically", _get("/verify/{code}"), False),
    "GET /deliveries/{token}": ("decided_electronically",
                                lambda w, who, res: w.api.get(res["delivery_url"], as_=who).status_code, False),
    "GET /federation/links": (None, _get("/federation/links"), False),
    "GET /federation/directory": (None, _directory_as_node, False),
    # the embedded default carries with our own couriers: nothing to ask a carrier for, no carrier to push
    "POST /carriers/pickups": (None, lambda w, who, res: w.api.post("/api/v1/carriers/pickups", {},
                                                                    as_=who).status_code, False),
    "POST /carriers/{name}/events": (None, lambda w, who, res: w.api.client.post(
        "/api/v1/carriers/ems/events", data=b"msgBody=%7B%7D", headers=w.api._headers(who, None),
        content_type="application/x-www-form-urlencoded").status_code, False),
    "GET /offices/{office_code}/postage": ("dispatched", _postage_statement, False),
    "POST /scans dispatched": ("collected", _scan("dispatched"), True),
    "POST /scans dispatched (handover sheet)": ("on_sheet", _scan("dispatched"), True),
    "POST /scans arrived_hub": ("dispatched", _scan("arrived_hub"), True),
    "POST /scans departed_hub": ("at_hub", _scan("departed_hub"), True),
    "POST /scans out_for_delivery": ("result_dispatched", _scan("out_for_delivery"), True),
    "POST /scans delivered (home)": ("result_out", _scan("delivered"), True),
    "POST /scans delivered (office)": ("at_hub", _scan("delivered", "D140105-GA"), True),
    "POST /scans received": ("dispatched", _scan("received"), True),
    "POST /scans exception lost": ("at_hub", _scan("exception", reason="lost"), True),
}


def _resource(w: World, state: str | None) -> dict:
    """The case a row needs, with `number`: what its scans name (the sheet, the result or the outbound)."""
    if state is None:
        return {}
    case = getattr(w, state)()
    return {**case, "number": case.get("manifest_no") or case.get("result_no") or case["tracking_no"]}


def _snapshot(db, res: dict) -> tuple:
    """What a refused call must leave as it was: the case, its events and packets, the sheets."""
    if not res:
        return ()
    db.rollback()
    case = db.exec(select(Case).where(Case.case_no == res["case_no"])).one()
    packets = rows(db, select(Packet.tracking_no, Packet.status).where(Packet.case_id == case.id).order_by(Packet.id))
    def count(table, *where) -> int:
        return db.exec(select(func.count()).select_from(table).where(*where)).one()
    return (case.status, case.flags, count(CaseEvent, CaseEvent.case_id == case.id), [tuple(p) for p in packets],
            count(PacketEvent, PacketEvent.packet_id.in_(select(Packet.id).where(Packet.case_id == case.id))),
            count(ManifestEvent), count(Evaluation))


def _render(table: dict[str, list[str]], actual: dict[str, list[str]]) -> str:
    width = max(map(len, table)) + 2
    head = "".join(f"{c:>18}" for c in COLUMNS)
    lines = [f"{'':<{width}}{head}"]
    for label, expected in table.items():
        cells = [e if a == e else f"{e}≠{a}!" for e, a in zip(expected, actual.get(label, ["?"] * len(expected)))]
        lines.append(f"{label:<{width}}" + "".join(f"{c:>18}" for c in cells))
    return "\n".join(lines)


def test_every_role_gets_the_expected_answer_from_every_endpoint_on_its_own_and_another_office(api, frozen, db):
    for user in filter(None, USERS.values()):
        api.user(*user)
    api.user("officer_xz", "officer", "D140902-GA")  # 多地联办: moves a joint case on to the own officer's step
    w = World(api, frozen)
    table = _table()
    assert set(table) == set(ROWS), set(table) ^ set(ROWS)
    actual: dict[str, list[str]] = {}
    unchanged: list[str] = []
    for label, expected in table.items():
        state, call, changes = ROWS[label]
        res = None
        cells = []
        for column in COLUMNS:
            if res is None:
                res = _resource(w, state)
            who = USERS[column][0] if USERS[column] else None
            # each cell calls from an address of its own: the per-client limits are not what is asked here
            api.client.environ_base["REMOTE_ADDR"] = f"10.250.{len(actual)}.{len(cells) + 1}"
            before = _snapshot(db, res)
            got = str(call(w, who, res))
            cells.append(got)
            succeeded = got == "rec" or got.startswith("2")
            if not succeeded and _snapshot(db, res) != before:
                unchanged.append(f"{label} [{column}]: a refused call changed the case")
            if succeeded and changes:
                res = None  # the next column gets a fresh one
        actual[label] = cells
    wrong = [(label, column) for label in table for column, e, a in zip(COLUMNS, table[label], actual[label])
             if e != a]
    assert not wrong and not unchanged, (
        f"\n{len(wrong)} wrong cells (expected≠actual):\n{_render(table, actual)}\n" + "\n".join(unchanged))


def test_the_matrix_names_every_api_route_the_app_serves(client):
    """A new route needs its row: nobody is forgotten in the matrix."""
    served = set()
    for rule in client.application.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        paths = [rule.rule[len("/api/v1"):]]
        for name, converter in rule._converters.items():  # any(a, b) stands for one path per choice
            choices = getattr(converter, "items", None)
            if choices:
                pattern = re.compile(rf"<any\([^)]*\):{name}>")
                paths = [pattern.sub(choice, p) for p in paths for choice in sorted(choices)]
        for path in paths:
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", path)
            served |= {f"{method} {path}" for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = {" ".join(label.split()[:2]) for label in _table()}
    assert served <= covered, sorted(served - covered)
