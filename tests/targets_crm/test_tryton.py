"""target-crm tryton profile against a real trytond (tests/tryton_server.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from singer_input import organization, person, read_results, run_target, singer_text

pytestmark = pytest.mark.slow


def _parties(server: Any, codes: list[str]) -> dict[str, dict[str, Any]]:
    rpc = server.client()
    rows = rpc.call(
        "model.party.party.search_read",
        [("code", "in", codes)],
        0,
        None,
        None,
        ["code", "name", "active", "addresses", "contact_mechanisms", "identifiers", "replaced_by"],
        {"active_test": False},
    )
    return {r["code"]: r for r in rows}


def test_parties_upserted_merged_and_retired_in_real_tryton(
    tryton: Any, tryton_config: dict[str, Any]
) -> None:
    people = [
        person(1),
        person(2, emails=["a@example.org", "b@example.org"]),
        person(
            3,
            addresses=[
                {
                    "street": "Hauptstr.",
                    "house_number": "5",
                    "postal_code": "10115",
                    "city": "Berlin",
                    "country": "XX",
                }
            ],
        ),
    ]
    text = singer_text({"customers": [organization(1), *people]})
    _, code = run_target(tryton_config, text)
    assert code == 0
    parties = _parties(tryton, ["O0000001", "M0000001", "M0000002", "M0000003"])
    assert parties["O0000001"]["name"] == "Acme 1 GmbH"
    assert parties["M0000001"]["name"] == "Priya Sharma"
    assert len(parties["M0000002"]["contact_mechanisms"]) == 3  # 2 emails + 1 phone
    assert len(parties["O0000001"]["identifiers"]) == 1
    assert "M0000003" not in parties  # unknown country: error file, not a half record
    err = Path(tryton_config["error_file"]).read_text()
    assert "country 'XX'" in err

    # re-run unchanged: skip, no duplicate; changed: update in place
    changed = person(1, given_name="Priyanka")
    run_target(tryton_config, singer_text({"customers": [organization(1), changed]}))
    parties = _parties(tryton, ["M0000001"])
    assert parties["M0000001"]["name"] == "Priyanka Sharma"
    rpc = tryton.client()
    assert rpc.call("model.party.party.search_count", [("code", "=", "M0000001")], {}) == 1
    actions = [ln["action"] for ln in read_results(tryton_config["results_path"])[-2:]]
    assert actions == ["skip", "update"]

    # merge M2 into M1 (party.replace), retire O1 (archive)
    merged = person(2, emails=["a@example.org", "b@example.org"], merged_into="M0000001")
    retired = organization(1, retired=True)
    _, code = run_target(tryton_config, singer_text({"customers": [retired, merged]}))
    assert code == 0
    parties = _parties(tryton, ["O0000001", "M0000001", "M0000002"])
    assert not parties["M0000002"]["active"]
    assert parties["M0000002"]["replaced_by"] == parties["M0000001"]["id"]
    assert not parties["O0000001"]["active"]


def test_bad_password_stops_and_an_expired_session_logs_in_again(
    tryton: Any, tryton_config: dict[str, Any], caplog: Any
) -> None:
    _, code = run_target(
        {**tryton_config, "password": "wrong"}, singer_text({"customers": [person(7)]})
    )
    assert code == 1
    assert "refused the login" in caplog.text
    import logging

    from target_crm.mapping import default_mapping_path, load_mapping
    from target_crm.profiles import make_profile
    from target_crm.settings import Settings

    settings = Settings.from_config(tryton_config)
    profile = make_profile(
        settings, load_mapping(default_mapping_path("tryton"), "tryton"), logging.getLogger("test")
    )
    caplog.set_level(logging.INFO, logger="test")
    profile.open()
    assert tryton.expire_sessions() >= 1  # the profile's session is gone, mid-run
    assert profile.lookup("party.party", "code", ["nobody"]) == {}  # re-logged in
    assert "session expired" in caplog.text
    profile.close()
