"""`crmhub dedupe FILE --workers N`: the same clusters and pairs whatever the process count."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from crmhub.cli import main
from crmhub.synthetic import generate_records

HEADER = ["First name", "Last name", "Company", "Email", "Phone", "Street", "Postcode", "City",
          "Country", "Date of birth"]  # fmt: skip


def _write_csv(path: Path, n: int) -> None:
    data = generate_records(n, seed=11, garbage_share=0.05)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for rec in data.records:
            address = (rec.get("addresses") or [{}])[0]
            writer.writerow(
                [
                    rec.get("given_name") or "",
                    rec.get("family_name") or "",
                    rec.get("organization_name") or "",
                    (rec.get("emails") or [""])[0],
                    (rec.get("phones") or [""])[0],
                    address.get("street") or "",
                    address.get("postal_code") or "",
                    address.get("city") or "",
                    address.get("country") or "",
                    rec.get("birth_date") or "",
                ]
            )


def _run(source: Path, out: Path, workers: str) -> dict[str, object]:
    result = CliRunner().invoke(
        main, ["dedupe", str(source), "--out", str(out), "--workers", workers, "--json"]
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, object] = json.loads(result.output)
    return summary


def test_two_workers_give_the_clusters_and_pairs_of_one(tmp_path: Path) -> None:
    source = tmp_path / "customers.csv"
    _write_csv(source, 3000)
    one = _run(source, tmp_path / "one", "1")
    two = _run(source, tmp_path / "two", "2")
    auto = _run(source, tmp_path / "auto", "auto")
    assert int(str(one["duplicate_rows"])) > 100  # the file has duplicates to find
    for summary in (two, auto):
        assert {k: v for k, v in summary.items() if not k.endswith(("_file", "seconds"))} == {
            k: v for k, v in one.items() if not k.endswith(("_file", "seconds"))
        }
    for name in ("customers.clusters.csv", "customers.pairs.csv"):
        expected = (tmp_path / "one" / name).read_bytes()
        assert (tmp_path / "two" / name).read_bytes() == expected, name
        assert (tmp_path / "auto" / name).read_bytes() == expected, name


def test_a_bad_worker_count_is_a_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "customers.csv"
    _write_csv(source, 10)
    result = CliRunner().invoke(main, ["dedupe", str(source), "--workers", "none"])
    assert result.exit_code == 2
    assert "'none' is not 'auto' or a whole number of processes >= 1" in result.output
