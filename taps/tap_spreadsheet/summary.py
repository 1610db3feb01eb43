"""Counting what a run read, flagged and skipped, to log one summary at the end."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RunSummary:
    """Counts over the whole run, across streams."""

    files_read: int = 0
    files_unchanged: int = 0
    files_skipped: int = 0
    rows_read: int = 0
    bad_rows: int = 0
    blank_rows: int = 0
    duplicate_keys: int = 0
    cells_kept_as_text: Counter[str] = field(default_factory=Counter)
    skipped_files: list[str] = field(default_factory=list)

    def log(self, logger: logging.Logger) -> None:
        """Log the summary lines: the totals, then what needs a look."""
        logger.info(
            "tap-spreadsheet summary: %d files read, %d unchanged since the last run, "
            "%d skipped; %d rows read, %d bad rows (emitted with _row_error), "
            "%d blank rows ignored, %d duplicate primary keys",
            self.files_read,
            self.files_unchanged,
            self.files_skipped,
            self.rows_read,
            self.bad_rows,
            self.blank_rows,
            self.duplicate_keys,
        )
        for reason in self.skipped_files:
            logger.warning("skipped: %s", reason)
        for column, count in sorted(self.cells_kept_as_text.items()):
            logger.warning(
                "%s: %d cells did not fit the column type and were kept as the original text",
                column,
                count,
            )
