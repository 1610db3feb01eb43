"""Profile ``csv-import``: CRM import files for teams that import by hand.

Each layout (``salesforce-data-import-wizard``, ``hubspot-import``, ``dynamics-import``) has
a mapping file under ``mappings/crm/csv-import/`` whose field names are the column headers
that CRM's import tool recognizes. Every run writes one UTF-8 CSV per CRM object
(``<object>-<run>.csv``) with the created and changed records, keyed by the crmhub id column
so a re-import updates instead of duplicating, plus ``<object>-retire-<run>.csv`` listing
records to archive, delete or merge by hand (no import wizard does those).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import IO, Any

from target_crm.errors import ConfigurationError
from target_crm.mapping import ObjectMapping, RowBuilder
from target_crm.profiles.base import Profile, WorkItem
from target_crm.results import Outcome

_SF_CONTACT = {
    "First Name",
    "Last Name",
    "Salutation",
    "Title",
    "Email",
    "Phone",
    "Mobile Phone",
    "Mailing Street",
    "Mailing City",
    "Mailing State/Province",
    "Mailing Zip/Postal Code",
    "Mailing Country",
    "Birthdate",
    "Account Name",
    "Email Opt Out",
    "Do Not Call",
    "Lead Source",
    "Description",
}
_SF_ACCOUNT = {
    "Account Name",
    "Phone",
    "Website",
    "Billing Street",
    "Billing City",
    "Billing State/Province",
    "Billing Zip/Postal Code",
    "Billing Country",
    "Type",
    "Industry",
    "Description",
}
_HS = {
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Mobile Phone Number",
    "Street Address",
    "City",
    "State/Region",
    "Postal Code",
    "Country/Region",
    "Company Name",
    "Company Domain Name",
    "Website URL",
    "Preferred language",
    "Date of birth",
    "Lifecycle Stage",
    "Name",
    "Industry",
    "Record ID",
    "Ticket name",
    "Ticket description",
    "Pipeline",
    "Ticket status",
    "Priority",
    "Deal Name",
    "Deal Stage",
    "Amount",
    "Close Date",
}
_DYN_CONTACT = {
    "First Name",
    "Last Name",
    "Salutation",
    "Email",
    "Business Phone",
    "Mobile Phone",
    "Address 1: Street 1",
    "Address 1: City",
    "Address 1: State/Province",
    "Address 1: ZIP/Postal Code",
    "Address 1: Country/Region",
    "Birthday",
    "Company Name",
    "Preferred Method of Contact",
    "Do not allow Bulk Emails",
}
_DYN_ACCOUNT = {
    "Account Name",
    "Main Phone",
    "Email",
    "Website",
    "Address 1: Street 1",
    "Address 1: City",
    "Address 1: State/Province",
    "Address 1: ZIP/Postal Code",
    "Address 1: Country/Region",
}
_DYN_CASE = {"Case Title", "Customer", "Priority", "Status Reason", "Description"}
KNOWN_COLUMNS: dict[str, dict[str, set[str]]] = {
    "salesforce-data-import-wizard": {"Contact": _SF_CONTACT, "Account": _SF_ACCOUNT},
    "hubspot-import": {"contacts": _HS, "companies": _HS, "tickets": _HS, "deals": _HS},
    "dynamics-import": {"contact": _DYN_CONTACT, "account": _DYN_ACCOUNT, "incident": _DYN_CASE},
}


class CsvImportProfile(Profile):
    """Write import files in the column layout a CRM's import tool expects."""

    name = "csv-import"
    remote_ids = False
    default_batch_size = 10000

    def open(self) -> None:
        """Check the layout and the output folder."""
        self.settings.require("output_dir")
        self.layout = str(self.settings.get("layout", "salesforce-data-import-wizard"))
        if self.layout not in KNOWN_COLUMNS:
            raise ConfigurationError(
                f"csv-import: layout {self.layout!r} is unknown; use one of "
                f"{', '.join(KNOWN_COLUMNS)}"
            )
        self.out_dir = Path(str(self.settings.get("output_dir")))
        if not self.settings.dry_run:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        self._files: dict[str, tuple[IO[str], Any]] = {}
        self.files_written: list[Path] = []
        #: id of an object mapping -> (that mapping, its generated row builder)
        self._row_builders: dict[int, tuple[ObjectMapping, RowBuilder]] = {}

    def known_fields(self, object_name: str) -> set[str] | None:
        """The import tool's standard columns (custom columns go in custom_fields)."""
        layout = str(self.settings.get("layout", "salesforce-data-import-wizard"))
        return KNOWN_COLUMNS.get(layout, {}).get(object_name, set())

    def _writer(self, name: str, header: list[str]) -> Any:
        if name not in self._files:
            path = self.out_dir / f"{name}-{self.run_id}.csv"
            fh = path.open("w", encoding="utf-8", newline="")
            writer = csv.writer(fh)
            writer.writerow(header)
            self._files[name] = (fh, writer)
            self.files_written.append(path)
        return self._files[name][1]

    def lookup(self, object_name: str, external_id: str, keys: list[str]) -> dict[str, str]:
        """A file has no memory: the ledger (earlier results) is what knows a record."""
        return {}

    def _header(self, om: ObjectMapping) -> list[str]:
        """The import file's columns: the crmhub key, then every mapped field."""
        return [om.external_id] + [s.target for s in om.fields if s.target != om.external_id]

    def row_builder(self, om: ObjectMapping) -> RowBuilder:
        """The builder of the import file's rows of ``om``, made on first use."""
        cached = self._row_builders.get(id(om))
        if cached is None or cached[0] is not om:
            cached = (om, om.row_builder(self._header(om)))
            self._row_builders[id(om)] = cached
        return cached[1]

    def upsert(self, items: list[WorkItem]) -> list[Outcome]:
        """Append rows to the object's import file."""
        out = []
        by_obj: dict[str, list[WorkItem]] = {}
        for it in items:
            by_obj.setdefault(it.om.object, []).append(it)
        for obj, group in by_obj.items():
            writer = self._writer(obj, self._header(group[0].om))
            # the csv module writes None as an empty cell
            build = self.row_builder(group[0].om)
            writer.writerows(
                [it.row if it.row is not None else build(it.record, it.key) for it in group]
            )
            self._files[obj][0].flush()
            for it in group:
                out.append(it.outcome("update" if it.remote_id else "create", it.key))
        return out

    def plan_upsert(self, items: list[WorkItem]) -> list[Outcome]:
        """Dry run: a row would be written; update when an earlier run exported it."""
        return [it.outcome("update" if it.remote_id else "create") for it in items]

    def retire(self, items: list[WorkItem]) -> list[Outcome]:
        """List records to archive, delete or merge by hand."""
        out = []
        for it in items:
            writer = self._writer(
                f"{it.om.object}-retire",
                [it.om.external_id, "crmhub action", "crmhub merged into"],
            )
            action = "merge" if it.survivor_key else it.intent
            writer.writerow([it.key, action, it.survivor_key or ""])
            out.append(it.outcome(it.intent, it.key))
        for fh, _ in self._files.values():
            fh.flush()
        return out

    def close(self) -> None:
        """Close the files."""
        for fh, _ in getattr(self, "_files", {}).values():
            fh.close()
        self._files = {}
