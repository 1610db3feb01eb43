"""tap-spreadsheet: a Singer tap reading customer lists from spreadsheet files."""

from __future__ import annotations
