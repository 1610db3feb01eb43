"""COBOL copybooks: parse, decode fixed-width/RDW records, and encode records (for fixtures)."""

from __future__ import annotations

from tap_legacy.copybook.encode import encode_records, field_names
from tap_legacy.copybook.parser import Copybook, parse_copybook
from tap_legacy.copybook.plan import CodecOptions, PlanRunner, compile_plan

__all__ = [
    "CodecOptions",
    "Copybook",
    "PlanRunner",
    "compile_plan",
    "encode_records",
    "field_names",
    "parse_copybook",
]
