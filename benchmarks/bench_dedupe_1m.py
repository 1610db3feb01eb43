"""End-to-end deduplication of a synthetic international customer set: normalize -> clusters.

Generates (once; cached under ``.bench/``) records from :mod:`crmhub.synthetic` spread over
four sources with their own styles, then runs the matching engine end to end and prints
the time per stage, the CPU time (this process and its normalize workers), the peak memory
and pairwise precision, recall and F1 of the clusters against the generator's truth.
Training is unsupervised; the truth is only used to count.

Peak memory is that of the whole run: while normalize workers run, the sum of PSS over this
process and its children (sampled from ``/proc/<pid>/smaps_rollup`` by a separate process,
``tree_memory.py``; PSS splits the pages a forked child shares with its parent, so they
count once), and this process's RSS high-water mark for the rest; the larger one is the
run's peak. Generation runs in a child process before the clock and does not count.

    .venv/bin/python benchmarks/bench_dedupe_1m.py                    # 1,000,000 records
    .venv/bin/python benchmarks/bench_dedupe_1m.py --records 100000 --seed 3 --json
    .venv/bin/python benchmarks/bench_dedupe_1m.py --survive          # also golden records
    .venv/bin/python benchmarks/bench_dedupe_1m.py --workers 1        # normalize in one process

Stages: normalize (``crmhub_dedupe.normalize.normalize_chunks``, what ``crmhub match``
runs: ``normalize_frame`` per chunk of 100,000 records in ``--workers`` processes, default
``auto``: the CPUs this process may use, at most 4), block / compare / train
(EM) / score+classify (``crmhub_dedupe.pipeline.score_pairs``), cluster
(``crmhub_dedupe.cluster.cluster_scored_pairs``: the pairs classified ``merge`` join,
compared pairs with strong evidence against them repel, chain guard on), and optionally survive (``crmhub_dedupe.survive.survive``, not part of the headline
figure).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import pickle
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "dedupe")]
CACHE = ROOT / ".bench"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tree_memory import TreeMemory  # noqa: E402 - next to this file

if TYPE_CHECKING:
    from crmhub_dedupe.normalize import Workers


# --- the cached data set (also used by bench_incremental.py) ---------------------------


def cache_path(n_records: int, seed: int, garbage: float) -> Path:
    # The generator's source is part of the key: a changed generator never reads stale data.
    source = (ROOT / "crmhub" / "synthetic.py").read_bytes()
    version = hashlib.sha256(source).hexdigest()[:10]
    return CACHE / f"synthetic_{n_records}_{seed}_{garbage:g}_{version}.chunks.pkl"


def convert(old: str, new: str) -> None:
    """Rewrite a cache file of the first format (one pickled dict) in chunks (child process)."""
    with Path(old).open("rb") as fh:
        blob = pickle.load(fh)  # noqa: S301 - our own cache file
    records = blob["records"]
    chunks = [records[k : k + CHUNK] for k in range(0, len(records), CHUNK)]
    tmp = Path(new).with_suffix(".tmp")
    with tmp.open("wb") as fh:
        header = {"truth": blob["truth"], "seconds": blob["seconds"], "chunks": len(chunks)}
        pickle.dump(header, fh, protocol=5)
        for chunk in chunks:
            pickle.dump(chunk, fh, protocol=5)
    tmp.replace(new)


CHUNK = 100_000


def make(n_records: int, seed: int, garbage: float, path: str) -> None:
    """Generate and pickle the set (runs in a child process).

    The file holds a header (truth, generation time, chunk count) and then the records in
    chunks of ``CHUNK``, so a reader can normalize batch by batch without holding every
    record dict at once (the hub reads source records from its store in batches too).
    """
    from crmhub.synthetic import generate_records, split_sources

    started = time.perf_counter()
    data = generate_records(n_records, seed=seed, garbage_share=garbage)
    by_source = split_sources(data, seed=seed)
    records = [r for recs in by_source.values() for r in recs]
    elapsed = time.perf_counter() - started
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    chunks = [records[k : k + CHUNK] for k in range(0, len(records), CHUNK)]
    with tmp.open("wb") as fh:
        header = {"truth": data.truth, "seconds": elapsed, "chunks": len(chunks)}
        pickle.dump(header, fh, protocol=5)
        for chunk in chunks:
            pickle.dump(chunk, fh, protocol=5)
    tmp.replace(target)


def _ensure(n_records: int, seed: int, garbage: float) -> Path:
    path = cache_path(n_records, seed, garbage)
    old = Path(str(path).removesuffix(".chunks.pkl") + ".pkl")
    if not path.exists() and old.exists():
        code = (
            f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import bench_dedupe_1m as b; b.convert({str(old)!r}, {str(path)!r})"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
    if not path.exists():
        print(f"generating {n_records:,} records (seed {seed}) into {path} ...", flush=True)
        code = (
            f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import bench_dedupe_1m as b; b.make({n_records}, {seed}, {garbage!r}, {str(path)!r})"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
    return path


def load_chunks(
    n_records: int, seed: int, garbage: float = 0.01
) -> tuple[dict[str, str], float, Iterator[list[dict[str, Any]]]]:
    """(truth, generation seconds, iterator over record chunks), generating when missing."""
    path = _ensure(n_records, seed, garbage)
    fh = path.open("rb")
    header = pickle.load(fh)  # noqa: S301 - our own cache file

    def chunks() -> Iterator[list[dict[str, Any]]]:
        with fh:
            for _ in range(header["chunks"]):
                # The cyclic collector would run dozens of full passes over the records read
                # so far while 100,000 dicts are built (1.4-1.9 s CPU a chunk instead of 0.6);
                # records hold no reference cycles, so pausing it changes nothing else.
                was_enabled = gc.isenabled()
                gc.disable()
                try:
                    chunk = pickle.load(fh)  # noqa: S301 - our own cache file
                finally:
                    if was_enabled:
                        gc.enable()
                yield chunk

    return header["truth"], float(header["seconds"]), chunks()


def load(
    n_records: int, seed: int, garbage: float = 0.01
) -> tuple[list[dict[str, Any]], dict[str, str], float]:
    """(records, truth, generation seconds), generating into the cache when missing."""
    truth, seconds, chunks = load_chunks(n_records, seed, garbage)
    return [r for chunk in chunks for r in chunk], truth, seconds


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def current_rss_gib() -> float:
    """Resident memory of this process right now."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * resource.getpagesize() / 2**30


