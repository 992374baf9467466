"""Use cases that change things. They never commit: the caller owns the unit of work."""
