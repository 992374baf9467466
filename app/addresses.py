"""Where people are sent: the public tracking page and electronic-result downloads, absolute."""
from __future__ import annotations

from config.settings import Settings


class WebAddresses:
    def __init__(self, settings: Settings):
        self.settings = settings  # read at each call: a test server may learn its port after start-up

    def tracking(self, number: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/track/{number}"

    def delivery(self, token: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}{delivery_path(token)}"


def delivery_path(token: str) -> str:
    return f"/api/v1/deliveries/{token}"


def timeline_answer(timeline: dict) -> dict:
    """The public timeline as answered: the electronic result's token becomes its download address."""
    result = timeline.get("electronic_result")
    if result is not None:
        token = result.pop("token")
        result["url"] = delivery_path(token) if token else None
    return timeline
