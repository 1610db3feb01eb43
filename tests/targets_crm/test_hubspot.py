"""target-crm hubspot profile against the HubSpot simulator."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from simulators.hubspot import HubSpotSimulator
from singer_input import organization, person, read_results, run_target, singer_text, ticket


def _customers(n: int, org: int = 1) -> list[dict[str, Any]]:
    orgs = [organization(i) for i in range(org)]
    people = [person(i, organization_master_id="O0000000" if i % 2 else None) for i in range(n)]
    return orgs + people


def test_creates_contacts_companies_and_associations(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    text = singer_text({"customers": _customers(5), "tickets": [ticket(1, "M0000001")]})
    states, code = run_target(hubspot_config, text)
    assert code == 0
    assert states == [{"bookmarks": {"n": 7, "done": True}}]
    lines = read_results(hubspot_config["results_path"])
    assert [ln["action"] for ln in lines] == ["create"] * 7
    contact = hubspot.find("contacts", "crmhub_master_id", "M0000001")
    company = hubspot.find("companies", "crmhub_master_id", "O0000000")
    assert contact is not None and company is not None
    assert contact["properties"]["lastname"] == "Sharma"
    assert hubspot.associations("contacts", contact["id"], "companies") == {company["id"]}
    tk = hubspot.find("tickets", "crmhub_record_id", "T0000001")
    assert tk is not None and tk["properties"]["hs_ticket_priority"] == "HIGH"
    assert hubspot.associations("tickets", tk["id"], "contacts") == {contact["id"]}
    by_key = {ln["key"]: ln for ln in lines}
    assert by_key["M0000001"]["remote_id"] == contact["id"]
    assert set(lines[0]) >= {"stream", "key", "action", "remote_id", "content_hash", "error", "at"}


def test_second_run_with_nothing_changed_writes_nothing(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    text = singer_text({"customers": _customers(20)})
    run_target(hubspot_config, text)
    writes = len(hubspot.writes())
    _, code = run_target(hubspot_config, text)
    assert code == 0
    assert len(hubspot.writes()) == writes  # no write call at all
    second = read_results(hubspot_config["results_path"])[21:]
    assert {ln["action"] for ln in second} == {"skip"}


def test_changed_record_is_updated_not_duplicated(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    run_target(hubspot_config, singer_text({"customers": [person(1)]}))
    # the hub forgot the remote id (say, it crashed before recording it): upsert still
    # finds the record by the master id property
    changed = person(1, given_name="Pri")
    run_target(hubspot_config, singer_text({"customers": [changed]}))
    assert len(hubspot.objects["contacts"]) == 1
    assert (
        hubspot.find("contacts", "crmhub_master_id", "M0000001")["properties"]["firstname"] == "Pri"
    )
    assert read_results(hubspot_config["results_path"])[-1]["action"] == "update"


def test_batches_respect_the_100_input_limit(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    run_target(hubspot_config, singer_text({"customers": [person(i) for i in range(250)]}))
    upserts = [e for e in hubspot.writes() if e[2].endswith("batch/upsert")]
    assert len(upserts) == 3
    assert len(hubspot.objects["contacts"]) == 250


def test_one_bad_record_is_split_out_and_the_rest_committed(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    people = [person(i) for i in range(40)]
    people[17] = person(17, emails=["not-an-email"])
    states, code = run_target(hubspot_config, singer_text({"customers": people}))
    assert code == 0
    assert len(hubspot.objects["contacts"]) == 39
    errors = Path(hubspot_config["error_file"]).read_text()
    assert "M0000017" in errors and "Email address not-an-email is invalid" in errors
    assert states == []  # the failed record holds the state back


def test_merge_becomes_a_hubspot_merge(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    run_target(
        hubspot_config,
        singer_text({"customers": [person(1), person(2)], "tickets": [ticket(9, "M0000002")]}),
    )
    survivor = hubspot.find("contacts", "crmhub_master_id", "M0000001")
    loser = hubspot.find("contacts", "crmhub_master_id", "M0000002")
    assert survivor is not None and loser is not None
    merged = person(2, merged_into="M0000001")
    _, code = run_target(hubspot_config, singer_text({"customers": [merged]}))
    assert code == 0
    assert hubspot.merged == {loser["id"]: survivor["id"]}
    last = read_results(hubspot_config["results_path"])[-1]
    assert (last["action"], last["remote_id"]) == ("merge", survivor["id"])
    tk = hubspot.find("tickets", "crmhub_record_id", "T0000009")
    assert hubspot.associations("tickets", tk["id"], "contacts") == {survivor["id"]}


def test_retired_records_follow_the_delete_policy(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    run_target(hubspot_config, singer_text({"customers": [person(1), person(2), person(3)]}))
    retired = [person(1, retired=True), person(2, retired=True)]
    run_target(
        {**hubspot_config, "delete_policy": "ignore"}, singer_text({"customers": retired[:1]})
    )
    assert hubspot.find("contacts", "crmhub_master_id", "M0000001") is not None
    run_target(
        {**hubspot_config, "delete_policy": "archive"}, singer_text({"customers": retired[:1]})
    )
    assert hubspot.find("contacts", "crmhub_master_id", "M0000001") is None
    run_target(
        {**hubspot_config, "delete_policy": "delete"}, singer_text({"customers": retired[1:]})
    )
    assert hubspot.find("contacts", "crmhub_master_id", "M0000002") is None
    actions = [ln["action"] for ln in read_results(hubspot_config["results_path"])[3:]]
    assert actions == ["skip", "archive", "delete"]
    assert any(e[2].endswith("gdpr-delete") for e in hubspot.writes())


def test_429_retry_after_is_honoured(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    hubspot.inject("throttle", retry_after=1, path="batch/upsert")
    started = time.monotonic()
    _, code = run_target(hubspot_config, singer_text({"customers": [person(1)]}))
    assert code == 0
    assert time.monotonic() - started >= 1.0
    upserts = [e for e in hubspot.log if e[2].endswith("batch/upsert")]
    assert len(upserts) == 2 and upserts[1][0] - upserts[0][0] >= 1.0
    assert hubspot.find("contacts", "crmhub_master_id", "M0000001") is not None


def test_5xx_and_timeouts_are_retried(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    hubspot.inject("status", status=502, times=1, path="batch/upsert")
    hubspot.inject("timeout", delay=1.5, times=1, path="batch/upsert")
    _, code = run_target(hubspot_config, singer_text({"customers": [person(1)]}))
    assert code == 0
    assert read_results(hubspot_config["results_path"])[-1]["action"] == "create"
    assert len(hubspot.objects["contacts"]) == 1  # the timed-out attempt may have landed


def test_retries_are_bounded_then_records_go_to_the_error_file(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    hubspot.inject("status", status=503, times=10, path="batch/upsert")
    states, code = run_target(hubspot_config, singer_text({"customers": [person(1)]}))
    assert code == 0
    assert states == []
    upserts = [e for e in hubspot.log if e[2].endswith("batch/upsert")]
    assert len(upserts) == 4  # first try + max_retries (3)
    err = Path(hubspot_config["error_file"]).read_text()
    assert "gave up after 4 attempts" in err and "503" in err
    # next run (the CRM is back): the record is retried, not skipped
    hubspot.faults.clear()
    states, _ = run_target(hubspot_config, singer_text({"customers": [person(1)]}))
    assert read_results(hubspot_config["results_path"])[-1]["action"] == "create"
    assert states


def test_expired_token_stops_the_run_with_a_clear_message(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any], caplog: Any
) -> None:
    config = {**hubspot_config, "access_token": "expired-token"}
    states, code = run_target(config, singer_text({"customers": [person(1)]}))
    assert code == 1 and states == []
    assert hubspot.writes() == []
    assert "rejected the credentials" in caplog.text


def test_token_expiring_mid_run_stops_without_losing_records(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    hubspot.inject("auth", path="batch/upsert")
    states, code = run_target(hubspot_config, singer_text({"customers": [person(1)]}))
    assert code == 1 and states == []
    assert read_results(hubspot_config["results_path"]) == []  # nothing claimed accepted


def test_html_instead_of_json_is_a_clear_record_error(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    hubspot.inject("html", path="batch/upsert")
    _, code = run_target(hubspot_config, singer_text({"customers": [person(1)]}))
    assert code == 0
    err = Path(hubspot_config["error_file"]).read_text()
    assert "text/html instead of JSON" in err and "502 Bad Gateway" in err


def test_unknown_property_in_mapping_is_a_config_error(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any], tmp_path: Path, caplog: Any
) -> None:
    src = (Path(__file__).parents[2] / "mappings/crm/hubspot.yml").read_text()
    bad = tmp_path / "hubspot.yml"
    bad.write_text(src.replace("salutation: name_prefix", "salutaton: name_prefix"))
    _, code = run_target(
        {**hubspot_config, "mapping_path": str(bad)}, singer_text({"customers": [person(1)]})
    )
    assert code == 1
    err = caplog.text
    assert "salutaton" in err and "contacts" in err and str(bad) in err
    assert hubspot.writes() == []


def test_invalid_picklist_and_too_long_values_go_to_the_error_file(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any], tmp_path: Path
) -> None:
    src = (Path(__file__).parents[2] / "mappings/crm/hubspot.yml").read_text()
    mapping = tmp_path / "hubspot.yml"
    mapping.write_text(
        src.replace("firstname: given_name", "firstname: {from: given_name, max_length: 12}")
    )
    people = [person(0), person(1, language="xx"), person(2, given_name="Bartholomew-Maximilian")]
    _, code = run_target(
        {**hubspot_config, "mapping_path": str(mapping)}, singer_text({"customers": people})
    )
    assert code == 0
    assert len(hubspot.objects["contacts"]) == 1
    err = Path(hubspot_config["error_file"]).read_text()
    assert "'xx'" in err and "hs_language" in err
    assert "22 characters" in err and "firstname" in err


def test_dry_run_counts_and_samples_without_writing(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    run_target(hubspot_config, singer_text({"customers": [person(1), person(2)]}))
    writes = len(hubspot.writes())
    config = {
        **hubspot_config,
        "dry_run": True,
        "report_path": str(Path(hubspot_config["report_path"]).with_name("dry.json")),
    }
    people = [person(1), person(2, given_name="X"), person(3), person(4, merged_into="M0000001")]
    states, code = run_target(config, singer_text({"customers": people}))
    assert code == 0 and states == []
    assert len(hubspot.writes()) == writes
    report = json.loads(Path(config["report_path"]).read_text())
    assert report["dry_run"] is True
    assert report["streams"]["customers"]["skip"] == 2  # unchanged M1; M4 was never pushed
    assert report["streams"]["customers"]["update"] == 1
    assert report["streams"]["customers"]["create"] == 1
    assert report["samples"]["customers"]["create"][0]["key"] == "M0000003"
    assert len(read_results(hubspot_config["results_path"])) == 2  # dry run recorded nothing


def test_state_advances_only_past_accepted_records(
    hubspot: HubSpotSimulator, hubspot_config: dict[str, Any]
) -> None:
    people = [person(i) for i in range(6)]
    people[4] = person(4, language="xx")
    config = {**hubspot_config, "batch_size": 2}
    states, _ = run_target(config, singer_text({"customers": people}, state_every=2))
    assert states and all(s["bookmarks"]["n"] <= 4 for s in states)
