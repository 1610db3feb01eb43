"""tap-spreadsheet: customer lists from CSV/TSV/TXT, XLSX/XLSM/XLSB, XLS and ODS files."""

from __future__ import annotations

import functools
from typing import Any

import click
from singer_sdk import Tap

from tap_spreadsheet.config import CONFIG_SCHEMA, TapSettings, settings_from_config
from tap_spreadsheet.discovery import plan_streams
from tap_spreadsheet.errors import SpreadsheetError, SpreadsheetFileError
from tap_spreadsheet.stream import SpreadsheetStream
from tap_spreadsheet.summary import RunSummary
from tap_spreadsheet.writer import FastSingerWriter


class TapSpreadsheet(Tap):
    """Singer tap for spreadsheets: one stream per file pattern and sheet."""

    name = "tap-spreadsheet"
    package_name = "crmhub"  # the distribution this tap ships in (for --version/--about)
    dynamic_catalog = True
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = FastSingerWriter
    # Set while `--discover` runs: no rows are read after the schema is learnt, so large
    # workbook sheets are sampled instead of loaded whole (see discovery.plan_streams).
    discovery_only = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.summary = RunSummary()
        self._failed_files: set[str] = set()
        super().__init__(*args, **kwargs)

    @functools.cached_property
    def settings(self) -> TapSettings:
        """The typed settings (raises one error listing every config problem)."""
        return settings_from_config(self.config)

    def discover_streams(self) -> list[SpreadsheetStream]:
        """One stream per ``files`` entry (and per sheet, unless merged)."""
        plans = plan_streams(self.settings, self.file_error, sample_only=self.discovery_only)
        return [SpreadsheetStream(self, plan) for plan in plans]

    def has_failed(self, path: str) -> bool:
        """True when ``path`` already failed in this run (and was skipped)."""
        return path in self._failed_files

    def file_error(self, error: SpreadsheetFileError) -> None:
        """Skip (log and count) or raise a file-level error, as ``on_file_error`` says."""
        if self.settings.on_file_error != "skip":
            raise error
        if error.path in self._failed_files:
            return
        self._failed_files.add(error.path)
        self.summary.files_skipped += 1
        self.summary.skipped_files.append(error.render())
        self.logger.error("%s; skipped (on_file_error: skip)", error.render())

    def sync_all(self) -> None:  # type: ignore[misc]  # final in the SDK; wrapped, not replaced
        """Sync every selected stream, then log what was read, flagged and skipped."""
        try:
            super().sync_all()
        finally:
            if isinstance(self.message_writer, FastSingerWriter):
                self.message_writer.flush()
            self.summary.log(self.logger)

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Run the tap; a spreadsheet or config error ends it with one line, exit code 1."""
        try:
            super().invoke(*args, **kwargs)
        except SpreadsheetError as exc:
            cls.logger.error("tap-spreadsheet stopped: %s", exc.render())
            raise click.exceptions.Exit(1) from None

    @classmethod
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        """Discovery, with the same one-line errors as a sync."""
        cls.discovery_only = bool(value)
        try:
            super().cb_discover(ctx, param, value)
        except SpreadsheetError as exc:
            cls.logger.error("tap-spreadsheet discovery stopped: %s", exc.render())
            ctx.exit(1)
        finally:
            cls.discovery_only = False


if __name__ == "__main__":
    TapSpreadsheet.cli()
