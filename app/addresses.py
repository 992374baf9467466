"""Where people are sent: the public tracking page and electronic-result downloads, absolute."""
from __future__ import annotations

from flask import url_for

from config.settings import Settings


class WebAddresses:
    def __init__(self, settings: Settings):
        self.settings = settings  # read at each call: a test server may learn its port after start-up

    def tracking(self, number: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/track/{number}"

    def delivery(self, token: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}{delivery_path(token)}"

    def peer_inbox(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/api/v1/federation/messages"


def delivery_path(token: str) -> str:
    return f"/api/v1/deliveries/{token}"


def timeline_answer(timeline: dict) -> dict:
    """The public timeline as answered: the electronic result's token becomes its download address."""
    result = timeline.get("electronic_result")
    if result is not None:
        token = result.pop("token")
        result["url"] = delivery_path(token) if token else None
    return timeline


# -- the documents staff print, as the API answers link them -----------------------------------

def label_path(tracking_no: str) -> str:
    return url_for("api.packet_label_pdf", tracking_no=tracking_no)


def receipt_path(case_no: str) -> str:
    return url_for("api.receipt_pdf", case_no=case_no)


def with_packet_links(view: dict) -> dict:
    view["label_url"] = label_path(view["tracking_no"])
    return view


def with_case_links(view: dict) -> dict:
    """A case view (tracking.reads.views.case_view) with its receipt's and labels' addresses."""
    view["receipt_url"] = receipt_path(view["case_no"])
    view["label_url"] = label_path(view["tracking_no"]) if view.get("tracking_no") else None
    for packet in view.get("packets", []):
        with_packet_links(packet)
    result = view.get("electronic_result")
    if result is not None:  # for the staff of the case's two offices: the page's viewer shows it
        result["file_url"] = url_for("api.result_file", case_no=view["case_no"]) if result.pop("viewable") else None
    return view


def with_manifest_links(view: dict) -> dict:
    view["pdf_url"] = url_for("api.manifest_pdf", manifest_no=view["manifest_no"])
    view["labels_url"] = url_for("api.manifest_labels_pdf", manifest_no=view["manifest_no"])
    return view


# -- materials as files (issue 16) ------------------------------------------------------------------

def with_file_links(row: dict) -> dict:
    """A file row (tracking.reads.case_files) with the addresses to view it and its thumbnail."""
    removed = row["removed_at"] is not None
    row["url"] = None if removed else url_for("api.case_file", file_id=row["id"])
    row["thumbnail_url"] = url_for("api.case_file_thumbnail", file_id=row["id"]) if row.pop("has_thumbnail") else None
    return row


def files_answer(found: dict) -> dict:
    """A case's files (tracking.reads.case_files.case_files) with each file's addresses (the same dicts are
    listed under their materials too)."""
    for row in found["files"]:
        with_file_links(row)
    return found
