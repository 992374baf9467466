"""What every use case needs besides the session: settings, the sealer, the calendar, the actor."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from config.settings import Settings
from mailing import chain
from tracking.model.sealing import Sealer


@dataclass(frozen=True)
class Actor:
    username: str
    role: str  # clerk | officer | courier | supervisor | admin | system | public
    office_code: str | None = None
    name: str = ""
    txn: str | None = None  # the client's transaction id for this request (its Idempotency-Key)


SYSTEM = Actor("system", "system")


class Addresses(Protocol):
    """The addresses people are sent to, absolute (TONGBAN_PUBLIC_URL + path): the web layer knows
    its routes, the core only asks for an address (QR codes, links in messages)."""

    def tracking(self, number: str) -> str: ...

    def delivery(self, token: str) -> str: ...

    def peer_inbox(self, base_url: str) -> str:
        """Where a peer node takes messages, under its base URL."""
        ...


class Env:
    def __init__(self, settings: Settings, addresses: Addresses):
        self.settings = settings
        self.addresses = addresses
        chain.use_key(settings.chain_key)  # every event this process records is linked under it

    @cached_property
    def sealer(self) -> Sealer:
        return Sealer(self.settings.data_key)
