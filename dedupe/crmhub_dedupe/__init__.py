"""crmhub_dedupe: the matching engine (normalize, validate, block, compare, score, cluster, survive).

Pure functions over pandas frames and plain config objects: no database, no I/O of its own,
no crmhub imports, so it is tested alone and the same code can run inside Spark workers.
The hub (crmhub/match) loads records, calls these stages and writes the master.
"""

from __future__ import annotations

from crmhub_dedupe.cluster import ChainGuard, Clustering, cluster_pairs, cluster_scored_pairs
from crmhub_dedupe.errors import DedupeError, MatchConfigError
from crmhub_dedupe.incremental import IncrementalResult, Thresholds, match_incremental
from crmhub_dedupe.matcher import IncrementalMatcher, default_model
from crmhub_dedupe.model import MatchModel, refine_with_labels
from crmhub_dedupe.normalize import (
    ISSUE_CODES,
    NormalizedFrame,
    NormalizeInputError,
    normalize_frame,
)
from crmhub_dedupe.pipeline import ScoredPairs, score_pairs, train
from crmhub_dedupe.settings import MatchSettings
from crmhub_dedupe.survive import SurvivorshipConfig, survive
from crmhub_dedupe.validate import ValidationResult, validate_canonical

__all__ = [
    "ISSUE_CODES",
    "ChainGuard",
    "Clustering",
    "DedupeError",
    "IncrementalMatcher",
    "IncrementalResult",
    "MatchConfigError",
    "MatchModel",
    "MatchSettings",
    "NormalizeInputError",
    "NormalizedFrame",
    "ScoredPairs",
    "SurvivorshipConfig",
    "Thresholds",
    "ValidationResult",
    "cluster_pairs",
    "cluster_scored_pairs",
    "default_model",
    "match_incremental",
    "normalize_frame",
    "refine_with_labels",
    "score_pairs",
    "survive",
    "train",
    "validate_canonical",
]
