"""Where a peer's federation endpoints are, and fetching its directory: a leaf module, so the tasks can
reach a peer without importing the views."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlencode

PREFIX = "/api/v1/federation"


def directory_url(base_url: str) -> str:
    """Where a peer listening at `base_url` publishes its office directory."""
    return f"{base_url.rstrip('/')}{PREFIX}/directory"


def directory_fetcher(settings):
    """GETs a peer's directory as JSON, asking as this node; a network failure or a non-200 answer raises."""
    def fetch(peer) -> dict:
        url = f"{directory_url(peer.base_url)}?{urlencode({'node': settings.node})}"
        try:
            with urllib.request.urlopen(url, timeout=settings.federation_timeout_seconds) as answer:  # noqa: S310
                return json.loads(answer.read(8 * 1024 * 1024))
        except urllib.error.HTTPError as e:
            raise OSError(f"HTTP {e.code}") from None
    return fetch
