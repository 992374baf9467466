"""The case model: tables, states, records, the pure clock, lookups and access rules."""

# the session hooks that keep every case's stored stage deadlines: registered whenever the model is used
from tracking.model import stage_store  # noqa: E402,F401
