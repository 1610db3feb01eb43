"""Steward decisions on the master: approve, reject, skip, split, undo (shell and web)."""
