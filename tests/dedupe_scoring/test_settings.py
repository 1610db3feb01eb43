"""Reading the matching settings: defaults, labels, and every problem collected at once."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from crmhub_dedupe.errors import MatchConfigError
from crmhub_dedupe.settings import DEFAULT_MATCHING, MatchSettings


def _default() -> dict[str, Any]:
    return copy.deepcopy(DEFAULT_MATCHING)


def test_default_settings_round_trip_and_have_labels() -> None:
    s = MatchSettings.default()
    assert MatchSettings.from_dict(s.to_dict()) == s
    for comp in s.comparisons:
        assert comp.levels[0].kind == "null"
        assert comp.levels[-1].kind == "else"
        labels = [lv.label for lv in comp.levels]
        assert all(labels) and len(set(labels)) == len(labels)
    given = s.comparison("given")
    assert [lv.label for lv in given.levels][:3] == [
        "given name missing",
        "given name exact",
        "given name Jaro-Winkler >= 0.92",
    ]
    assert s.comparison("birth_date").levels[0].label == "birth date missing"
    # term frequencies apply to the exact level of the listed columns
    assert s.comparison("family").levels[1].tf_adjust
    assert not s.comparison("postcode").levels[1].tf_adjust


def test_thresholds_out_of_order() -> None:
    data = _default()
    data["thresholds"] = {"auto_merge": 0.7, "review": 0.9}
    with pytest.raises(MatchConfigError) as err:
        MatchSettings.from_dict(data)
    assert any("out of order" in p for p in err.value.problems)
    assert err.value.exit_code == 78


def test_all_problems_are_collected_and_raised_once() -> None:
    data = _default()
    data["thresholds"] = {"auto_merge": 1.5, "review": 0.8}
    data["comparisons"].append({"column": "shoe_size", "levels": ["exact"]})
    data["comparisons"].append({"column": "city", "name": "city2", "levels": [{"soundex": 1}]})
    data["blocking_rules"].append(["no_such_field", "postcode"])
    data["colour"] = "blue"
    with pytest.raises(MatchConfigError) as err:
        MatchSettings.from_dict(data)
    text = "\n".join(err.value.problems)
    assert "shoe_size" in text
    assert "no_such_field" in text
    assert "auto_merge" in text
    assert "colour" in text
    assert "soundex" in text
    assert len(err.value.problems) >= 5
    assert "5 configuration problems" in str(err.value) or "problems" in str(err.value)


def test_fields_checked_against_the_real_frame() -> None:
    s = MatchSettings.default()
    with pytest.raises(MatchConfigError) as err:
        s.check_columns(["record_id", "given", "family"])
    assert any("'emails'" in p for p in err.value.problems)
    with pytest.raises(MatchConfigError) as err2:
        MatchSettings.from_dict(_default(), columns=["record_id", "given"])
    assert any("family" in p for p in err2.value.problems)


def test_extra_fields_and_custom_levels() -> None:
    data = _default()
    data["comparisons"].append(
        {
            "column": "x_customer_no",
            "label": "customer number",
            "identifier": True,
            "levels": ["exact", {"levenshtein": 1, "label": "customer number one typo"}],
        }
    )
    data["blocking_rules"].append(["x_customer_no[:4]"])
    s = MatchSettings.from_dict(data)
    comp = s.comparison("x_customer_no")
    assert comp.identifier
    assert [lv.label for lv in comp.levels] == [
        "customer number missing",
        "customer number exact",
        "customer number one typo",
        "customer number different",
    ]
    assert s.blocking_rules[-1].name == "[x_customer_no[:4]]"


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d.update(blocking_rules=[]), "at least one blocking rule"),
        (
            lambda d: d["blocking_rules"].append({"sorted_neighbourhood": "family", "window": 1}),
            "window",
        ),
        (lambda d: d["comparisons"][0]["levels"].append({"jaro_winkler": 1.7}), "(0, 1]"),
        (lambda d: d["guards"].append({"name": "g", "when": {"given": ["nope"]}}), "'nope'"),
        (lambda d: d["guards"].append({"name": "g", "when": {"shoe": ["else"]}}), "'shoe'"),
        (lambda d: d.update(max_pairs_per_rule=0), "max_pairs_per_rule"),
        (lambda d: d.update(em={"prior": 2}), "em.prior"),
        (lambda d: d.update(term_frequency=["postcode_x"]), "postcode_x"),
    ],
)
def test_bad_settings_name_the_key(mutate: Any, needle: str) -> None:
    data = _default()
    mutate(data)
    with pytest.raises(MatchConfigError) as err:
        MatchSettings.from_dict(data)
    assert needle in str(err.value)
