"""The pages for people, one blueprint per audience (window, office, track, supervise, admin)."""
