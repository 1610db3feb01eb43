"""The Fellegi-Sunter model: m and u per comparison level, a prior, EM, label refinement.

``m[k][l]`` = P(level l of comparison k | the pair is a match), ``u[k][l]`` = the same
for non-matches. The null level carries no evidence (its weight is 0 whatever m and u say).
EM runs on *distinct gamma patterns* with their counts, so an iteration costs
O(patterns x comparisons), not O(pairs). The model is plain JSON to store in the master.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmhub_dedupe.errors import ModelError
from crmhub_dedupe.settings import MatchSettings

FloatArray = npt.NDArray[np.float64]
GammaArray = npt.NDArray[np.int8]

MODEL_FORMAT = 1
#: Probabilities are kept inside [_FLOOR, 1 - _FLOOR] so that no weight is infinite.
_FLOOR = 1e-7


@dataclass
class ComparisonParams:
    """m and u for each level of one comparison (index 0 = null, last = else)."""

    name: str
    level_names: list[str]
    level_labels: list[str]
    m: FloatArray
    u: FloatArray
    m_estimated: bool = False

    def weights(self) -> FloatArray:
        """log2(m/u) per level; 0 for the null level."""
        w = np.log2(np.clip(self.m, _FLOOR, 1.0) / np.clip(self.u, _FLOOR, 1.0))
        w[0] = 0.0
        return np.asarray(w, dtype=np.float64)


@dataclass
class MatchModel:
    """A trained Fellegi-Sunter model (JSON-serializable with :meth:`to_json`)."""

    prior: float
    comparisons: list[ComparisonParams]
    notes: list[str] = field(default_factory=list)
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def prior_weight(self) -> float:
        """log2 prior odds: the match weight of a pair before any comparison."""
        return math.log2(self.prior / (1.0 - self.prior))

    def params(self, name: str) -> ComparisonParams:
        """Parameters of the comparison called ``name``."""
        for p in self.comparisons:
            if p.name == name:
                return p
        raise KeyError(name)

    def check_settings(self, settings: MatchSettings) -> None:
        """Raise :class:`ModelError` when the model was trained for other comparisons."""
        problems = []
        have = {p.name: p for p in self.comparisons}
        for comp in settings.comparisons:
            p = have.get(comp.name)
            if p is None:
                problems.append(f"comparison {comp.name!r} is not in the model")
            elif p.level_names != [lv.name for lv in comp.levels]:
                problems.append(
                    f"comparison {comp.name!r}: the model has levels {p.level_names}, "
                    f"the settings {[lv.name for lv in comp.levels]}"
                )
        extra = set(have) - {c.name for c in settings.comparisons}
        problems += [f"the model has comparison {n!r}, the settings do not" for n in sorted(extra)]
        if problems:
            raise ModelError(
                "the stored match model does not fit the matching settings: " + "; ".join(problems),
                hint="retrain the model (crmhub match --full retrains it)",
            )

    def ordered_for(self, settings: MatchSettings) -> list[ComparisonParams]:
        """Parameters in the settings' comparison order (after :meth:`check_settings`)."""
        self.check_settings(settings)
        return [self.params(c.name) for c in settings.comparisons]

    # ---- JSON ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-safe)."""
        return {
            "format": MODEL_FORMAT,
            "prior": self.prior,
            "comparisons": [
                {
                    "name": p.name,
                    "m_estimated": p.m_estimated,
                    "levels": [
                        {"name": n, "label": lab, "m": float(m), "u": float(u)}
                        for n, lab, m, u in zip(
                            p.level_names, p.level_labels, p.m, p.u, strict=True
                        )
                    ],
                }
                for p in self.comparisons
            ],
            "notes": list(self.notes),
            "training": self.training,
        }

    def to_json(self) -> str:
        """JSON text, to store in the master."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchModel:
        """Read a model written by :meth:`to_dict`."""
        try:
            if data.get("format") != MODEL_FORMAT:
                raise ModelError(
                    f"match model format {data.get('format')!r} is not {MODEL_FORMAT}",
                    hint="retrain the model",
                )
            comps = [
                ComparisonParams(
                    name=str(c["name"]),
                    level_names=[str(lv["name"]) for lv in c["levels"]],
                    level_labels=[str(lv["label"]) for lv in c["levels"]],
                    m=np.array([float(lv["m"]) for lv in c["levels"]]),
                    u=np.array([float(lv["u"]) for lv in c["levels"]]),
                    m_estimated=bool(c.get("m_estimated", False)),
                )
                for c in data["comparisons"]
            ]
            prior = float(data["prior"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"match model is damaged: {exc!r}", hint="retrain it") from exc
        if not 0.0 < prior < 1.0:
            raise ModelError(f"match model prior {prior} is not a probability", hint="retrain it")
        return cls(
            prior=prior,
            comparisons=comps,
            notes=list(data.get("notes", [])),
            training=dict(data.get("training", {})),
        )

    @classmethod
    def from_json(cls, text: str) -> MatchModel:
        """Read a model from JSON text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"match model is not valid JSON: {exc}", hint="retrain it") from exc
        return cls.from_dict(data)


