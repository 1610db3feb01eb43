"""``crmhub dedupe FILE``: the matching engine on one CSV or spreadsheet, no project needed.

Columns are mapped to canonical fields by their header (English, Dutch, German names are
recognized) or by ``--map field=column``; every row becomes a canonical customer, the
engine scores and clusters them, and two files come out: the rows with a cluster id, and the
scored pairs with their explanation.
"""

from __future__ import annotations

import csv
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crmhub.errors import ConfigurationError
from crmhub_dedupe.cluster import cluster_scored_pairs
from crmhub_dedupe.matcher import default_model
from crmhub_dedupe.normalize import Workers, normalize_records
from crmhub_dedupe.pipeline import score_pairs, train
from crmhub_dedupe.settings import MatchSettings

ADDRESS = ("street", "house_number", "postal_code", "city", "region", "country")
LISTS = ("emails", "phones", "tax_ids")
SCALARS = (
    "given_name", "family_name", "name_particle", "full_name", "organization_name",
    "birth_date", "website", "kind", "updated_at",
)  # fmt: skip
FIELDS = SCALARS + LISTS + ADDRESS

# Header names as people write them -> canonical field (compared after folding).
HEADERS: dict[str, str] = {
    **dict.fromkeys(["first name", "firstname", "given name", "given_name", "forename", "voornaam", "vorname", "roepnaam"], "given_name"),
    **dict.fromkeys(["last name", "lastname", "surname", "family name", "family_name", "achternaam", "nachname", "familienname"], "family_name"),
    **dict.fromkeys(["tussenvoegsel", "particle", "prefix name"], "name_particle"),
    **dict.fromkeys(["name", "full name", "fullname", "naam", "customer name", "klantnaam"], "full_name"),
    **dict.fromkeys(["company", "organization", "organisation", "company name", "bedrijf", "bedrijfsnaam", "firma", "unternehmen"], "organization_name"),
    **dict.fromkeys(["email", "e-mail", "email address", "mail", "e mail", "emailadres"], "emails"),
    **dict.fromkeys(["phone", "telephone", "tel", "mobile", "mobile phone", "telefoon", "mobiel", "telefon", "handy", "telefonnummer"], "phones"),
    **dict.fromkeys(["vat", "vat id", "vat number", "btw", "btw nummer", "ust-idnr", "gstin", "pan", "tax id"], "tax_ids"),
    **dict.fromkeys(["street", "address", "address line 1", "straat", "strasse", "straße", "adres"], "street"),
    **dict.fromkeys(["house number", "house_number", "huisnummer", "hausnummer", "nr", "number"], "house_number"),
    **dict.fromkeys(["zip", "zip code", "zipcode", "postcode", "postal code", "postal_code", "plz", "pin", "pincode"], "postal_code"),
    **dict.fromkeys(["city", "town", "plaats", "woonplaats", "stadt", "ort"], "city"),
    **dict.fromkeys(["state", "region", "province", "provincie", "bundesland"], "region"),
    **dict.fromkeys(["country", "land", "country code"], "country"),
    **dict.fromkeys(["birth date", "birthdate", "date of birth", "dob", "birthday", "geboortedatum", "geburtsdatum"], "birth_date"),
    **dict.fromkeys(["website", "web", "url", "homepage"], "website"),
}  # fmt: skip


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    return re.sub(r"[\s_.]+", " ", text).strip()


@dataclass
class FileResult:
    """What ``crmhub dedupe`` found and wrote."""

    rows: int
    clusters: int
    duplicate_rows: int
    pairs: dict[str, int]
    mapping: dict[str, list[str]]
    clusters_file: Path
    pairs_file: Path
    seconds: float
    model: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            **self.__dict__,
            "clusters_file": str(self.clusters_file),
            "pairs_file": str(self.pairs_file),
        }


