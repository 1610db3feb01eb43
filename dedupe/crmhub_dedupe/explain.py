"""Explain a score field by field: (comparison, level label, weight) per pair.

The match weight of a pair is exactly the prior weight plus the listed field weights, so
what the steward screen shows adds up to the number it classifies on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmhub_dedupe.model import MatchModel
from crmhub_dedupe.settings import MatchSettings


@dataclass(frozen=True)
class FieldWeight:
    """One line of an explanation."""

    comparison: str
    level: str
    label: str
    weight: float


def explain_pair(
    pairs: pd.DataFrame, row: int, settings: MatchSettings, model: MatchModel
) -> list[FieldWeight]:
    """Field weights of the pair in row ``row`` of a scored-pairs frame, prior first.

    The first entry is the prior (``comparison`` = ``"prior"``); the weights sum to the
    pair's ``match_weight``.
    """
    rec = pairs.iloc[row]
    out = [FieldWeight("prior", "prior", "prior odds of a match", float(model.prior_weight))]
    for comp in settings.comparisons:
        level = comp.levels[int(rec[f"gamma_{comp.name}"])]
        out.append(
            FieldWeight(comp.name, level.name, level.label, float(rec[f"weight_{comp.name}"]))
        )
    return out


def explain_frame(pairs: pd.DataFrame, settings: MatchSettings) -> pd.DataFrame:
    """Every pair's explanation as a long frame: pair, comparison, level, label, weight.

    Vectorized (no loop over pairs): what the hub stores with each ``match_candidate``.
    """
    parts = []
    n = len(pairs)
    for comp in settings.comparisons:
        g = pairs[f"gamma_{comp.name}"].to_numpy(dtype=np.int64)
        names = np.array([lv.name for lv in comp.levels], dtype=object)
        labels = np.array([lv.label for lv in comp.levels], dtype=object)
        parts.append(
            pd.DataFrame(
                {
                    "pair": np.arange(n),
                    "comparison": comp.name,
                    "level": names[g],
                    "label": labels[g],
                    "weight": pairs[f"weight_{comp.name}"].to_numpy(dtype=np.float64),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["pair", "comparison", "level", "label", "weight"])
    return pd.concat(parts, ignore_index=True).sort_values(
        ["pair"], kind="stable", ignore_index=True
    )


def format_explanation(lines: list[FieldWeight]) -> str:
    """Plain-text table for the shell (``crmhub review show``)."""
    width = max((len(x.label) for x in lines), default=10)
    rows = [f"{x.label:<{width}}  {x.weight:+7.2f}" for x in lines]
    total = sum(x.weight for x in lines)
    rows.append(f"{'match weight':<{width}}  {total:+7.2f}")
    return "\n".join(rows)


def explanation_lines(
    settings: MatchSettings, model: MatchModel, gamma: np.ndarray, weights: np.ndarray
) -> list[list[dict[str, object]]]:
    """Per pair (rows of ``gamma``/``weights``): the prior, then each comparison's level
    and weight, as the JSON the hub stores with a review candidate. They add up."""
    prior = {
        "comparison": "prior",
        "level": "prior",
        "label": "prior odds of a match",
        "weight": round(float(model.prior_weight), 3),
    }
    out = []
    for k in range(len(gamma)):
        lines: list[dict[str, object]] = [dict(prior)]
        for c, comp in enumerate(settings.comparisons):
            level = comp.levels[int(gamma[k, c])]
            lines.append(
                {
                    "comparison": comp.name,
                    "level": level.name,
                    "label": level.label,
                    "weight": round(float(weights[k, c]), 3),
                }
            )
        out.append(lines)
    return out