def initial_model(settings: MatchSettings, prior: float = 1e-4) -> MatchModel:
    """Starting values: m falls from the best level to else, u rises; both normalized."""
    comps = []
    for comp in settings.comparisons:
        k = len(comp.levels)
        n_real = k - 1  # without null
        m = np.zeros(k)
        u = np.zeros(k)
        # geometric: best level most likely for matches, else most likely for non-matches
        m[1:] = 0.5 ** np.arange(n_real)
        u[1:] = 0.5 ** np.arange(n_real)[::-1]
        m[1:] /= m[1:].sum()
        u[1:] /= u[1:].sum()
        m[0] = u[0] = 1.0
        comps.append(
            ComparisonParams(
                name=comp.name,
                level_names=[lv.name for lv in comp.levels],
                level_labels=[lv.label for lv in comp.levels],
                m=m,
                u=u,
            )
        )
    return MatchModel(prior=prior, comparisons=comps)


def level_frequencies(gamma_col: npt.NDArray[np.int8], n_levels: int, pseudo: float) -> FloatArray:
    """Share of each non-null level in one gamma column (null slot = 1.0)."""
    counts = np.bincount(gamma_col.astype(np.int64), minlength=n_levels).astype(np.float64)
    counts[0] = 0.0
    counts[1:] += pseudo
    total = counts[1:].sum()
    out = counts / total if total > 0 else np.full(n_levels, 1.0 / max(1, n_levels - 1))
    out[0] = 1.0
    return out


def pattern_counts(gamma: GammaArray) -> tuple[GammaArray, FloatArray]:
    """Distinct gamma rows and how often each occurs (mixed-radix int64 keys, hashed)."""
    if gamma.shape[0] == 0:
        return gamma, np.zeros(0)
    n_levels = gamma.max(axis=0).astype(np.int64) + 1
    radix = np.cumprod(np.concatenate(([1], n_levels[:-1])))
    if float(np.prod(n_levels.astype(np.float64))) < 2**62:
        keys = gamma.astype(np.int64) @ radix
        codes, uniq = pd.factorize(keys)
        counts = np.bincount(codes, minlength=len(uniq)).astype(np.float64)
        first = np.full(len(uniq), -1, dtype=np.int64)
        first[codes[::-1]] = np.arange(codes.size - 1, -1, -1)  # first row of each pattern
        return gamma[first], counts
    rows, row_counts = np.unique(gamma, axis=0, return_counts=True)
    return rows, row_counts.astype(np.float64)


@dataclass
class EMResult:
    """What one EM run found."""

    m: list[FloatArray]
    u: list[FloatArray]
    prior: float
    iterations: int
    converged: bool
    expected_matches: float


def expectation_maximisation(
    patterns: GammaArray,
    counts: FloatArray,
    m: Sequence[FloatArray],
    u: Sequence[FloatArray],
    prior: float,
    *,
    active: Sequence[bool],
    fix_u: bool = True,
    max_iterations: int = 30,
    tolerance: float = 1e-5,
) -> EMResult:
    """EM over gamma patterns; only ``active`` comparisons enter the likelihood and update.

    Inactive comparisons (those a blocking rule forced to agree) are left out entirely: their
    agreement in the blocked pairs says nothing about matches.
    """
    m = [np.array(x, dtype=np.float64) for x in m]
    u = [np.array(x, dtype=np.float64) for x in u]
    idx = [k for k, a in enumerate(active) if a]
    pat = patterns.astype(np.int64)
    converged = False
    it = 0
    post = np.zeros(counts.size)
    for it in range(1, max_iterations + 1):  # noqa: B007 - reported after the loop
        logit = np.full(counts.size, math.log(prior / (1.0 - prior)))
        for k in idx:
            g = pat[:, k]
            w = np.log(np.clip(m[k], _FLOOR, 1.0)) - np.log(np.clip(u[k], _FLOOR, 1.0))
            w[0] = 0.0
            logit += w[g]
        post = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        wm = counts * post
        wu = counts * (1.0 - post)
        delta = 0.0
        for k in idx:
            g = pat[:, k]
            n_lv = m[k].size
            # half a pair per level: no level is "impossible" because a sample missed it
            cm = np.bincount(g, weights=wm, minlength=n_lv) + 0.5
            cm[0] = 0.0
            if cm[1:].sum() > 0:
                new_m = np.clip(cm / cm[1:].sum(), _FLOOR, 1.0)
                new_m[0] = 1.0
                delta = max(delta, float(np.abs(new_m - m[k]).max()))
                m[k] = new_m
            if not fix_u:
                cu = np.bincount(g, weights=wu, minlength=n_lv)
                cu[0] = 0.0
                if cu[1:].sum() > 0:
                    new_u = np.clip(cu / cu[1:].sum(), _FLOOR, 1.0)
                    new_u[0] = 1.0
                    delta = max(delta, float(np.abs(new_u - u[k]).max()))
                    u[k] = new_u
        new_prior = float(np.clip(wm.sum() / counts.sum(), _FLOOR, 1 - _FLOOR))
        delta = max(delta, abs(new_prior - prior))
        prior = new_prior
        if delta < tolerance:
            converged = True
            break
    return EMResult(m, u, prior, it, converged, float((counts * post).sum()))


