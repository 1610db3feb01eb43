"""End to end on small frames: guards against look-alikes, term frequencies, explanations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from crmhub_dedupe.errors import MatchConfigError
from crmhub_dedupe.model import MatchModel, refine_with_labels
from crmhub_dedupe.pipeline import ScoredPairs, score_pairs, train
from crmhub_dedupe.settings import MatchSettings

from .frames import make_frame

GIVEN = [
    "jan",
    "piet",
    "anna",
    "maria",
    "rahul",
    "priya",
    "hans",
    "greta",
    "john",
    "mary",
    "karin",
    "lars",
    "sanne",
    "ravi",
    "sophie",
    "lukas",
    "emma",
    "noah",
    "mila",
    "finn",
]
FAMILY = [
    "jansen",
    "de vries",
    "bakker",
    "sharma",
    "mueller",
    "schmidt",
    "smith",
    "patel",
    "berg",
    "visser",
    "rao",
    "singh",
    "kumar",
    "meijer",
    "dekker",
    "brouwer",
    "koch",
    "wagner",
    "gupta",
    "iyer",
    "ahmed",
    "vos",
    "peters",
    "hendriks",
]
N_PEOPLE = 1200
CITIES = ["amsterdam", "utrecht", "berlin", "mumbai", "london", "delft", "pune", "leeds"]


def _typo(rng: np.random.Generator, s: str) -> str:
    if len(s) < 4:
        return s
    p = int(rng.integers(1, len(s) - 1))
    return s[:p] + s[p + 1] + s[p] + s[p + 2 :]


def _population(seed: int, n: int) -> tuple[pd.DataFrame, set[tuple[str, str]]]:
    """n people, a third of them duplicated with typos and missing fields; + the truth."""
    rng = np.random.default_rng(seed)
    recs: list[dict[str, Any]] = []
    truth: set[tuple[str, str]] = set()
    for k in range(n):
        g, f = str(rng.choice(GIVEN)), str(rng.choice(FAMILY))
        city_i = int(rng.integers(len(CITIES)))
        base = {
            "record_id": f"p{k}",
            "given": g,
            "family": f,
            "birth_date": f"19{rng.integers(40, 99)}-{rng.integers(1, 13):02d}-"
            f"{rng.integers(1, 29):02d}",
            "street": f"street {rng.integers(60)}",
            "house_number": str(rng.integers(1, 200)),
            "postcode": f"{city_i}{rng.integers(100, 999)}",
            "city": CITIES[city_i],
            "email": f"{g}.{f.replace(' ', '')}{k}@mail.example",
            "phone": f"+3161{k:07d}",
        }
        recs.append(base)
        if k % 3 == 0:
            dup = dict(base, record_id=f"d{k}")
            dup["given"] = _typo(rng, g) if k % 2 else g
            dup["family"] = _typo(rng, f) if k % 5 == 0 else f
            if k % 4 == 0:
                dup["email"] = None
            if k % 7 == 0:
                dup["phone"] = None
            if k % 11 == 0:
                dup["birth_date"] = None
            recs.append(dup)
            truth.add((f"p{k}", f"d{k}"))
    return make_frame(recs), truth


@pytest.fixture(scope="module")
def population() -> tuple[pd.DataFrame, set[tuple[str, str]], ScoredPairs]:
    frame, truth = _population(1, N_PEOPLE)
    return frame, truth, score_pairs(frame, MatchSettings.default())


def _keyset(pairs: pd.DataFrame, mask: Any) -> set[tuple[str, str]]:
    sub = pairs[mask]
    return {tuple(sorted((a, b))) for a, b in zip(sub.left_id, sub.right_id, strict=True)}  # type: ignore[misc]


def test_unsupervised_quality_on_a_seeded_population(population: Any) -> None:
    _, truth, scored = population
    truth = {tuple(sorted(t)) for t in truth}
    merged = _keyset(scored.pairs, scored.pairs["classification"] == "merge")
    tp = len(merged & truth)
    precision = tp / max(1, len(merged))
    recall = tp / len(truth)
    assert precision >= 0.98, (precision, recall)
    assert recall >= 0.9, (precision, recall)
    assert scored.model.prior > 0
    assert all(
        p.m_estimated
        for p in scored.model.comparisons
        if p.name in ("given", "family", "birth_date", "postcode")
    )


def test_every_score_decomposes_into_labelled_field_weights(population: Any) -> None:
    _, _, scored = population
    pairs = scored.pairs
    weights = pairs[[c for c in pairs.columns if c.startswith("weight_")]].to_numpy()
    total = weights.sum(axis=1) + scored.model.prior_weight
    np.testing.assert_allclose(total, pairs["match_weight"], rtol=1e-5, atol=1e-3)
    row = int(np.argmax(pairs["match_weight"].to_numpy()))
    lines = scored.explain(row)
    assert lines[0].comparison == "prior"
    assert sum(x.weight for x in lines) == pytest.approx(pairs["match_weight"].iat[row], abs=1e-3)
    labels = {x.label for x in lines}
    assert "email exact (a shared value)" in labels or "email missing" in labels
    long = scored.explanations()
    assert len(long) == len(pairs) * len(scored.settings.comparisons)
    assert set(long.columns) == {"pair", "comparison", "level", "label", "weight"}


def test_model_json_rescoring_gives_the_same_scores(population: Any) -> None:
    frame, _, scored = population
    model = MatchModel.from_json(scored.model.to_json())
    again = score_pairs(frame, scored.settings, model)
    np.testing.assert_allclose(again.pairs["match_weight"], scored.pairs["match_weight"], rtol=1e-6)


def _with(population: Any, extra: list[dict[str, Any]]) -> ScoredPairs:
    frame, _, scored = population
    more = make_frame(extra)
    more["record_id"] = [f"x{k}" for k in range(len(more))]
    both = pd.concat([frame, more], ignore_index=True)
    return score_pairs(both, scored.settings, scored.model)


def _pair(scored: ScoredPairs, a: str, b: str) -> pd.Series:
    p = scored.pairs
    hit = p[((p.left_id == a) & (p.right_id == b)) | ((p.left_id == b) & (p.right_id == a))]
    assert len(hit) == 1, f"pair {a}-{b} was not blocked"
    return hit.iloc[0]


def test_family_members_at_one_address_do_not_auto_merge(population: Any) -> None:
    home = {
        "family": "okonkwo",
        "street": "lindenlaan",
        "house_number": "7",
        "postcode": "3512AB",
        "city": "utrecht",
        "phone": "+31301234567",
    }
    scored = _with(
        population,
        [
            dict(home, given="chidi", birth_date="1975-03-02"),
            dict(home, given="ngozi", birth_date="1978-11-20"),
            dict(home, given="emeka", birth_date="2005-06-14"),
            dict(home, given="chidi", birth_date="1975-03-02", email="chidi@ok.example"),
        ],
    )
    for a, b in (("x0", "x1"), ("x0", "x2"), ("x1", "x2")):
        pair = _pair(scored, a, b)
        assert pair.classification != "merge", pair.to_dict()
        assert pair["weight_given"] < -2 and pair["weight_birth_date"] < -2
    # the same person twice at that address does merge
    assert _pair(scored, "x0", "x3").classification == "merge"


def test_namesakes_in_other_cities_do_not_auto_merge(population: Any) -> None:
    scored = _with(
        population,
        [
            {
                "given": "rahul",
                "family": "sharma",
                "city": "mumbai",
                "postcode": "400001",
                "street": "marine drive",
                "house_number": "4",
            },
            {
                "given": "rahul",
                "family": "sharma",
                "city": "pune",
                "postcode": "411001",
                "street": "fc road",
                "house_number": "18",
            },
        ],
    )
    pair = _pair(scored, "x0", "x1")
    assert pair.classification != "merge"


def test_company_branches_do_not_auto_merge() -> None:
    recs: list[dict[str, Any]] = []
    for k in range(200):
        city = CITIES[k % len(CITIES)]
        recs.append(
            {
                "org": f"company {k}",
                "city": city,
                "postcode": f"{k:04d}",
                "street": f"weg {k}",
                "house_number": "1",
                "kind": "organization",
            }
        )
    acme = {"org": "acme trading", "kind": "organization", "legal_form": "bv"}
    recs += [
        dict(
            acme,
            city="amsterdam",
            postcode="1011AA",
            street="damrak",
            house_number="1",
            phone="+31201111111",
        ),
        dict(
            acme,
            city="amsterdam",
            postcode="1017AB",
            street="kalverstraat",
            house_number="20",
            phone="+31203333333",
        ),
        dict(
            acme,
            city="rotterdam",
            postcode="3011AA",
            street="coolsingel",
            house_number="5",
            phone="+31102222222",
        ),
        dict(
            acme,
            city="amsterdam",
            postcode="1011AA",
            street="damrak",
            house_number="1",
            phone="+31201111111",
        ),
    ]
    frame = make_frame(recs)
    scored = score_pairs(frame, MatchSettings.default())
    # a branch in the same city (other street): blocked, but never auto-merged
    branch = _pair(scored, "r200", "r201")
    assert branch.classification != "merge"
    assert branch.guard.startswith("branch of the same company") or branch.probability < 0.99
    # a branch in another city is not even a candidate, or not merged
    p = scored.pairs
    other = p[(p.left_id == "r200") & (p.right_id == "r202")]
    assert (other.classification != "merge").all()
    # the same office twice merges
    assert _pair(scored, "r200", "r203").classification == "merge"


def test_common_names_weigh_less_than_rare_names(population: Any) -> None:
    frame, _, scored = population
    extra = []
    for k in range(40):  # many Sharmas
        extra.append({"given": f"g{k}", "family": "sharma", "city": "leeds"})
    extra += [
        {"given": "zed", "family": "sharma", "postcode": "9999ZZ"},
        {"given": "zed", "family": "sharma", "postcode": "9999ZZ"},
        {"given": "zed", "family": "vanderwaterschoot", "postcode": "9998ZZ"},
        {"given": "zed", "family": "vanderwaterschoot", "postcode": "9998ZZ"},
    ]
    more = make_frame(extra)
    more["record_id"] = [f"x{k}" for k in range(len(more))]
    both = pd.concat([frame, more], ignore_index=True)
    again = score_pairs(both, scored.settings, scored.model)
    common = _pair(again, "x40", "x41")["weight_family"]
    rare = _pair(again, "x42", "x43")["weight_family"]
    assert rare > common + 3


def test_linkage_mode_only_pairs_across(population: Any) -> None:
    frame, _, scored = population
    side = np.zeros(len(frame), dtype=bool)
    side[: len(frame) // 2] = True
    linked = score_pairs(frame, scored.settings, scored.model, link_only_between=side)
    assert len(linked) > 0
    assert (side[linked.pairs["i"]] != side[linked.pairs["j"]]).all()


def test_steward_decisions_refine_the_model(population: Any) -> None:
    _, truth, scored = population
    truth = {tuple(sorted(t)) for t in truth}
    review = scored.pairs[scored.pairs["classification"] != "distinct"].head(200)
    labels = [
        tuple(sorted((a, b))) in truth for a, b in zip(review.left_id, review.right_id, strict=True)
    ]
    refined = refine_with_labels(scored.model, review, labels)
    assert refined.training["labelled_pairs"] == len(review)
    assert any(
        not np.allclose(a.m, b.m)
        for a, b in zip(scored.model.comparisons, refined.comparisons, strict=True)
    )


def test_missing_field_in_frame_is_a_config_error() -> None:
    frame = make_frame([{"given": "a"}, {"given": "b"}]).drop(columns=["postcode"])
    with pytest.raises(MatchConfigError) as err:
        score_pairs(frame, MatchSettings.default())
    assert any("'postcode'" in p for p in err.value.problems)


def test_train_on_tiny_frames_does_not_crash() -> None:
    model = train(make_frame([{"given": "a"}]), MatchSettings.default())
    assert model.notes
    scored = score_pairs(
        make_frame([{"given": "a"}, {"given": "a"}]), MatchSettings.default(), model
    )
    assert len(scored) >= 0


def test_prior_from_settings_or_deterministic_rules(population: Any) -> None:
    frame, truth, _ = population
    data = MatchSettings.default().to_dict()
    data["em"]["prior"] = 0.01
    fixed = train(frame, MatchSettings.from_dict(data))
    assert fixed.prior == pytest.approx(0.01)
    assert fixed.training["prior_source"] == "settings"
    data["em"]["prior"] = None
    data["em"]["deterministic_rules"] = [["email"]]
    data["em"]["deterministic_recall"] = 0.5
    det = train(frame, MatchSettings.from_dict(data))
    assert det.training["prior_source"] == "deterministic_rules"
    n = len(frame)
    # duplicates that kept their email, divided by the recall, over all pairs
    kept_email = sum(1 for k in range(0, N_PEOPLE, 3) if k % 4 != 0)
    assert det.prior == pytest.approx(kept_email / 0.5 / (n * (n - 1) / 2), rel=0.01)
    assert len(truth) == len(range(0, N_PEOPLE, 3))
