"""Train the engine's shipped default model (m/u, prior) on generated customers.

    .venv/bin/python benchmarks/train_default_model.py [--entities 30000] [--seed 11]

Fellegi-Sunter weights cannot be estimated from a handful of records; a project too small
for EM starts from this model instead (crmhub/match/engine.py). It is trained without labels,
exactly as a project's own data would be, on a set from our generator, and checked on a set
made with another seed. Writes dedupe/crmhub_dedupe/models/default_customer_model.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from crmhub.synthetic import generate, pairwise_score
from crmhub_dedupe.cluster import connected_components
from crmhub_dedupe.normalize import normalize_frame
from crmhub_dedupe.pipeline import score_pairs, train
from crmhub_dedupe.settings import MatchSettings

OUT = (
    Path(__file__).resolve().parents[1]
    / "dedupe"
    / "crmhub_dedupe"
    / "models"
    / "default_customer_model.json"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    settings = MatchSettings.default()
    started = time.perf_counter()
    data = generate(args.entities, seed=args.seed)
    frame = normalize_frame(data.records).frame
    model = train(frame, settings)
    model.training["records"] = len(frame)  # lets default_model() rescale the prior
    OUT.write_text(json.dumps(model.to_dict(), indent=1, sort_keys=True) + "\n")
    print(f"trained on {len(frame):,} records in {time.perf_counter() - started:.1f} s -> {OUT}")
    check = generate(3000, seed=args.seed + 1000)
    cframe = normalize_frame(check.records).frame
    scored = score_pairs(cframe, settings, model)
    merge = scored.pairs[scored.pairs["classification"] == "merge"]
    labels = connected_components(len(cframe), merge["i"].to_numpy(), merge["j"].to_numpy())
    ids = cframe["record_id"].tolist()
    result = pairwise_score(dict(zip(ids, np.asarray(labels).tolist(), strict=True)), check.truth)
    print(
        f"check on another seed: precision {result.precision:.4f} recall {result.recall:.4f} F1 {result.f1:.4f}"
    )


if __name__ == "__main__":
    main()