def refine_with_labels(
    model: MatchModel,
    comparison_vectors: GammaArray | Any,
    labels: Sequence[bool] | npt.NDArray[np.bool_],
    *,
    m_strength: float = 50.0,
    u_strength: float = 1000.0,
) -> MatchModel:
    """Re-estimate m (and gently u) from steward decisions: approved = match, rejected = not.

    ``comparison_vectors`` is the gamma matrix of the labelled pairs (pairs x comparisons,
    in the model's comparison order) or a frame with ``gamma_<comparison>`` columns.
    The current m and u act as prior pseudo-counts (``m_strength``, ``u_strength``), so a few
    decisions nudge the model and many decisions dominate it. u moves less by default:
    rejected pairs are hard look-alikes, not random pairs.
    """
    gamma = _as_gamma(model, comparison_vectors)
    y = np.asarray(labels, dtype=bool)
    if y.shape[0] != gamma.shape[0]:
        raise ModelError(
            f"refine_with_labels: {gamma.shape[0]} comparison vectors but {y.shape[0]} labels",
            hint="pass one label (True = approved match, False = rejected) per labelled pair",
        )
    comps = []
    for k, p in enumerate(model.comparisons):
        g = gamma[:, k].astype(np.int64)
        n_lv = p.m.size
        if g.size and (g.max() >= n_lv or g.min() < 0):
            raise ModelError(
                f"refine_with_labels: comparison {p.name!r} has levels 0..{n_lv - 1}, "
                f"got level {int(g.max())}",
            )
        new_m = _blend(p.m, np.bincount(g[y], minlength=n_lv).astype(np.float64), m_strength)
        new_u = _blend(p.u, np.bincount(g[~y], minlength=n_lv).astype(np.float64), u_strength)
        comps.append(
            ComparisonParams(
                p.name, list(p.level_names), list(p.level_labels), new_m, new_u, p.m_estimated
            )
        )
    training = dict(model.training)
    training["labelled_pairs"] = int(training.get("labelled_pairs", 0)) + int(y.size)
    training["labelled_matches"] = int(training.get("labelled_matches", 0)) + int(y.sum())
    return MatchModel(
        prior=model.prior, comparisons=comps, notes=list(model.notes), training=training
    )


def _blend(current: FloatArray, counts: FloatArray, strength: float) -> FloatArray:
    counts = counts.copy()
    counts[0] = 0.0
    total = counts[1:].sum()
    if total == 0:
        return current.copy()
    out = (current * strength + counts) / (strength + total)
    out[1:] = np.clip(out[1:] / out[1:].sum(), _FLOOR, 1.0)
    out[0] = 1.0
    return np.asarray(out, dtype=np.float64)


def _as_gamma(model: MatchModel, vectors: Any) -> GammaArray:
    if isinstance(vectors, np.ndarray):
        gamma = vectors
    else:  # a frame with gamma_<name> columns (a ScoredPairs frame or a stored candidate list)
        cols = [f"gamma_{p.name}" for p in model.comparisons]
        missing = [c for c in cols if c not in vectors.columns]
        if missing:
            raise ModelError(f"refine_with_labels: the pairs lack columns {missing}")
        gamma = vectors[cols].to_numpy()
    gamma = np.asarray(gamma)
    if gamma.ndim != 2 or gamma.shape[1] != len(model.comparisons):
        raise ModelError(
            f"refine_with_labels: expected {len(model.comparisons)} comparison columns, "
            f"got shape {gamma.shape}"
        )
    return gamma.astype(np.int8)
