"""`crmhub dedupe FILE`: one file, no project, clusters and scored pairs out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner
from openpyxl import Workbook

from crmhub.cli import main

ROWS = [
    ["Voornaam", "Achternaam", "E-mail", "Telefoon", "Postcode", "Plaats", "Geboortedatum"],
    ["Jan", "de Vries", "jan.devries@example.nl", "06-12345678", "3511 AB", "Utrecht", "01-02-1970"],
    ["Johannes", "de Vries", "JAN.DEVRIES@example.nl", "+31 6 1234 5678", "3511AB", "Utrecht", "01-02-1970"],
    ["Anna", "Bakker", "anna@example.nl", "0612398765", "1011 AA", "Amsterdam", "03-04-1985"],
    ["Pieter", "Smit", "p.smit@example.nl", "0201234567", "9711 BB", "Groningen", "05-06-1990"],
]  # fmt: skip


def _clusters(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_with_dutch_headers_in_cp1252(tmp_path: Path) -> None:
    source = tmp_path / "klanten.csv"
    with source.open("w", encoding="cp1252", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(ROWS)
    result = CliRunner().invoke(main, ["dedupe", str(source), "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["mapping"]["emails"] == ["E-mail"] and summary["mapping"]["given_name"] == [
        "Voornaam"
    ]
    assert summary["rows"] == 4 and summary["clusters"] == 3
    rows = _clusters(tmp_path / "klanten.clusters.csv")
    assert rows[0]["cluster_id"] == rows[1]["cluster_id"] != rows[2]["cluster_id"]
    assert rows[0]["cluster_size"] == "2" and rows[0]["Voornaam"] == "Jan"
    pairs = _clusters(tmp_path / "klanten.pairs.csv")
    assert (pairs[0]["left_row"], pairs[0]["right_row"], pairs[0]["classification"]) == (
        "1",
        "2",
        "merge",
    )
    assert "email exact" in pairs[0]["why"]


def test_xlsx_with_mapped_columns(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Cust", "Mail", "Born"])
    for row in (
        ["Jan de Vries", "jan@x.nl", "1970-02-01"],
        ["J. de Vries", "jan@x.nl", "1970-02-01"],
        ["Ola Nordmann", "ola@y.no", "1980-01-01"],
    ):
        sheet.append(row)
    source = tmp_path / "list.xlsx"
    book.save(source)
    args = [
        "dedupe",
        str(source),
        "--out",
        str(tmp_path),
        "--map",
        "full_name=Cust",
        "--map",
        "emails=Mail",
        "--map",
        "birth_date=Born",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = _clusters(tmp_path / "list.clusters.csv")
    assert rows[0]["cluster_id"] == rows[1]["cluster_id"] != rows[2]["cluster_id"]


def test_bad_input_is_explained(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = CliRunner().invoke(main, ["dedupe", str(empty)])
    assert result.exit_code == 78 and "is empty" in result.output
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(main, ["dedupe", str(odd)])
    assert result.exit_code == 78 and "--map" in result.output
    result = CliRunner().invoke(main, ["dedupe", str(odd), "--map", "emails=nope"])
    assert result.exit_code == 78 and "has no column 'nope'" in result.output
    result = CliRunner().invoke(main, ["dedupe", str(tmp_path / "missing.csv")])
    assert result.exit_code == 78 and "does not exist" in result.output
