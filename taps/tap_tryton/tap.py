"""tap-tryton: a Singer tap reading a Tryton ERP over its JSON-RPC API."""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Any

import click
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.plugin_base import SingerCommand

from tap_tryton.client import ConnectionSettings, TrytonClient
from tap_tryton.errors import TapTrytonError
from tap_tryton.streams import STREAM_CLASSES

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "url",
        th.StringType,
        required=True,
        description="Base URL of the Tryton server, e.g. https://erp.example.com "
        "(the tap posts to <url>/<database>/rpc/).",
    ),
    th.Property("database", th.StringType, required=True, description="Tryton database name."),
    th.Property("username", th.StringType, required=True, description="Tryton user login."),
    th.Property(
        "password",
        th.StringType,
        required=True,
        secret=True,
        description="The user's password (never logged).",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        description="Read only records changed at or after this instant (UTC) on a first run.",
    ),
    th.Property(
        "page_size",
        th.IntegerType,
        default=500,
        description="Records per search_read call.",
    ),
    th.Property(
        "request_timeout",
        th.NumberType,
        default=60,
        description="Seconds to wait for one answer.",
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=5,
        description="Retries of a call when Tryton is down, unreachable or busy.",
    ),
    th.Property(
        "retry_backoff_seconds",
        th.NumberType,
        default=1.0,
        description="First wait between retries; doubles each retry (at most 30 s).",
    ),
).to_dict()


class TapTryton(Tap):
    """Reads parties, addresses, contact mechanisms, sale orders and opportunities."""

    name = "tap-tryton"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = MsgSpecWriter

    @cached_property
    def client(self) -> TrytonClient:
        """One JSON-RPC client (one Tryton session) shared by every stream."""
        config = self.config
        settings = ConnectionSettings(
            url=str(config["url"]),
            database=str(config["database"]),
            username=str(config["username"]),
            password=str(config["password"]),
            timeout=float(config.get("request_timeout", 60)),
            max_retries=int(config.get("max_retries", 5)),
            retry_backoff=float(config.get("retry_backoff_seconds", 1.0)),
        )
        return TrytonClient(settings, self.logger)

    def discover_streams(self) -> list[Stream]:
        """The five streams; the catalog is static, so discovery needs no server."""
        return [stream_class(tap=self) for stream_class in STREAM_CLASSES]

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, with our errors rendered as one line and an exit code."""
        command = super().get_singer_command()
        command.__class__ = _TapTrytonCommand
        return command


class _TapTrytonCommand(SingerCommand):
    """Renders a TapTrytonError as one log line (no traceback) and exits with its code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except TapTrytonError as exc:
            self.logger.error("%s", exc.render())
            sys.stdout.flush()
            sys.exit(exc.exit_code)