def read_table(
    path: Path, *, delimiter: str | None, encoding: str | None
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV/TSV or the first sheet of an XLSX/XLS/ODS file."""
    if not path.exists():
        raise ConfigurationError(f"{path} does not exist", hint="check the file name")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        from python_calamine import CalamineWorkbook

        try:
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        except Exception as exc:
            raise ConfigurationError(f"{path}: cannot read the workbook ({exc})") from None
        table = [["" if v is None else _cell(v) for v in row] for row in sheet]
    else:
        raw = path.read_bytes()
        text = None
        for candidate in [encoding] if encoding else ["utf-8-sig", "cp1252"]:
            try:
                text = raw.decode(candidate)
                break
            except (UnicodeDecodeError, LookupError):
                continue
        if text is None:
            raise ConfigurationError(
                f"{path}: the bytes are not {encoding or 'UTF-8 or Windows-1252'} text",
                hint="give the encoding with --encoding",
            )
        sample = text[:20000]
        if delimiter is None:
            try:
                delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
        table = list(csv.reader(text.splitlines(), delimiter=delimiter))
    table = [row for row in table if any(cell.strip() for cell in row)]
    if not table:
        raise ConfigurationError(f"{path} is empty", hint="a header row and data rows are needed")
    header, rows = table[0], table[1:]
    if not rows:
        raise ConfigurationError(f"{path} has a header but no rows")
    width = len(header)
    return header, [(row + [""] * width)[:width] for row in rows]


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def column_mapping(header: Sequence[str], overrides: Mapping[str, str]) -> dict[str, list[str]]:
    """canonical field -> source columns, from the header and ``--map`` options."""
    problems = []
    for field, column in overrides.items():
        if field not in FIELDS:
            problems.append(
                f"--map {field}={column}: {field!r} is not a field ({', '.join(FIELDS)})"
            )
        if column not in header:
            problems.append(f"--map {field}={column}: the file has no column {column!r}")
    if problems:
        raise ConfigurationError(
            "; ".join(problems), hint=f"the file's columns: {', '.join(header)}"
        )
    mapping: dict[str, list[str]] = {}
    taken = set(overrides.values())
    for column in header:
        guessed = HEADERS.get(_fold(column))
        if guessed and column not in taken and guessed not in overrides:
            mapping.setdefault(guessed, []).append(column)
    for field, column in overrides.items():
        mapping[field] = [column]
    if not mapping:
        raise ConfigurationError(
            "none of the columns could be recognized as a name, email, phone or address",
            hint="map them with --map given_name=Column --map emails=Column ...",
        )
    return mapping


def to_records(
    header: Sequence[str], rows: Sequence[Sequence[str]], mapping: Mapping[str, list[str]]
) -> list[dict[str, Any]]:
    """One canonical customer per row (record_id = row number, 1 = first data row)."""
    index = {c: k for k, c in enumerate(header)}
    out = []
    for number, row in enumerate(rows, 1):
        rec: dict[str, Any] = {"record_id": str(number), "source": "file"}
        address: dict[str, str] = {}
        for field, columns in mapping.items():
            values = [row[index[c]].strip() for c in columns if row[index[c]].strip()]
            if not values:
                continue
            if field in LISTS:
                rec[field] = values
            elif field in ADDRESS:
                address[field] = values[0]
            else:
                rec[field] = " ".join(values) if field == "full_name" else values[0]
        if address:
            rec["addresses"] = [address]
        if "kind" not in rec:
            person = any(k in rec for k in ("given_name", "family_name", "full_name"))
            rec["kind"] = "organization" if "organization_name" in rec and not person else "person"
        out.append(rec)
    return out


def dedupe_file(
    path: Path,
    out_dir: Path,
    *,
    overrides: Mapping[str, str] | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    workers: Workers = "auto",
) -> FileResult:
    """Deduplicate one file; write ``<stem>.clusters.csv`` and ``<stem>.pairs.csv``.

    ``workers``: processes that normalize the rows (``"auto"`` or a number; the result is
    the same).
    """
    started = time.monotonic()
    header, rows = read_table(path, delimiter=delimiter, encoding=encoding)
    mapping = column_mapping(header, overrides or {})
    records = to_records(header, rows, mapping)
    frame = normalize_records(records, workers=workers).frame
    del records
    settings = MatchSettings.default()
    if len(frame) < 2000:
        model, how = default_model(len(frame)), "default"
    else:
        model, how = train(frame, settings), "em"
    scored = score_pairs(frame, settings, model)
    pairs = scored.pairs
    left = pairs["i"].to_numpy(dtype=np.int64)
    right = pairs["j"].to_numpy(dtype=np.int64)
    accept = (pairs["classification"] == "merge").to_numpy()
    clustering = cluster_scored_pairs(
        len(frame), left, right, pairs["match_weight"].to_numpy(dtype=np.float64), accept
    )
    labels = np.asarray(clustering.labels)
    sizes = np.bincount(labels, minlength=len(frame))
    out_dir.mkdir(parents=True, exist_ok=True)
    clusters_file = out_dir / f"{path.stem}.clusters.csv"
    with clusters_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "cluster_id", "cluster_size", *header])
        for k, row in enumerate(rows):
            writer.writerow([k + 1, int(labels[k]) + 1, int(sizes[labels[k]]), *row])
    pairs_file = out_dir / f"{path.stem}.pairs.csv"
    explanations = scored.explanations()
    lines: dict[int, list[str]] = {}
    for rec in explanations.to_dict("records"):
        lines.setdefault(int(rec["pair"]), []).append(f"{rec['label']} {float(rec['weight']):+.1f}")
    with pairs_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["left_row", "right_row", "probability", "match_weight", "classification", "why"]
        )
        order = np.argsort(-pairs["probability"].to_numpy(), kind="stable")
        for k in order.tolist():
            if pairs["classification"].iloc[k] == "distinct":
                continue
            writer.writerow(
                [
                    int(left[k]) + 1,
                    int(right[k]) + 1,
                    f"{float(pairs['probability'].iloc[k]):.4f}",
                    f"{float(pairs['match_weight'].iloc[k]):.2f}",
                    pairs["classification"].iloc[k],
                    "; ".join(lines.get(k, [])),
                ]
            )
    counts = pairs["classification"].value_counts()
    return FileResult(
        rows=len(rows),
        clusters=int(np.unique(labels).size),
        duplicate_rows=int((sizes[labels] > 1).sum()),
        pairs={c: int(counts.get(c, 0)) for c in ("merge", "review", "distinct")},
        mapping=mapping,
        clusters_file=clusters_file,
        pairs_file=pairs_file,
        seconds=round(time.monotonic() - started, 2),
        model=how,
    )
