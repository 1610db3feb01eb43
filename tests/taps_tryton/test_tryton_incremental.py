"""Incremental reads: full run, then only what changed; ties on write_date at page borders."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tryton_server import TrytonServer
from tryton_tap_helpers import all_ids, last_state, records, run_tap, tap_config

MODELS = {
    "parties": "party.party",
    "addresses": "party.address",
    "contact_mechanisms": "party.contact_mechanism",
    "sale_orders": "sale.sale",
    "opportunities": "sale.opportunity",
}

PARTIES = ("parties",)


def _ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


def test_first_run_reads_every_record_of_every_stream(tryton: TrytonServer) -> None:
    messages = run_tap(tap_config(tryton))
    rpc = tryton.client()
    for stream, model in MODELS.items():
        emitted = _ids(records(messages, stream))
        assert sorted(emitted) == all_ids(rpc, model), stream
        assert len(emitted) == len(set(emitted)), f"{stream}: a record came out twice"
    state = last_state(messages)
    parties_state = state["bookmarks"]["parties"]
    assert parties_state["replication_key"] == "write_date"
    assert parties_state["replication_key_id"] == records(messages, "parties")[-1]["id"]


def test_records_carry_typed_values(tryton: TrytonServer) -> None:
    messages = run_tap(tap_config(tryton))
    parties = {row["name"]: row for row in records(messages, "parties")}
    assert parties["राहुल शर्मा"]["active"] is True
    archived = [row for row in parties.values() if row["active"] is False]
    assert len(archived) == 1, "the archived party must be read too"
    addresses = records(messages, "addresses")
    berlin = next(a for a in addresses if a["city"] == "Berlin")
    assert berlin["country"] == "DE"
    assert berlin["street"].startswith("Friedrichstraße 43")
    assert berlin["write_date"].endswith("+00:00")
    mechanisms = records(messages, "contact_mechanisms")
    assert {m["type"] for m in mechanisms} == {"email", "phone"}
    assert any(
        m["value"] == "+31 20 123 4567" and m["value_compact"] == "+31201234567" for m in mechanisms
    )
    sale = records(messages, "sale_orders")[0]
    assert sale["currency"] == "EUR"
    assert sale["state"] == "draft"
    assert sale["total_amount"] == 1820.5  # 2 x 850.00 + 120.50
    assert [line["description"] for line in sale["lines"]] == ["Consulting day", "Travel"]
    opportunity = records(messages, "opportunities")[0]
    assert opportunity["amount"] == 12500
    assert opportunity["state"] == "lead"
    assert opportunity["start_date"].count("-") == 2


def test_small_pages_lose_and_repeat_nothing_when_write_dates_tie(
    tryton: TrytonServer,
) -> None:
    whole = records(run_tap(tap_config(tryton), streams=PARTIES), "parties")
    paged_messages = run_tap(tap_config(tryton, page_size=7), streams=PARTIES)
    assert {m["stream"] for m in paged_messages if m["type"] == "RECORD"} == {"parties"}
    paged = records(paged_messages, "parties")
    # The 30 seeded parties were created in one call: one write_date shared across 5 pages
    # (but for the archived one, written again later)
    # (other tests may have edited a few since)
    stamps = Counter(row["write_date"] for row in whole)
    assert stamps.most_common(1)[0][1] >= 20
    assert _ids(paged) == _ids(whole)
    assert len(set(_ids(paged))) == len(paged)


def test_resume_from_a_state_inside_a_tie_group(tryton: TrytonServer) -> None:
    whole = records(run_tap(tap_config(tryton), streams=PARTIES), "parties")
    cut = 12  # pretend the previous run stopped after the 12th record
    state = {
        "bookmarks": {
            "parties": {
                "replication_key": "write_date",
                "replication_key_value": whole[cut - 1]["write_date"],
                "replication_key_id": whole[cut - 1]["id"],
            }
        }
    }
    rest = records(run_tap(tap_config(tryton, page_size=4), state, PARTIES), "parties")
    assert _ids(rest) == _ids(whole[cut:])


def test_second_run_emits_only_what_changed(tryton: TrytonServer) -> None:
    config = tap_config(tryton, page_size=5)
    first = run_tap(config)
    state = last_state(first)
    parties = records(first, "parties")
    addresses = records(first, "addresses")

    rpc = tryton.client()
    edited_parties = [parties[3]["id"], parties[17]["id"]]
    rpc.call("model.party.party.write", edited_parties, {"name": "Renamed"}, tryton.context)
    edited_address = addresses[10]["id"]
    # An address edit does not touch its party's write_date: it must come out on its own.
    rpc.call("model.party.address.write", [edited_address], {"city": "Haarlem"}, tryton.context)
    new_mechanism = rpc.call(
        "model.party.contact_mechanism.create",
        [{"party": parties[0]["id"], "type": "email", "value": "new@example.nl"}],
        tryton.context,
    )

    second = run_tap(config, state)
    assert sorted(_ids(records(second, "parties"))) == sorted(edited_parties)
    assert {r["name"] for r in records(second, "parties")} == {"Renamed"}
    assert _ids(records(second, "addresses")) == [edited_address]
    assert records(second, "addresses")[0]["city"] == "Haarlem"
    assert _ids(records(second, "contact_mechanisms")) == new_mechanism
    assert records(second, "sale_orders") == []
    assert records(second, "opportunities") == []

    third = run_tap(config, last_state(second))
    assert [m for m in third if m["type"] == "RECORD"] == []


def test_large_pages_travel_gzip_compressed(tryton: TrytonServer) -> None:
    from tap_tryton.tap import TapTryton

    tap = TapTryton(config=tap_config(tryton), parse_env_config=False)
    encodings: list[str] = []
    tap.client.http.hooks["response"].append(
        lambda response, *args, **kwargs: encodings.append(
            response.headers.get("Content-Encoding", "identity")
        )
    )
    rows = list(tap.streams["addresses"].get_records(None))
    assert len(rows) > 30
    assert "gzip" in encodings


def test_start_date_and_a_bookmark_without_id_start_inclusively(tryton: TrytonServer) -> None:
    whole = records(run_tap(tap_config(tryton), streams=PARTIES), "parties")
    newest = whole[-1]["write_date"]
    expected = [row["id"] for row in whole if row["write_date"] >= newest]
    assert 0 < len(expected) < len(whole)

    from_start_date = run_tap(tap_config(tryton, start_date=newest), streams=PARTIES)
    assert _ids(records(from_start_date, "parties")) == expected

    foreign_state = {
        "bookmarks": {"parties": {"replication_key": "write_date", "replication_key_value": newest}}
    }
    from_foreign_state = run_tap(tap_config(tryton), foreign_state, PARTIES)
    assert _ids(records(from_foreign_state, "parties")) == expected
