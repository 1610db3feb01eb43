"""The matching engine as the hub uses it: settings and model from the project, records in.

Settings come from ``matching.engine`` in crmhub.yml (the engine's own format, see
docs/matching/), with the thresholds of ``matching.thresholds``; the trained model (m/u
probabilities, prior) is kept in the master's ``state`` table so that incremental runs
score with the same weights, and re-estimated with ``crmhub match --full`` or ``--learn``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from crmhub.config import Project
from crmhub.errors import ConfigFileError, Problem
from crmhub.store.models import State
from crmhub.store.types import utcnow
from crmhub_dedupe.errors import DedupeError, MatchConfigError
from crmhub_dedupe.matcher import default_model
from crmhub_dedupe.model import MatchModel, refine_with_labels
from crmhub_dedupe.pipeline import train
from crmhub_dedupe.settings import MatchSettings

MODEL_STATE = ("model", "matching")
TRAINING_SAMPLE = 200_000
MIN_EM_RECORDS = 2_000


def engine_settings(project: Project) -> MatchSettings:
    """MatchSettings from the project; every problem is reported at once with its key."""
    matching = project.config.matching
    data: dict[str, Any] = dict(matching.engine)
    problems: list[Problem] = []
    if "thresholds" in data:
        problems.append(
            Problem("matching.engine.thresholds", "put thresholds under matching.thresholds")
        )
    data["thresholds"] = {
        "auto_merge": matching.thresholds.auto_merge,
        "review": matching.thresholds.review,
    }
    try:
        if len(data) == 1:
            base = MatchSettings.default().to_dict()
            base["thresholds"] = data["thresholds"]
            data = base
        settings = MatchSettings.from_dict(data)
    except MatchConfigError as exc:
        problems.extend(Problem("matching.engine", p) for p in exc.problems)
    except DedupeError as exc:
        problems.append(Problem("matching.engine", str(exc)))
    if problems:
        raise ConfigFileError(
            str(project.file), problems, hint="see docs/matching/scoring.md for the settings"
        )
    return settings


def load_model(session: Session, settings: MatchSettings) -> MatchModel | None:
    """The model the last training stored, or None (none yet, or made for other settings)."""
    row = session.scalar(
        select(State).where(State.scope == MODEL_STATE[0], State.name == MODEL_STATE[1])
    )
    if row is None:
        return None
    try:
        model = MatchModel.from_dict(row.value)
        model.check_settings(settings)
    except (DedupeError, KeyError, TypeError, ValueError):
        return None  # made for other settings (the project's or the engine's changed): retrain
    return model


def save_model(session: Session, model: MatchModel, run_id: int) -> None:
    """Keep the model for the next runs."""
    row = session.scalar(
        select(State).where(State.scope == MODEL_STATE[0], State.name == MODEL_STATE[1])
    )
    if row is None:
        session.add(
            State(
                scope=MODEL_STATE[0],
                name=MODEL_STATE[1],
                key="",
                value=model.to_dict(),
                run_id=run_id,
            )
        )
    else:
        row.value = model.to_dict()
        row.updated_at = utcnow()
        row.run_id = run_id


def train_model(
    frame: pd.DataFrame, settings: MatchSettings, *, custom: bool, seed: int = 0
) -> tuple[MatchModel, str]:
    """(model, how): EM on the frame (a sample of a very large one), or the shipped model.

    Too few records for EM to separate matches from non-matches: the default settings start
    from the model shipped with the engine; custom settings have no shipped model, so EM runs
    anyway and the run notes that its weights are unreliable.
    """
    if len(frame) < MIN_EM_RECORDS and not custom:
        model = default_model(len(frame))
        model.check_settings(settings)  # tests/hub/test_match.py keeps the shipped model current
        return model, "default"
    if len(frame) > TRAINING_SAMPLE:
        frame = frame.sample(n=TRAINING_SAMPLE, random_state=seed).reset_index(drop=True)
    return train(frame, settings), "em"


def learn_from_decisions(
    model: MatchModel,
    matcher: Any,
    frame: pd.DataFrame,
    decided: Sequence[tuple[str, str, bool]],
) -> tuple[MatchModel, int]:
    """Refine m/u with steward decisions (approved = match, rejected = not)."""
    row_of = {rid: k for k, rid in enumerate(frame["record_id"].tolist())}
    usable = [
        (row_of[a], row_of[b], label) for a, b, label in decided if a in row_of and b in row_of
    ]
    if not usable:
        return model, 0
    left = np.array([u[0] for u in usable], dtype=np.int64)
    right = np.array([u[1] for u in usable], dtype=np.int64)
    from crmhub_dedupe.comparison import compare

    gamma = compare(matcher.cache(frame), matcher.settings, left, right)
    labels = np.array([u[2] for u in usable], dtype=np.bool_)
    return refine_with_labels(model, gamma, labels), len(usable)


def explanation_lines(lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Explanation lines as stored with a match candidate (and shown to stewards)."""
    return [dict(line) for line in lines]
