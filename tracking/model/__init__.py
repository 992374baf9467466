"""The case model: tables, states, records, the pure clock, lookups and access rules."""
