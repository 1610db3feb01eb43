"""Write fixed-width or RDW files from dicts: the inverse of the tap (fixtures, the demo)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tap_legacy.codepages import normalize_codepage
from tap_legacy.copybook.parser import parse_copybook
from tap_legacy.copybook.plan import CodecOptions, compile_plan
from tap_legacy.copybook.records import rdw_encode


def encode_records(
    copybook_text: str,
    records: Iterable[Mapping[str, Any]],
    codepage: str = "cp037",
    *,
    record_format: str = "fixed",
    byteorder: str = "big",
    native_byteorder: str | None = None,
) -> bytes:
    """Encode ``records`` (dicts keyed by the tap's field names) into a data file.

    ``record_format`` is ``fixed`` (every record padded to the copybook's record length) or
    ``rdw`` (variable records, each prefixed with its record descriptor word). Numbers are
    ints, ``Decimal`` or decimal strings and must fit their PICTURE exactly (no rounding);
    a value that does not fit raises ``ValueError`` naming the field. With REDEFINES, the
    alternative whose fields appear in the dict is written. ``byteorder`` applies to COMP,
    COMP-4 and BINARY, ``native_byteorder`` (default: the same) to COMP-5.
    """
    options = CodecOptions(
        codepage=normalize_codepage(codepage),
        byteorder=byteorder,
        native_byteorder=native_byteorder,
    )
    runner = compile_plan(parse_copybook(copybook_text), options)
    if record_format == "fixed":
        return b"".join(runner.encode(record, pad=True) for record in records)
    if record_format == "rdw":
        return rdw_encode([runner.encode(record, pad=False) for record in records])
    raise ValueError(f"record_format must be 'fixed' or 'rdw', not {record_format!r}")


def field_names(copybook_text: str) -> Sequence[str]:
    """The output field names the tap emits for ``copybook_text`` (in layout order)."""
    runner = compile_plan(parse_copybook(copybook_text), CodecOptions())
    return runner.keys
