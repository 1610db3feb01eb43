"""tap-legacy: legacy customer data (copybook/EBCDIC, fixed-width, DBF, vCard, LDIF, XML)."""

from __future__ import annotations

import sys
from typing import Any

import click
from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from tap_legacy.errors import LegacyConfigError, LegacyError, LegacySourceError
from tap_legacy.readers.base import SourceReader
from tap_legacy.readers.copybook_reader import CopybookReader
from tap_legacy.readers.dbf_reader import DbfReader
from tap_legacy.readers.fixed_width_reader import FixedWidthReader
from tap_legacy.readers.ldif_reader import LdifReader
from tap_legacy.readers.vcard_reader import VcardReader
from tap_legacy.readers.xml_reader import XmlReader
from tap_legacy.streams import LegacyStream
from tap_legacy.writer import BufferedMsgSpecWriter

READERS: dict[str, type[SourceReader]] = {
    reader.format_name: reader
    for reader in (
        CopybookReader,
        FixedWidthReader,
        DbfReader,
        VcardReader,
        LdifReader,
        XmlReader,
    )
}

#: exit codes (BSD sysexits): bad input data, bad configuration
EXIT_DATA_ERROR = 65
EXIT_CONFIG_ERROR = 78


STREAM_SETTINGS = th.ObjectType(
    th.Property("name", th.StringType, required=True, description="Singer stream name."),
    th.Property(
        "format",
        th.StringType,
        required=True,
        allowed_values=["copybook", "fixed_width", "dbf", "vcard", "ldif", "xml"],  # = READERS
        description="Source format.",
    ),
    th.Property("path", th.StringType, required=True, description="Data file or glob."),
    th.Property(
        "key_properties",
        th.ArrayType(th.StringType),
        description="Primary key; default _source_file + _record_number.",
    ),
    # copybook
    th.Property("copybook", th.StringType, description="copybook: path of the COBOL copybook."),
    th.Property(
        "codepage",
        th.StringType,
        description="copybook/dbf: code page (cp037, cp500, cp273, cp1141, ascii, cp1252 ...).",
    ),
    th.Property(
        "record_format", th.StringType, description="copybook: fixed (default), rdw, rdw_blocked."
    ),
    th.Property(
        "record_length", th.IntegerType, description="copybook: fixed record length override."
    ),
    th.Property(
        "record_type_field", th.StringType, description="copybook: field holding the record type."
    ),
    th.Property(
        "record_types",
        th.ObjectType(additional_properties=True),
        description="copybook: record type value -> REDEFINES alternative (or 01 record) name(s).",
    ),
    th.Property("strip_text", th.BooleanType, description="copybook: strip trailing blanks."),
    th.Property(
        "binary_byte_order", th.StringType, description="copybook: big (default) or little."
    ),
    th.Property(
        "native_byte_order",
        th.StringType,
        description="copybook: COMP-5 byte order; default binary_byte_order.",
    ),
    th.Property(
        "partial_record",
        th.StringType,
        description="copybook: fail (default) or quarantine a truncated last record.",
    ),
    th.Property(
        "codepage_check", th.BooleanType, description="copybook: sanity-check the code page."
    ),
    th.Property("copybook_encoding", th.StringType, description="copybook: text encoding."),
    # fixed width
    th.Property("layout", th.StringType, description="fixed_width: YAML layout file."),
    th.Property(
        "fields",
        th.CustomType({"type": ["array", "object", "null"]}),
        description="fixed_width: inline layout; xml: field name -> XPath.",
    ),
    th.Property("encoding", th.StringType, description="text encoding of the data file."),
    th.Property("skip_lines", th.IntegerType, description="fixed_width: header lines to skip."),
    # dbf
    th.Property("memo_path", th.StringType, description="dbf: memo file if not next to the DBF."),
    # xml
    th.Property("record_path", th.StringType, description="xml: XPath of one record element."),
    th.Property(
        "namespaces",
        th.ObjectType(additional_properties=True),
        description="xml: prefix -> namespace URI.",
    ),
)


class TapLegacy(Tap):
    """Singer tap for legacy customer data files."""

    name = "tap-legacy"
    package_name = "crmhub"  # the distribution that ships this tap (for --version/--about)
    #: the running tap's writer, flushed when a legacy-input error ends the run
    _active_writer: Any = None
    message_writer_class = BufferedMsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "streams",
            th.ArrayType(STREAM_SETTINGS),
            required=True,
            description="One entry per source: name, format, path and the format's options.",
        ),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        """One stream per configured source."""
        streams: list[Stream] = []
        names: set[str] = set()
        for stream_config in self.config.get("streams", []):
            name = stream_config["name"]
            if name in names:
                raise LegacyConfigError(f"stream name {name!r} is used twice")
            names.add(name)
            reader_class = READERS.get(stream_config["format"])
            if reader_class is None:
                raise LegacyConfigError(
                    f"stream {name!r}: unknown format {stream_config['format']!r}",
                    hint=f"use one of {', '.join(sorted(READERS))}",
                )
            reader = reader_class(stream_config, self.logger)
            streams.append(LegacyStream(self, stream_config, reader))
        return streams

    @classmethod
    def _report(cls, exc: LegacyError) -> None:
        cls.logger.error("tap-legacy: %s", exc)
        code = EXIT_DATA_ERROR if isinstance(exc, LegacySourceError) else EXIT_CONFIG_ERROR
        sys.stdout.flush()
        raise click.exceptions.Exit(code)

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Run the tap; a legacy-input error ends it with one clear line and a non-zero exit."""
        try:
            super().invoke(*args, **kwargs)
        except LegacyError as exc:
            cls._flush_writer()
            cls._report(exc)

    @classmethod
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        """Discovery; a copybook syntax error reports line and column instead of a traceback."""
        try:
            super().cb_discover(ctx, param, value)
        except LegacyError as exc:
            cls._report(exc)

    @classmethod
    def _flush_writer(cls) -> None:
        writer = getattr(cls, "_active_writer", None)
        if isinstance(writer, BufferedMsgSpecWriter):
            writer.flush()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        TapLegacy._active_writer = self.message_writer


if __name__ == "__main__":
    TapLegacy.cli()