def load_avg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


# --- the benchmark ---------------------------------------------------------------------


def cpu_split() -> tuple[float, float]:
    """(user + system CPU of this process, of its reaped children)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (normalize workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(
    n_records: int, seed: int, garbage: float, with_survive: bool, workers: Workers = "auto"
) -> dict[str, Any]:
    from crmhub.synthetic import pairwise_score
    from crmhub_dedupe.cluster import ChainGuard, cluster_scored_pairs
    from crmhub_dedupe.normalize import normalize_chunks, resolve_workers
    from crmhub_dedupe.pipeline import score_pairs
    from crmhub_dedupe.settings import MatchSettings

    truth, gen_seconds, chunks = load_chunks(n_records, seed, garbage)
    kept: list[dict[str, Any]] = []
    out: dict[str, Any] = {
        "seed": seed,
        "workers": resolve_workers(workers, n_records),
        "workers_setting": workers,
        "generation_s": round(gen_seconds, 1),
        "load_at_start": load_avg(),
        "stages_s": {},
    }
    stages = out["stages_s"]
    t0 = time.perf_counter()
    cpu0 = cpu_seconds()
    own0, kids0 = cpu_split()

    def batches() -> Iterator[list[dict[str, Any]]]:
        for chunk in chunks:
            if with_survive:
                kept.extend(chunk)
            yield chunk

    # Normalize batch by batch in `workers` processes: only a few chunks of record dicts
    # are alive at a time (unless --survive needs them all again afterwards).
    with TreeMemory() as tree:
        frame = normalize_chunks(batches(), workers=workers, records=n_records).frame
        gc.collect()
    out["records"] = len(frame)
    stages["normalize"] = time.perf_counter() - t0
    # the sampler's CPU joins RUSAGE_CHILDREN when it is reaped: not the benchmark's
    sampler_cpu = float(tree.result.get("cpu_s", 0.0))
    out["normalize_cpu_s"] = round(cpu_seconds() - cpu0 - sampler_cpu, 1)
    own1, kids1 = cpu_split()
    out["normalize_cpu_this_process_s"] = round(own1 - own0, 1)
    out["normalize_cpu_workers_s"] = round(kids1 - kids0 - sampler_cpu, 1)
    out["normalize_tree_peak_pss_gib"] = tree.result.get("peak_pss_gib")
    out["normalize_tree"] = tree.result

    settings = MatchSettings.default()
    scored = score_pairs(frame, settings)
    stages.update({k: v for k, v in scored.timings.items()})
    t1 = time.perf_counter()
    pairs = scored.pairs
    merge = pairs["classification"].to_numpy() == "merge"
    clustering = cluster_scored_pairs(
        len(frame),
        pairs["i"].to_numpy(),
        pairs["j"].to_numpy(),
        pairs["match_weight"].to_numpy(),
        merge,
        guard=ChainGuard(),
    )
    stages["cluster"] = time.perf_counter() - t1
    total = time.perf_counter() - t0
    out["end_to_end_cpu_s"] = round(cpu_seconds() - cpu0 - sampler_cpu, 1)
    ids = frame["record_id"].to_numpy(dtype=object)
    predicted = dict(zip(ids.tolist(), clustering.labels.tolist(), strict=True))
    score = pairwise_score(predicted, truth)
    out.update(
        {
            "end_to_end_s": round(total, 1),
            "peak_rss_gib": round(peak_gib(), 2),
            "peak_gib": round(max(peak_gib(), float(tree.result.get("peak_pss_gib", 0.0))), 2),
            "pairs_scored": len(pairs),
            "pairs_merge": int(merge.sum()),
            "pairs_review": int((pairs["classification"] == "review").sum()),
            "clusters": clustering.n_clusters,
            "guard_split_components": clustering.split_components,
            "precision": round(score.precision, 4),
            "recall": round(score.recall, 4),
            "f1": round(score.f1, 4),
            "true_pairs": score.true_pairs,
            "load_at_end": load_avg(),
        }
    )
    if with_survive:
        from crmhub_dedupe.survive import survive

        t2 = time.perf_counter()
        labels = [str(ids[k]) for k in clustering.labels.tolist()]
        by_id = {r["record_id"]: r for r in kept}
        golden = survive([by_id[i] for i in ids.tolist()], labels)
        out["survive_s"] = round(time.perf_counter() - t2, 1)
        out["golden_records"] = len(golden)
        out["peak_rss_gib_with_survive"] = round(peak_gib(), 2)
    for k, v in stages.items():
        stages[k] = round(v, 2)
    return out


def _workers(text: str) -> Workers:
    if text == "auto":
        return "auto"
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not 'auto' or a number >= 1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--garbage", type=float, default=0.01, help="share of garbage records")
    parser.add_argument("--survive", action="store_true", help="also build golden records")
    parser.add_argument(
        "--workers",
        type=_workers,
        default="auto",
        help="normalize processes: auto (default, as crmhub match: the CPUs this process may"
        " use, at most 4), 1 = in this process, N > 1 forks a child per chunk of records, N at"
        " a time (more CPU in all; pays on a machine with idle cores)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args.records, args.seed, args.garbage, args.survive, args.workers)
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"records             {result['records']:,} (generated in {result['generation_s']} s, cached)"
    )
    for stage, seconds in result["stages_s"].items():
        print(f"  {stage:<17} {seconds:8.2f} s")
    print(
        f"end to end          {result['end_to_end_s']} s  (normalize -> clusters),"
        f" CPU {result['end_to_end_cpu_s']} s (normalize {result['normalize_cpu_s']} s"
        f" in {result['workers']} process(es), --workers {result['workers_setting']}:"
        f" {result['normalize_cpu_this_process_s']} s here + {result['normalize_cpu_workers_s']}"
        f" s in workers);"
        f" {result['records'] / result['end_to_end_s']:,.0f} records/s"
    )
    tree = result["normalize_tree"]
    print(
        f"peak memory         {result['peak_gib']} GiB: the larger of this process's RSS"
        f" high-water mark {result['peak_rss_gib']} GiB and, during normalize, the PSS of the"
        f" process tree {tree.get('peak_pss_gib')} GiB (this process {tree.get('parent_pss_gib')}"
        f" GiB + {tree.get('children')} children; summed RSS {tree.get('peak_rss_sum_gib')} GiB"
        f" counts shared pages in each; sampler CPU {tree.get('cpu_s')} s, not counted)"
    )
    print(
        f"pairs scored        {result['pairs_scored']:,}  merge {result['pairs_merge']:,}  review {result['pairs_review']:,}"
    )
    print(
        f"clusters            {result['clusters']:,}  (chain guard rebuilt {result['guard_split_components']})"
    )
    print(f"pairwise precision  {result['precision']}")
    print(f"pairwise recall     {result['recall']}")
    print(f"pairwise F1         {result['f1']}  (true pairs {result['true_pairs']:,})")
    if "survive_s" in result:
        print(
            f"survive             {result['survive_s']} s, {result['golden_records']:,} golden records, peak {result['peak_rss_gib_with_survive']} GiB"
        )
    print(
        f"load average        {result['load_at_start']} at start, {result['load_at_end']} at end (2 cores, shared)"
    )


if __name__ == "__main__":
    main()
