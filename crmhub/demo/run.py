"""Run the demo: generate the sources, write the project, ingest, match, summarize."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from crmhub.cli.context import CliContext, Progress, emit_json
from crmhub.cli.runs_cmd import status_counts
from crmhub.config import load_project
from crmhub.demo.project import write_project
from crmhub.demo.sources import write_erp, write_legacy, write_webshop
from crmhub.errors import ConfigurationError
from crmhub.ingest.service import ingest_sources
from crmhub.match.stage import run_match
from crmhub.publish.service import publish_targets
from crmhub.runs import recorded_run
from crmhub.store.models import Quarantine
from crmhub.synthetic import generate, split_sources

MARKER = ".crmhub-demo"


def _prepare(directory: Path) -> Path:
    root = directory.resolve()
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise ConfigurationError(
                f"{root} exists and is not a crmhub demo folder",
                hint="choose another folder with --dir, or empty this one",
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("written by `crmhub demo`; the demo replaces this folder\n")
    return root


def run_demo(
    ctx: CliContext, directory: Path, *, customers: int, seed: int, as_json: bool
) -> dict[str, Any]:
    """The whole demo; prints a summary (or JSON) and returns it."""
    started = time.monotonic()
    say = (lambda *_a, **_k: None) if as_json else click.echo
    root = _prepare(directory)
    say(f"crmhub demo in {root}")
    say(f"  generating {customers:,} customers (seed {seed}) across three source systems ...")
    data = generate(customers, seed=seed)
    parts = split_sources(data, ("webshop", "erp", "legacy"), seed=seed)
    written = {
        "webshop": write_webshop(parts["webshop"], root / "data" / "webshop_klanten.csv"),
        "erp": write_erp(parts["erp"], root / "data" / "erp.db", seed=seed)[0],
        "legacy": write_legacy(parts["legacy"], root / "data" / "legacy"),
    }
    say(
        f"  webshop CSV {written['webshop']:,} rows, ERP database {written['erp']:,} customers "
        f"(+ orders), mainframe EBCDIC file {written['legacy']:,} records"
    )
    project_file = write_project(root)
    ctx.project_path = project_file
    ctx._project = load_project(project_file)
    project, master = ctx.project(), ctx.master()

    say("  ingest: running tap-spreadsheet, tap-sql and tap-legacy ...")
    outcome = ingest_sources(project, master, list(project.config.sources), progress=Progress)
    outcome.raise_failures(len(project.config.sources))
    say("  match: building golden records ...")
    with recorded_run(master, "match", args={"demo": True}) as run:
        matched = run_match(project, master, run.id)
        run.counts = matched.as_dict()
    say("  publish: golden records to CRM import files (target-crm, csv-import profile) ...")
    published, failed = publish_targets(project, master, list(project.config.targets))
    if failed:
        raise failed[0][1]
    with master.session() as s:
        reasons: Counter[str] = Counter()
        for (raw,) in s.execute(select(Quarantine.reasons).where(Quarantine.resolved_at.is_(None))):
            for reason in raw or []:
                reasons[reason.get("code", "?")] += 1
    status = status_counts(ctx)
    quality = _quality(master, parts, data.truth)
    summary = {
        "folder": str(root),
        "generated": {
            "customers": customers,
            "records": len(data.records),
            "true_duplicates": len(data.records) - data.n_entities,
        },
        "ingest": outcome.results,
        "match": matched.as_dict(),
        "publish": [o.as_dict() for o in published],
        "import_files": sorted(str(p) for p in (root / "crm-import").glob("*.csv")),
        "quarantine_by_reason": dict(reasons),
        "quality_vs_truth": quality,
        "status": status,
        "seconds": round(time.monotonic() - started, 1),
    }
    if as_json:
        emit_json(summary)
    else:
        _print_summary(summary)
    return summary


# The source key each writer gives the i-th record (1-based) of its source.
SOURCE_KEYS: dict[str, Callable[[int], str]] = {
    "webshop": lambda i: str(10000 + i),
    "erp": str,
    "legacy": lambda i: str(500000 + i),
}


def _quality(
    master: Any, parts: dict[str, list[dict[str, Any]]], truth: dict[str, str]
) -> dict[str, float]:
    """Pairwise precision, recall and F1 of the master against the generator's truth."""
    from crmhub.store.models import SourceRecord, Xref
    from crmhub.synthetic import pairwise_score

    generated = {
        (source, SOURCE_KEYS[source](i)): rec["record_id"]
        for source, recs in parts.items()
        for i, rec in enumerate(recs, 1)
    }
    predicted: dict[str, str] = {}
    with master.session() as s:
        for source, key, master_id in s.execute(
            select(SourceRecord.source, SourceRecord.source_key, Xref.master_id)
            .join(Xref, Xref.source_record_id == SourceRecord.id)
            .where(SourceRecord.entity == "customer")
        ):
            record_id = generated.get((source, key))
            if record_id is not None:
                predicted[record_id] = master_id
    score = pairwise_score(predicted, {k: v for k, v in truth.items() if k in predicted})
    return {
        "precision": round(score.precision, 4),
        "recall": round(score.recall, 4),
        "f1": round(score.f1, 4),
        "records_scored": len(predicted),
    }


def _print_summary(summary: dict[str, Any]) -> None:
    click.echo("")
    click.echo(f"{'source':10} {'records':>8} {'new':>8} {'quarantined':>12}")
    for r in summary["ingest"]:
        click.echo(f"{r['source']:10} {r['records']:>8,} {r['new']:>8,} {r['quarantined']:>12,}")
    m = summary["match"]
    g = summary["status"]["golden_records"]
    click.echo("")
    click.echo(
        f"golden records: {g['active']:,} from {m['records']:,} customer records "
        f"({m['merged_records']:,} records merged into shared masters)"
    )
    click.echo(f"review queue:   {m['candidates']:,} pairs waiting for a steward")
    click.echo(f"related:        {m['related_linked']:,} orders linked to their customer's master")
    reasons = summary["quarantine_by_reason"]
    total = sum(reasons.values())
    detail = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "none"
    click.echo(f"quarantine:     {total:,} records kept with reasons ({detail})")
    q = summary["quality_vs_truth"]
    click.echo(
        f"quality:        pairwise precision {q['precision']:.3f}, recall {q['recall']:.3f}, "
        f"F1 {q['f1']:.3f} against the generator's truth "
        f"({summary['generated']['true_duplicates']:,} true duplicates)"
    )
    for p in summary["publish"]:
        counts = ", ".join(f"{k} {v:,}" for k, v in sorted(p["counts"].items()) if v)
        click.echo(
            f"published:      {p['sent']:,} records to {p['target']} ({counts or 'nothing new'})"
        )
    for path in summary["import_files"]:
        click.echo(f"  import file:  {path}")
    folder = summary["folder"]
    click.echo("")
    click.echo(f"done in {summary['seconds']} s. The project is {folder}/crmhub.yml; try:")
    click.echo(f"  crmhub -p {folder} status")
    click.echo(f"  crmhub -p {folder} review list")
    click.echo(f"  crmhub -p {folder} golden export -o golden.csv")
    click.echo("the steward review app on this master:")
    click.echo(f"  crmhub -p {folder} users add steward --role steward")
    click.echo(f"  crmhub -p {folder} serve      # then open http://127.0.0.1:8765/")


__all__ = ["run_demo"]
