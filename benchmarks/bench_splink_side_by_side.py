"""crmhub vs Splink (DuckDB) on the same synthetic customers, same machine: time, memory, F1.

Generates ``--records`` synthetic customers with known truth (``crmhub.synthetic``), then
runs each engine in its own child process (so each peak RSS is its own):

* **crmhub**: end to end from canonical records: ``normalize_records`` (what ``crmhub match``
  runs: chunks normalized in ``--workers`` processes, default ``auto``) -> ``score_pairs``
  (block, compare, EM training, score, classify) -> ``cluster_records`` over the pairs
  classified ``merge``. The normalized frame is then written to Parquet (after the clock
  stops) as Splink's input.
* **Splink 5** (DuckDB backend), following its documentation: the same normalized columns
  (so it is spared normalization), comparisons from ``splink.comparison_library`` with term
  frequencies on names and city, the same exact blocking rules as crmhub's defaults, prior
  from deterministic rules, u by random sampling, m by EM sessions, ``predict`` and
  ``cluster_pairwise_predictions_at_threshold`` at 0.95.

Both are scored with pairwise precision/recall/F1 of their clusters against the truth.
Memory is the peak RSS of each child (``ru_maxrss``, input included); for crmhub the larger
of that and the PSS of its process tree while its normalize workers run (``tree_memory.py``),
and also the peak from blocking to clusters alone (VmHWM reset after normalization). CPU
counts crmhub's normalize workers too. The
script prints both rows and the ratios (Splink time / crmhub time, crmhub peak / Splink
peak). Splink is not a crmhub dependency: run this in the separate benchmark venv::

    python3.11 -m venv /work/main/.venv-bench
    /work/main/.venv-bench/bin/pip install splink duckdb pyarrow faker rapidfuzz pandas \\
        numpy jellyfish unidecode phonenumbers email-validator python-stdnum pydantic pyyaml
    /work/main/.venv-bench/bin/python benchmarks/bench_splink_side_by_side.py \\
        --records 1000000
    # smaller / one engine only:
    /work/main/.venv-bench/bin/python benchmarks/bench_splink_side_by_side.py \\
        --records 100000 --engines crmhub

Generated data is cached under ``.bench/side_by_side/`` (git-ignored). Note ``uptime``: the
machine is shared, and a loaded machine slows both engines.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "dedupe"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tree_memory


def _rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _hwm_mib() -> float:
    """Peak RSS since the last :func:`_reset_hwm` (VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _reset_hwm() -> None:
    """Reset the kernel's peak-RSS counter (Linux >= 4.0), to measure one stage."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _data_path(workdir: Path, records: int, seed: int) -> Path:
    return workdir / f"synthetic_{records}_{seed}.pkl"


def generate(workdir: Path, records: int, seed: int) -> Path:
    """Generate (once) and cache the records as a DataFrame plus the truth."""
    path = _data_path(workdir, records, seed)
    if path.exists():
        return path
    import pandas as pd

    from crmhub.synthetic import generate_records

    t0 = time.perf_counter()
    data = generate_records(records, seed=seed)
    frame = pd.DataFrame(data.records)
    workdir.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump({"frame": frame, "truth": data.truth}, fh, protocol=5)
    print(f"generated {records:,} records in {time.perf_counter() - t0:.1f} s -> {path}")
    return path


def _cpu_s() -> float:
    """User + system CPU of this process and its reaped children (normalize workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_crmhub(path: Path, parquet: Path, workers: str = "auto") -> dict[str, Any]:
    """Child: normalize -> score -> cluster, timed; then write the normalized frame."""
    import numpy as np
    from tree_memory import TreeMemory

    from crmhub.synthetic import pairwise_score
    from crmhub_dedupe.cluster import cluster_records
    from crmhub_dedupe.normalize import normalize_records, resolve_workers
    from crmhub_dedupe.pipeline import score_pairs
    from crmhub_dedupe.settings import MatchSettings

    with open(path, "rb") as fh:
        data = pickle.load(fh)  # noqa: S301 - our own cache file
    records, truth = data["frame"], data["truth"]
    rss_input = _rss_mib()
    how: Any = "auto" if workers == "auto" else int(workers)
    processes = resolve_workers(how, len(records))
    t0 = time.perf_counter()
    c0 = _cpu_s()
    with TreeMemory() as tree:
        normalized = normalize_records(records, workers=how)
    frame = normalized.frame
    del records, data, normalized
    gc.collect()
    t1 = time.perf_counter()
    rss_normalized = _rss_mib()
    peak_normalize = _peak_mib()
    _reset_hwm()
    scored = score_pairs(frame, MatchSettings.default())
    t2 = time.perf_counter()
    merged = scored.pairs[scored.pairs["classification"] == "merge"]
    clusters = cluster_records(frame["record_id"], merged, left="left_id", right="right_id")
    t3 = time.perf_counter()
    cpu = _cpu_s() - c0 - float(tree.result.get("cpu_s", 0.0))  # not the sampler's
    tree_mib = float(tree.result.get("peak_pss_gib", 0.0)) * 1024
    peak = max(peak_normalize, _hwm_mib(), tree_mib)
    peak_match = _hwm_mib()
    score = pairwise_score(clusters.to_dict(), truth)
    # Splink's input: the same normalized columns, list columns as lists
    out = frame.copy()
    for col in ("emails", "phones", "tax_ids", "flags"):
        out[col] = out[col].map(lambda v: list(v) if isinstance(v, tuple) else [])
    out.to_parquet(parquet)
    return {
        "engine": "crmhub",
        "records": len(frame),
        "seconds": round(t3 - t0, 1),
        "cpu_s": round(cpu, 1),
        "seconds_normalize": round(t1 - t0, 1),
        "seconds_match": round(t2 - t1, 1),
        "seconds_cluster": round(t3 - t2, 1),
        "timings": {k: round(v, 1) for k, v in scored.timings.items()},
        "pairs": len(scored.pairs),
        "merge_pairs": len(merged),
        "review_pairs": int((scored.pairs["classification"] == "review").sum()),
        "peak_rss_mib": round(peak, 0),
        "normalize_workers": processes,
        "normalize_tree_peak_pss_mib": round(tree_mib, 0),
        "rss_after_loading_input_mib": round(rss_input, 0),
        "rss_after_normalize_mib": round(rss_normalized, 0),
        "peak_rss_block_to_cluster_mib": round(peak_match, 0),
        "precision": round(score.precision, 4),
        "recall": round(score.recall, 4),
        "f1": round(score.f1, 4),
        "clusters": int(np.unique(clusters.to_numpy()).size),
    }


def run_splink(path: Path, parquet: Path) -> dict[str, Any]:
    """Child: Splink 5 on DuckDB over the normalized frame, timed from loading to clusters."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from crmhub.synthetic import pairwise_score

    with open(path, "rb") as fh:
        truth = pickle.load(fh)["truth"]  # noqa: S301 - our own cache file
    t0 = time.perf_counter()
    c0 = time.process_time()  # every thread of this process (DuckDB's too)
    df = pd.read_parquet(parquet)
    df = df.rename(columns={"record_id": "unique_id"})
    keep = [
        "unique_id", "given", "family", "given_phonetic", "family_phonetic", "org", "email",
        "phone", "tax_id", "street", "house_number", "postcode", "city", "birth_date",
    ]  # fmt: skip
    df = df[keep]
    rss_input = _rss_mib()
    db_api = DuckDBAPI()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given").configure(term_frequency_adjustments=True),
            cl.NameComparison("family").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.JaroWinklerAtThresholds("org", [0.92, 0.8]).configure(
                term_frequency_adjustments=True
            ),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("tax_id"),
            cl.JaroWinklerAtThresholds("street", [0.9]),
            cl.LevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("tax_id"),
            block_on("family_phonetic", "postcode"),
            block_on("given_phonetic", "family_phonetic", "city"),
            block_on("family", "birth_date"),
            block_on("birth_date", "postcode"),
            block_on("birth_date", "city"),
            block_on("street", "house_number"),
            block_on("org", "city"),
            block_on("org", "postcode"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(db_api.register(df), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("given", "family", "birth_date")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    for rule in (
        block_on("email"),
        block_on("given", "family"),
        block_on("birth_date"),
        block_on("postcode"),
    ):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.95
    )
    result = clusters.as_pandas_dataframe()
    t1 = time.perf_counter()
    cpu = time.process_time() - c0
    peak = _peak_mib()
    score = pairwise_score(dict(zip(result["unique_id"], result["cluster_id"], strict=True)), truth)
    return {
        "engine": "splink",
        "records": len(df),
        "seconds": round(t1 - t0, 1),
        "cpu_s": round(cpu, 1),
        "peak_rss_mib": round(peak, 0),
        "rss_after_loading_input_mib": round(rss_input, 0),
        "precision": round(score.precision, 4),
        "recall": round(score.recall, 4),
        "f1": round(score.f1, 4),
        "clusters": int(result["cluster_id"].nunique()),
    }


def _child(engine: str, path: Path, parquet: Path, workers: str) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            engine,
            "--data",
            str(path),
            "--parquet",
            str(parquet),
            "--workers",
            workers,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{engine} run failed (exit {proc.returncode})")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engines", default="crmhub,splink")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".bench" / "side_by_side")
    parser.add_argument(
        "--workers",
        default="auto",
        help="crmhub's normalize processes: auto (default, as crmhub match) or a number",
    )
    parser.add_argument("--child", choices=["crmhub", "splink"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--parquet", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "crmhub":
            print(json.dumps(run_crmhub(args.data, args.parquet, args.workers)))
        else:
            print(json.dumps(run_splink(args.data, args.parquet)))
        return
    path = generate(args.workdir, args.records, args.seed)
    parquet = args.workdir / f"normalized_{args.records}_{args.seed}.parquet"
    rows = []
    for engine in args.engines.split(","):
        with open("/proc/loadavg") as fh:
            load = " ".join(fh.read().split()[:3])
        row = _child(engine, path, parquet, args.workers)
        row["load_before"] = load
        rows.append(row)
        print(json.dumps(row))
    print(
        f"\n{'engine':<8} {'records':>9} {'seconds':>8} {'CPU s':>7} {'peak MiB':>9} {'precision':>9} "
        f"{'recall':>7} {'F1':>7}  load before"
    )
    for r in rows:
        print(
            f"{r['engine']:<8} {r['records']:>9,} {r['seconds']:>8} {r['cpu_s']:>7} {r['peak_rss_mib']:>9} "
            f"{r['precision']:>9} {r['recall']:>7} {r['f1']:>7}  {r['load_before']}"
        )
    by = {r["engine"]: r for r in rows}
    if "crmhub" in by and "splink" in by:
        ours, theirs = by["crmhub"], by["splink"]
        print(
            f"\nspeed-up (splink s / crmhub s):        {theirs['seconds'] / ours['seconds']:.2f}x"
        )
        print(
            f"memory (crmhub peak / splink peak):    "
            f"{ours['peak_rss_mib'] / theirs['peak_rss_mib']:.2f}"
        )
        print(f"F1 difference (crmhub - splink):       {ours['f1'] - theirs['f1']:+.4f}")


if __name__ == "__main__":
    main()
