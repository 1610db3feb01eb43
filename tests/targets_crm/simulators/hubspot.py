"""HubSpot CRM API simulator (v3 objects, v4 associations) for target-crm tests.

A simulator, not HubSpot: our own server written from HubSpot's public API reference.
It enforces 100 inputs per batch call, a requests-per-10-seconds cap (429 with the
``TEN_SECONDLY_ROLLING`` policy body), unique ``idProperty`` values, property existence,
enumeration options and text length, and answers with HubSpot's shapes: 200 ``COMPLETE``,
207 multi-status with ``errors`` for batch reads, 400 ``VALIDATION_ERROR`` for a batch
with an invalid input (the whole batch is rejected, as HubSpot does), 401
``INVALID_AUTHENTICATION`` / ``EXPIRED_AUTHENTICATION``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from typing import Any

from .base import Reply, Simulator

TEXT_LIMIT = 65536
BATCH_LIMIT = 100
_STD: dict[str, set[str]] = {
    "contacts": {
        "email",
        "firstname",
        "lastname",
        "phone",
        "mobilephone",
        "address",
        "city",
        "zip",
        "state",
        "country",
        "salutation",
        "date_of_birth",
        "hs_language",
        "company",
        "website",
        "jobtitle",
        "lifecyclestage",
    },
    "companies": {
        "name",
        "domain",
        "phone",
        "address",
        "city",
        "zip",
        "state",
        "country",
        "website",
        "industry",
        "description",
    },
    "deals": {"dealname", "amount", "closedate", "dealstage", "pipeline", "deal_currency_code"},
    "tickets": {
        "subject",
        "content",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_priority",
        "createdate",
    },
    "notes": {"hs_timestamp", "hs_note_body"},
}
_ENUMS: dict[tuple[str, str], set[str]] = {
    ("contacts", "hs_language"): {"nl", "en", "de", "hi", "fr", "es", "it"},
    ("tickets", "hs_ticket_priority"): {"LOW", "MEDIUM", "HIGH"},
}
_OBJ_RE = re.compile(
    r"^/crm/v3/objects/(\w+)/(batch/upsert|batch/read|batch/archive|merge|"
    r"gdpr-delete)$"
)
_ASSOC_RE = re.compile(r"^/crm/v4/associations/(\w+)/(\w+)/batch/associate/default$")
_ASSOC_GET = re.compile(r"^/crm/v4/objects/(\w+)/(\w+)/associations/(\w+)$")
_GET_ONE = re.compile(r"^/crm/v3/objects/(\w+)(?:/(\w+))?$")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


class HubSpotSimulator(Simulator):
    """In-memory HubSpot portal with custom unique properties ``crmhub_master_id`` (contacts,
    companies) and ``crmhub_record_id`` (deals, tickets, notes)."""

    name = "hubspot"

    def __init__(self, rate_limit: int | None = 100, rate_window: float = 10.0) -> None:
        super().__init__(rate_limit, rate_window)
        self.props = {o: set(p) for o, p in _STD.items()}
        for o in ("contacts", "companies"):
            self.props[o] |= {"crmhub_master_id", "crmhub_content_hash"}
        for o in ("deals", "tickets", "notes"):
            self.props[o] |= {"crmhub_record_id", "crmhub_content_hash"}
        self.unique = {"crmhub_master_id", "crmhub_record_id"}
        self.objects: dict[str, dict[str, dict[str, Any]]] = {o: {} for o in self.props}
        self.index: dict[tuple[str, str, str], str] = {}
        self.assoc: set[tuple[str, str, str, str]] = set()
        self.merged: dict[str, str] = {}
        self.expired_tokens: set[str] = set()
        self._ids = itertools.count(1001)

    def is_read(self, method: str, path: str) -> bool:
        """batch/read and search only read."""
        return path.endswith("/batch/read") or path.endswith("/search")

    def auth_reply(self) -> Reply:
        """HubSpot's 401 body."""
        return Reply(
            401,
            {
                "status": "error",
                "category": "INVALID_AUTHENTICATION",
                "message": "Authentication credentials not found.",
                "correlationId": "sim",
            },
        )

    def authorized(self, headers: dict[str, str], path: str) -> bool:
        """Expired tokens get their own message."""
        auth = headers.get("Authorization", "")
        return super().authorized(headers, path) and auth[7:] not in self.expired_tokens

    def throttle_reply(self, headers: dict[str, str]) -> Reply:
        """HubSpot's 429 body for the ten-secondly policy."""
        return Reply(
            429,
            {
                "status": "error",
                "errorType": "RATE_LIMIT",
                "policyName": "TEN_SECONDLY_ROLLING",
                "message": "You have reached your ten_secondly_rolling limit.",
            },
            headers=headers,
        )

    # -- helpers for tests ------------------------------------------------------------------

    def find(self, obj: str, prop: str, value: str) -> dict[str, Any] | None:
        """The stored object whose unique property has this value."""
        oid = self.index.get((obj, prop, value))
        return self.objects[obj].get(oid) if oid else None

    def associations(self, from_obj: str, from_id: str, to_obj: str) -> set[str]:
        """Ids of ``to_obj`` associated with one record."""
        return {t for f, fi, to, t in self.assoc if (f, fi, to) == (from_obj, from_id, to_obj)}

    # -- endpoints --------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Reply:
        """Route to the endpoint."""
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return self._bad("Invalid input JSON on line 1")
        with self.lock:
            m = _OBJ_RE.match(path)
            if m and method == "POST" and m.group(1) in self.objects:
                op = m.group(2)
                handler = {
                    "batch/upsert": self._upsert,
                    "batch/read": self._read,
                    "batch/archive": self._archive,
                    "merge": self._merge,
                    "gdpr-delete": self._gdpr_delete,
                }[op]
                return handler(m.group(1), data)
            m = _ASSOC_RE.match(path)
            if m and method == "POST":
                return self._associate(m.group(1), m.group(2), data)
            m = _ASSOC_GET.match(path)
            if m and method == "GET":
                ids = self.associations(m.group(1), m.group(2), m.group(3))
                return Reply(200, {"results": [{"toObjectId": i} for i in sorted(ids)]})
            m = _GET_ONE.match(path)
            if m and method == "GET" and m.group(1) in self.objects:
                if m.group(2) is None:
                    items = list(self.objects[m.group(1)].values())[: int(query.get("limit", 10))]
                    return Reply(200, {"results": items})
                found = self.objects[m.group(1)].get(m.group(2))
                if found is None:
                    return Reply(
                        404,
                        {
                            "status": "error",
                            "category": "OBJECT_NOT_FOUND",
                            "message": "resource not found",
                        },
                    )
                return Reply(200, found)
        return Reply(404, {"status": "error", "message": f"no route {method} {path}"})

    def _bad(self, message: str, category: str = "VALIDATION_ERROR") -> Reply:
        return Reply(
            400,
            {"status": "error", "category": category, "message": message, "correlationId": "sim"},
        )

    def _check_batch(self, inputs: Any) -> Reply | None:
        if not isinstance(inputs, list) or not inputs:
            return self._bad("inputs must be a non-empty list")
        if len(inputs) > BATCH_LIMIT:
            return self._bad(f"Batch input limit is {BATCH_LIMIT}, got {len(inputs)}")
        return None

    def _validate(self, obj: str, props: dict[str, Any]) -> str | None:
        for name, value in props.items():
            if name not in self.props[obj]:
                return f'Property "{name}" does not exist'
            if value is None:
                continue
            if not isinstance(value, str | int | float | bool):
                return f'Property "{name}" must be a scalar'
            text = str(value)
            if len(text) > TEXT_LIMIT:
                return f'Property "{name}" value is {len(text)} characters, limit {TEXT_LIMIT}'
            options = _ENUMS.get((obj, name))
            if options is not None and text and text not in options:
                return f"{text} was not one of the allowed options: {sorted(options)}"
            if name == "email" and text and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
                return f"Email address {text} is invalid"
        return None

    def _upsert(self, obj: str, data: dict[str, Any]) -> Reply:
        inputs = data.get("inputs")
        bad = self._check_batch(inputs)
        if bad:
            return bad
        assert isinstance(inputs, list)
        ids = [i.get("id") for i in inputs]
        if len(set(ids)) != len(ids):
            return self._bad("Duplicate IDs found in batch input")
        for i, inp in enumerate(inputs):
            prop = inp.get("idProperty")
            if prop not in self.unique or prop not in self.props[obj]:
                return self._bad(f"idProperty {prop!r} is not a unique property of {obj}")
            problem = self._validate(obj, inp.get("properties") or {})
            if problem:
                # HubSpot rejects the whole batch when one input is invalid
                return self._bad(
                    f"Property values were not valid: input {i} (id {inp.get('id')}): {problem}"
                )
        results = []
        for inp in inputs:
            prop, value = inp["idProperty"], str(inp["id"])
            oid = self.index.get((obj, prop, value))
            new = oid is None
            if new:
                oid = str(next(self._ids))
                self.objects[obj][oid] = {
                    "id": oid,
                    "properties": {},
                    "createdAt": _now(),
                    "archived": False,
                }
                self.index[(obj, prop, value)] = oid
            rec = self.objects[obj][oid]
            rec["properties"].update(inp.get("properties") or {})
            rec["properties"][prop] = value
            rec["updatedAt"] = _now()
            results.append({**rec, "new": new})
        return Reply(
            200,
            {"status": "COMPLETE", "results": results, "startedAt": _now(), "completedAt": _now()},
        )

    def _read(self, obj: str, data: dict[str, Any]) -> Reply:
        inputs = data.get("inputs")
        bad = self._check_batch(inputs)
        if bad:
            return bad
        assert isinstance(inputs, list)
        prop = data.get("idProperty")
        found, missing = [], []
        for inp in inputs:
            oid = self.index.get((obj, prop, str(inp["id"]))) if prop else str(inp["id"])
            rec = self.objects[obj].get(oid or "")
            if rec is None:
                missing.append(str(inp["id"]))
            else:
                found.append(rec)
        body: dict[str, Any] = {"status": "COMPLETE", "results": found}
        if missing:
            body["numErrors"] = 1
            body["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some objects, they may be deleted or not exist.",
                    "context": {"ids": missing},
                }
            ]
            return Reply(207, body)
        return Reply(200, body)

    def _remove(self, obj: str, oid: str) -> None:
        rec = self.objects[obj].pop(oid, None)
        if rec is None:
            return
        for prop in self.unique:
            val = rec["properties"].get(prop)
            if val is not None and self.index.get((obj, prop, val)) == oid:
                del self.index[(obj, prop, val)]

    def _archive(self, obj: str, data: dict[str, Any]) -> Reply:
        inputs = data.get("inputs")
        bad = self._check_batch(inputs)
        if bad:
            return bad
        assert isinstance(inputs, list)
        for inp in inputs:
            self._remove(obj, str(inp["id"]))
        return Reply(204)

    def _gdpr_delete(self, obj: str, data: dict[str, Any]) -> Reply:
        oid = str(data.get("objectId"))
        if oid not in self.objects[obj]:
            return Reply(
                404,
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"{obj} {oid} does not exist",
                },
            )
        self._remove(obj, oid)
        return Reply(204)

    def _merge(self, obj: str, data: dict[str, Any]) -> Reply:
        primary = str(data.get("primaryObjectId"))
        loser = str(data.get("objectIdToMerge"))
        store = self.objects[obj]
        if primary not in store or loser not in store:
            return self._bad(
                f"Merge failed: object {primary if primary not in store else loser} does not exist",
                "OBJECT_NOT_FOUND",
            )
        if primary == loser:
            return self._bad("Cannot merge an object with itself")
        # the primary keeps its values; the loser's associations move to it
        for f, fi, to, t in list(self.assoc):
            if (f, fi) == (obj, loser):
                self.assoc.discard((f, fi, to, t))
                self.assoc.add((f, primary, to, t))
            if (to, t) == (obj, loser):
                self.assoc.discard((f, fi, to, t))
                self.assoc.add((f, fi, to, primary))
        self._remove(obj, loser)
        self.merged[loser] = primary
        return Reply(200, store[primary])

    def _associate(self, from_obj: str, to_obj: str, data: dict[str, Any]) -> Reply:
        inputs = data.get("inputs")
        if not isinstance(inputs, list) or not inputs or len(inputs) > 2000:
            return self._bad("inputs must hold 1 to 2000 associations")
        if from_obj not in self.objects or to_obj not in self.objects:
            return self._bad(f"unknown object type {from_obj} or {to_obj}")
        results, errors = [], []
        for inp in inputs:
            f, t = str(inp["from"]["id"]), str(inp["to"]["id"])
            if f not in self.objects[from_obj] or t not in self.objects[to_obj]:
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": f"{from_obj} {f} or {to_obj} {t} does not exist",
                        "context": {"fromObjectId": [f], "toObjectId": [t]},
                    }
                )
                continue
            self.assoc.add((from_obj, f, to_obj, t))
            self.assoc.add((to_obj, t, from_obj, f))
            results.append(
                {
                    "fromObjectTypeId": from_obj,
                    "fromObjectId": f,
                    "toObjectTypeId": to_obj,
                    "toObjectId": t,
                }
            )
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body.update(numErrors=len(errors), errors=errors)
            return Reply(207, body)
        return Reply(200, body)
