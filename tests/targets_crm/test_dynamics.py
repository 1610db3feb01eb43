"""target-crm dynamics365 profile against the Dataverse simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from singer_input import organization, person, read_results, run_target, singer_text, ticket


def test_batch_upsert_by_alternate_key_with_binds(
    dynamics: Any, dynamics_config: dict[str, Any]
) -> None:
    customers = [
        organization(1),
        *[person(i, organization_master_id="O0000001") for i in range(150)],
    ]
    states, code = run_target(
        dynamics_config, singer_text({"customers": customers, "tickets": [ticket(1, "M0000001")]})
    )
    assert code == 0 and states
    acc = dynamics.find("accounts", "crmhub_masterid", "O0000001")
    con = dynamics.find("contacts", "crmhub_masterid", "M0000001")
    assert con["_parentcustomerid_value"] == acc["accountid"]
    inc = dynamics.find("incidents", "crmhub_recordid", "T0000001")
    assert inc["_customerid_value"] == con["contactid"] and inc["prioritycode"] == 1
    assert max(dynamics.batches) <= 100  # default batch_size of $batch requests
    lines = read_results(dynamics_config["results_path"])
    assert len(lines) == 152 and {ln["action"] for ln in lines} == {"create"}
    assert (
        lines[1]["remote_id"]
        == dynamics.find("contacts", "crmhub_masterid", lines[1]["key"])["contactid"]
    )
    # a re-send with a change is an update, not a second row
    run_target(dynamics_config, singer_text({"customers": [person(3, given_name="Z")]}))
    assert len(dynamics.rows["contacts"]) == 150
    assert read_results(dynamics_config["results_path"])[-1]["action"] == "update"


def test_partial_failure_in_a_batch(
    dynamics: Any, dynamics_config: dict[str, Any], tmp_path: Path
) -> None:
    src = (Path(__file__).parents[2] / "mappings/crm/dynamics365.yml").read_text()
    relaxed = tmp_path / "d.yml"
    relaxed.write_text(
        src.replace(
            'lastname: {template: "{name_particle} {family_name}", required: true, max_length: 50}',
            'lastname: {template: "{name_particle} {family_name}"}',
        )
    )
    people = [person(1), person(2, family_name="X" * 60), person(3)]
    _, code = run_target(
        {**dynamics_config, "mapping_path": str(relaxed)}, singer_text({"customers": people})
    )
    assert code == 0
    assert len(dynamics.rows["contacts"]) == 2
    err = Path(dynamics_config["error_file"]).read_text()
    assert "M0000002" in err and "exceeded the maximum allowed length of '50'" in err


def test_merge_deactivates_and_reparents(dynamics: Any, dynamics_config: dict[str, Any]) -> None:
    customers = [organization(1), organization(2), person(1, organization_master_id="O0000001")]
    run_target(
        dynamics_config, singer_text({"customers": customers, "tickets": [ticket(1, "O0000001")]})
    )
    survivor = dynamics.find("accounts", "crmhub_masterid", "O0000002")["accountid"]
    _, code = run_target(
        dynamics_config, singer_text({"customers": [organization(1, merged_into="O0000002")]})
    )
    assert code == 0
    loser = dynamics.find("accounts", "crmhub_masterid", "O0000001")
    assert loser["statecode"] == 1
    assert (
        dynamics.find("contacts", "crmhub_masterid", "M0000001")["_parentcustomerid_value"]
        == survivor
    )
    assert (
        dynamics.find("incidents", "crmhub_recordid", "T0000001")["_customerid_value"] == survivor
    )
    last = read_results(dynamics_config["results_path"])[-1]
    assert (last["action"], last["disposition"]) == ("archive", "merged")


def test_throttle_and_html(dynamics: Any, dynamics_config: dict[str, Any]) -> None:
    dynamics.inject("throttle", retry_after=0.2, path="$batch")
    _, code = run_target(dynamics_config, singer_text({"customers": [person(1)]}))
    assert code == 0 and len(dynamics.rows["contacts"]) == 1
    dynamics.inject("html", path="$batch")
    run_target(dynamics_config, singer_text({"customers": [person(2)]}))
    assert "instead of JSON" in Path(dynamics_config["error_file"]).read_text()
