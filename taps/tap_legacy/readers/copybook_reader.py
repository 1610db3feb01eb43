"""COBOL copybook + fixed-length or RDW data files (EBCDIC or ASCII)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tap_legacy.codepages import is_ebcdic, normalize_codepage
from tap_legacy.copybook.parser import parse_copybook
from tap_legacy.copybook.plan import CodecOptions, PlanRunner, compile_plan
from tap_legacy.copybook.records import fixed_records, rdw_records
from tap_legacy.errors import LegacyConfigError, LegacySourceError, RecordDecodeError
from tap_legacy.lineage import (
    BYTE_OFFSET,
    LINE_NUMBER,
    RAW_HEX,
    RECORD_ERROR,
    RECORD_NUMBER,
    SOURCE_FILE,
    error_record,
)
from tap_legacy.readers.base import SourceReader

RECORD_FORMATS = ("fixed", "rdw", "rdw_blocked")
#: records sampled at the start of each file to catch a wrong code page early
CODEPAGE_SAMPLE = 20


class CopybookReader(SourceReader):
    """Decodes records described by a COBOL copybook."""

    format_name = "copybook"

    def __init__(self, options: Mapping[str, Any], logger: logging.Logger) -> None:
        super().__init__(options, logger)
        copybook_path = self.require("copybook")
        try:
            text = (
                Path(copybook_path)
                .expanduser()
                .read_text(encoding=self.option("copybook_encoding", "utf-8"))
            )
        except OSError as exc:
            raise LegacyConfigError(
                f"cannot read copybook {copybook_path!r}: {exc.strerror}"
            ) from None
        self.codepage = normalize_codepage(self.option("codepage", "cp037"))
        self.record_format = self.option("record_format", "fixed")
        if self.record_format not in RECORD_FORMATS:
            raise LegacyConfigError(
                f"record_format {self.record_format!r} is not one of {', '.join(RECORD_FORMATS)}"
            )
        self.partial = self.option("partial_record", "fail")
        if self.partial not in ("fail", "quarantine"):
            raise LegacyConfigError("partial_record must be 'fail' or 'quarantine'")
        byteorder = self.option("binary_byte_order", "big")
        native = self.option("native_byte_order", byteorder)
        if byteorder not in ("big", "little") or native not in ("big", "little"):
            raise LegacyConfigError(
                "binary_byte_order and native_byte_order must be 'big' or 'little'"
            )
        self.copybook = parse_copybook(text, str(copybook_path))
        self.runner: PlanRunner = compile_plan(
            self.copybook,
            CodecOptions(self.codepage, bool(self.option("strip_text", True)), byteorder, native),
            self.option("record_type_field"),
            self.option("record_types"),
        )
        self.record_length = int(self.option("record_length", self.copybook.record_length))
        if self.record_length < self.copybook.record_length and self.record_format == "fixed":
            raise LegacyConfigError(
                f"record_length {self.record_length} is shorter than the copybook's layout "
                f"({self.copybook.record_length} bytes)"
            )
        self.check_codepage = bool(self.option("codepage_check", True))
        self.keys = self.runner.keys

    def properties(self, sample_path: str | None) -> dict[str, Any]:
        """Schema from the copybook: text as strings, integers, decimals as exact strings."""
        return self.runner.plan.properties()

    def _frames(self, path: str, handle: Any) -> Iterator[tuple[int, bytes]]:
        if self.record_format == "fixed":
            size = os.fstat(handle.fileno()).st_size
            if size % self.record_length and self.partial == "fail":
                # Fail before emitting anything: a misaligned file decodes to garbage.
                last = size - size % self.record_length
                raise LegacySourceError(
                    f"the file length ({size} bytes) is not a multiple of the record length "
                    f"{self.record_length}: the last record has only {size - last} bytes",
                    file=path,
                    record_number=last // self.record_length + 1,
                    byte_offset=last,
                    hint="check the copybook against the file, whether it has RDWs "
                    "(record_format: rdw) or line ends; or set partial_record: quarantine",
                )
            return fixed_records(handle, self.record_length, path, self.partial)
        return rdw_records(handle, path, self.record_format == "rdw_blocked", self.partial)

    def read(self, path: str) -> Iterator[dict[str, Any]]:
        """Decode every record of ``path``; undecodable ones become error records."""
        decode = self.runner.decode
        record_length = self.record_length if self.record_format == "fixed" else None
        with open(path, "rb") as handle:
            number = 0
            for offset, raw in self._frames(path, handle):
                number += 1
                if self.check_codepage and number <= CODEPAGE_SAMPLE:
                    self._check_codepage(path, number, offset, raw)
                if record_length is not None and len(raw) != record_length:
                    yield error_record(
                        self.keys,
                        file=path,
                        number=number,
                        offset=offset,
                        reason=f"partial record: {len(raw)} of {record_length} bytes at the "
                        "end of the file",
                        raw=raw,
                    )
                    continue
                try:
                    record = decode(raw)
                except RecordDecodeError as exc:
                    yield error_record(
                        self.keys,
                        file=path,
                        number=number,
                        offset=offset,
                        reason=f"{exc.reason()} (file offset {offset + (exc.offset or 0)})",
                        raw=raw,
                    )
                    continue
                record[SOURCE_FILE] = path
                record[RECORD_NUMBER] = number
                record[BYTE_OFFSET] = offset
                record[LINE_NUMBER] = None
                record[RECORD_ERROR] = None
                record[RAW_HEX] = None
                yield record

    def _check_codepage(self, path: str, number: int, offset: int, raw: bytes) -> None:
        """Stop early when text fields decode to control characters: the code page is wrong."""
        text_steps = [
            s
            for s in self.runner.plan.steps
            if s.item.picture is not None and s.item.picture.category == "alphanumeric"
        ]
        sample = b"".join(raw[s.start : s.end] for s in text_steps if s.end <= len(raw))
        if len(sample) < 8:
            return
        decoded = sample.decode(self.codepage, errors="replace")
        bad = sum(
            1
            for ch in decoded
            if ch == "\ufffd" or (ord(ch) < 32 and ch != "\x00") or 0x7F <= ord(ch) < 0xA0
        )
        if bad / len(decoded) <= 0.2:
            return
        looks_ebcdic = sample.count(0x40) > sample.count(0x20)
        guess = "EBCDIC (blanks are 0x40)" if looks_ebcdic else "ASCII (blanks are 0x20)"
        configured = "EBCDIC" if is_ebcdic(self.codepage) else "ASCII-family"
        raise LegacySourceError(
            f"code page {self.codepage} ({configured}) looks wrong: {bad} of {len(decoded)} "
            f"characters in the text fields are control characters; the data looks like {guess}",
            file=path,
            record_number=number,
            byte_offset=offset,
            hint="set 'codepage' (cp037, cp500, cp273, cp1141 for EBCDIC; ascii, latin-1, "
            "cp1252 for PC files), or codepage_check: false to skip this check",
        )
