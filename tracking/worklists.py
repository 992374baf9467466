"""What is on an office's desk today: the packets leaving it and arriving at it, the cases waiting
for someone there. Plain queries over cases and packets, scoped to one office."""
from __future__ import annotations

# -- the collecting window: packets leaving, pick-ups, … --------------------------------------

# -- the owning office: packets on their way to us, arrived, waiting for confirmation, … ----------
