"""The reader interface every format implements."""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from tap_legacy.errors import LegacyConfigError


class SourceReader(abc.ABC):
    """Reads files of one format described by one stream's configuration."""

    #: format name used in the config (``format: copybook``)
    format_name: str = ""

    def __init__(self, options: Mapping[str, Any], logger: logging.Logger) -> None:
        self.options = options
        self.logger = logger

    def option(self, name: str, default: Any = None) -> Any:
        """A format option of this stream's config, or ``default``."""
        value = self.options.get(name)
        return default if value is None else value

    def require(self, name: str) -> Any:
        """A required format option; a config error names the stream and the option."""
        value = self.options.get(name)
        if value in (None, "", [], {}):
            raise LegacyConfigError(
                f"stream {self.options.get('name')!r} (format {self.format_name}) needs the "
                f"setting {name!r}"
            )
        return value

    @abc.abstractmethod
    def properties(self, sample_path: str | None) -> dict[str, Any]:
        """JSON schema properties of the records (lineage properties are added by the stream).

        ``sample_path`` is the first matching file, for formats whose schema lives in the file
        (DBF header); ``None`` when no file matches yet.
        """

    @abc.abstractmethod
    def read(self, path: str) -> Iterator[dict[str, Any]]:
        """Yield the records of one file, each with lineage, undecodable ones as error records."""
