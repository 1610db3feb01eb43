"""Quality gate: the matching engine on the synthetic international set, end to end.

normalize -> block -> compare -> EM -> score -> cluster -> survive on a few thousand
generated records (two seeds, unseen by any tuning), pairwise F1 against the truth.
"""

from __future__ import annotations

import pytest

from crmhub.synthetic import generate_records, pairwise_score, split_sources
from crmhub_dedupe.cluster import cluster_scored_pairs
from crmhub_dedupe.normalize import normalize_frame
from crmhub_dedupe.pipeline import score_pairs
from crmhub_dedupe.settings import MatchSettings
from crmhub_dedupe.survive import survive


@pytest.mark.slow
@pytest.mark.parametrize("seed", [101, 202])
def test_pairwise_f1_on_the_international_set(seed: int) -> None:
    data = generate_records(4000, seed=seed)
    records = [r for recs in split_sources(data, seed=seed).values() for r in recs]
    frame = normalize_frame(records).frame
    pairs = score_pairs(frame, MatchSettings.default()).pairs
    merge = pairs["classification"].to_numpy() == "merge"
    clustering = cluster_scored_pairs(
        len(frame),
        pairs["i"].to_numpy(),
        pairs["j"].to_numpy(),
        pairs["match_weight"].to_numpy(),
        merge,
    )
    ids = frame["record_id"].to_numpy(dtype=object)
    score = pairwise_score(
        dict(zip(ids.tolist(), clustering.labels.tolist(), strict=True)), data.truth
    )
    assert score.f1 >= 0.97, f"seed={seed}: {score}"
    # Every cluster becomes one golden record that names all its members.
    labels = [str(ids[k]) for k in clustering.labels.tolist()]
    by_id = {r["record_id"]: r for r in records}
    golden = survive([by_id[i] for i in ids.tolist()], labels)
    assert len(golden) == clustering.n_clusters
    assert sum(len(g.record_ids) for g in golden.values()) == len(records)
