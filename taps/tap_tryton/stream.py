"""The incremental Tryton stream: keyset pages ordered by (last change, id).

Every Tryton model has ``last_modified_at``, a searchable, sortable SQL expression equal to
``COALESCE(write_date, create_date)``. The tap reads pages with ``search_read`` ordered by
``(last_modified_at, id)`` and continues after the last row of the previous page::

    last_modified_at > T  OR  (last_modified_at = T AND id > I)

Many records share one timestamp (everything written in one call, or one transaction,
does), so a bookmark of the timestamp alone would either repeat or lose rows at a page or
run boundary. The id of the last emitted record is therefore kept next to singer-sdk's
``replication_key_value`` in the STATE, as ``replication_key_id``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Stream
from singer_sdk.helpers.types import Context, Record

from tap_tryton.codec import from_iso
from tap_tryton.columns import Column, schema_for

if TYPE_CHECKING:
    from tap_tryton.client import TrytonClient

TIEBREAK_KEY = "replication_key_id"
_ORDER = (("last_modified_at", "ASC"), ("id", "ASC"))
# Columns every stream has; write_date is the replication key (create_date when never written).
COMMON_COLUMNS = (
    Column("create_date", "datetime", description="When the record was created (UTC)."),
    Column(
        "write_date",
        "datetime",
        path="last_modified_at",
        description="Last change (UTC): Tryton's write_date, or create_date if never written.",
    ),
)


class TrytonStream(Stream):
    """A Tryton model read incrementally by ``write_date`` with ``id`` as tie-breaker."""

    model: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key = "write_date"
    is_sorted = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A STATE after every page's worth of records: a run that stops half-way (Tryton
        # down for good) resumes from its last page instead of from the start.
        self.STATE_MSG_FREQUENCY = max(1, int(self.config.get("page_size", 500)))

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """The stream's own columns plus create_date and write_date."""
        return (*self.columns, *COMMON_COLUMNS)

    @property
    def schema(self) -> dict[str, Any]:
        """JSON schema built from the columns."""
        return schema_for(self.all_columns)

    @property
    def client(self) -> TrytonClient:
        """The tap's shared, logged-in client."""
        client: TrytonClient = self._tap.client  # type: ignore[attr-defined]
        return client

    def read_fields(self) -> list[str]:
        """Every Tryton field (path) the stream asks for, selected or not."""
        names = ["id"]
        for column in self.all_columns:
            for name in column.read_fields():
                if name not in names:
                    names.append(name)
        return names

    def starting_bookmark(self, context: Context | None) -> tuple[dt.datetime, int | None] | None:
        """(timestamp, id) to continue after, or (start_date, None) to start at, or None."""
        value = self.get_starting_replication_key_value(context)
        if not value:
            return None
        state = self.get_context_state(context)
        tie_id = state.get(TIEBREAK_KEY)
        # The id belongs to the bookmark only; a newer start_date starts inclusively.
        if value != state.get("replication_key_value") or tie_id is None:
            return from_iso(str(value)), None
        return from_iso(str(value)), int(tie_id)

    def page_domain(self, bookmark: tuple[dt.datetime, int | None] | None) -> list[Any]:
        """The search domain of the next page."""
        if bookmark is None:
            return []
        timestamp, tie_id = bookmark
        if tie_id is None:
            return [("last_modified_at", ">=", timestamp)]
        return [
            "OR",
            ("last_modified_at", ">", timestamp),
            [("last_modified_at", "=", timestamp), ("id", ">", tie_id)],
        ]

    def fetch_page(self, bookmark: tuple[dt.datetime, int | None] | None) -> list[dict[str, Any]]:
        """One page of raw rows, oldest change first."""
        return self.client.search_read(
            self.model,
            self.page_domain(bookmark),
            fields=self.read_fields(),
            order=_ORDER,
            limit=int(self.config.get("page_size", 500)),
            # Archived (inactive) records are part of the history: read them too.
            context={"active_test": False},
        )

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Every record changed after the bookmark, page by page."""
        page_size = int(self.config.get("page_size", 500))
        bookmark = self.starting_bookmark(context)
        while True:
            rows = self.fetch_page(bookmark)
            for raw in rows:
                yield self.to_record(raw)
            if len(rows) < page_size:
                return
            last = rows[-1]
            bookmark = (last["last_modified_at"], int(last["id"]))

    def to_record(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A raw Tryton row as a Singer record."""
        record = {"id": int(raw["id"])}
        for column in self.all_columns:
            if column.name != "id":
                record[column.name] = column.extract(raw)
        return record

    # singer-sdk keeps only replication_key_value; the tie-breaking id must move with it,
    # in the same state dict, before the SDK may write the next STATE message.
    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        super()._increment_stream_state(latest_record, context=context)
        state = self.get_context_state(context)
        if state.get("replication_key_value") == latest_record.get(self.replication_key):
            state[TIEBREAK_KEY] = latest_record["id"]
