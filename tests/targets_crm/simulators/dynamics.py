"""Dynamics 365 / Dataverse Web API simulator for target-crm tests.

A simulator, not Dataverse: our own server written from Microsoft's public Web API docs.
It supports upsert by alternate key (``PATCH contacts(crmhub_masterid='M1')``, 201 created /
200 updated with ``Prefer: return=representation``), update and delete by id, ``@odata.bind``
lookups (by id or alternate key), a ``$filter`` subset (``a eq 'x' or a eq 'y'``,
``_lookup_value eq <guid>``), ``WhoAmI``, and ``$batch`` (multipart/mixed, at most 1000
requests, each answered on its own with ``odata.continue-on-error``). Errors use
Dataverse's ``{"error": {"code", "message"}}`` shape; 429 carries ``Retry-After``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from .base import Reply, Simulator

BATCH_LIMIT = 1000
COLUMNS: dict[str, dict[str, int]] = {
    "contacts": {
        "firstname": 50,
        "lastname": 50,
        "salutation": 100,
        "emailaddress1": 100,
        "emailaddress2": 100,
        "telephone1": 50,
        "address1_line1": 250,
        "address1_city": 80,
        "address1_stateorprovince": 50,
        "address1_postalcode": 20,
        "address1_country": 80,
        "birthdate": 10,
        "donotbulkemail": 0,
        "crmhub_masterid": 64,
        "crmhub_contenthash": 64,
        "statecode": 0,
        "statuscode": 0,
    },
    "accounts": {
        "name": 160,
        "telephone1": 50,
        "emailaddress1": 100,
        "websiteurl": 200,
        "address1_line1": 250,
        "address1_city": 80,
        "address1_postalcode": 20,
        "address1_country": 80,
        "crmhub_masterid": 64,
        "crmhub_contenthash": 64,
        "crmhub_vatid": 40,
        "statecode": 0,
        "statuscode": 0,
    },
    "incidents": {
        "title": 200,
        "prioritycode": 0,
        "caseorigincode": 0,
        "crmhub_recordid": 64,
        "statecode": 0,
        "statuscode": 0,
    },
    "crmhub_orders": {
        "crmhub_name": 100,
        "crmhub_orderdate": 10,
        "crmhub_status": 40,
        "crmhub_amount": 0,
        "crmhub_currency": 3,
        "crmhub_recordid": 64,
        "statecode": 0,
        "statuscode": 0,
    },
    "crmhub_interactions": {
        "crmhub_name": 100,
        "crmhub_channel": 40,
        "crmhub_occurredat": 40,
        "crmhub_direction": 20,
        "crmhub_body": 100000,
        "crmhub_recordid": 64,
        "statecode": 0,
        "statuscode": 0,
    },
}
REQUIRED = {
    "contacts": {"lastname"},
    "accounts": {"name"},
    "incidents": {"title"},
    "crmhub_orders": {"crmhub_name"},
    "crmhub_interactions": set(),
}
OPTIONS = {("incidents", "prioritycode"): {1, 2, 3}, ("incidents", "caseorigincode"): {1, 2, 3}}
NAV = {
    "parentcustomerid_account": ("_parentcustomerid_value", "accounts"),
    "customerid_contact": ("_customerid_value", "contacts"),
    "customerid_account": ("_customerid_value", "accounts"),
    "crmhub_customer_contact": ("_crmhub_customer_contact_value", "contacts"),
    "crmhub_customer_account": ("_crmhub_customer_account_value", "accounts"),
}
ENTITY = {
    "contacts": "contact",
    "accounts": "account",
    "incidents": "incident",
    "crmhub_orders": "crmhub_order",
    "crmhub_interactions": "crmhub_interaction",
}
_ADDR = re.compile(r"^/api/data/v9\.\d/(\w+)(?:\((.*)\))?$")


def _pid(entity_set: str) -> str:
    return ENTITY[entity_set] + "id"


class DynamicsSimulator(Simulator):
    """In-memory Dataverse environment."""

    name = "dynamics"

    def __init__(self, rate_limit: int | None = None, rate_window: float = 300.0) -> None:
        super().__init__(rate_limit, rate_window)
        self.rows: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in COLUMNS}
        self.batches: list[int] = []

    def auth_reply(self) -> Reply:
        """Dataverse's 401."""
        return Reply(
            401,
            {"error": {"code": "", "message": "The user is not authenticated"}},
            headers={"WWW-Authenticate": "Bearer authorization_uri=https://login"},
        )

    def throttle_reply(self, headers: dict[str, str]) -> Reply:
        """Service protection limit."""
        return Reply(
            429,
            {
                "error": {
                    "code": "0x80072322",
                    "message": "Number of requests exceeded the limit of 6000 over time window of "
                    "300 seconds.",
                }
            },
            headers=headers,
        )

    def find(self, entity_set: str, column: str, value: Any) -> dict[str, Any] | None:
        """The row whose column has this value."""
        return next((r for r in self.rows[entity_set].values() if r.get(column) == value), None)

    @staticmethod
    def _err(status: int, message: str, code: str = "0x80040203") -> tuple[int, Any]:
        return status, {"error": {"code": code, "message": message}}

    # -- one request ----------------------------------------------------------------------

    def one(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        """Serve one (possibly batched) request: (status, JSON body)."""
        path, _, query = url.partition("?")
        m = _ADDR.match(path)
        if m and m.group(1) == "WhoAmI":
            return 200, {"UserId": str(uuid.UUID(int=1))}
        if not m or m.group(1) not in COLUMNS:
            return self._err(404, f"Resource not found for the segment '{path}'", "0x8006088a")
        eset, addr = m.group(1), m.group(2)
        if method == "GET" and addr is None:
            return self._query(eset, query)
        if addr is None:
            return self._err(405, "method not allowed")
        key = re.fullmatch(r"(\w+)='((?:[^']|'')*)'", addr)
        if key:
            column, value = key.group(1), key.group(2).replace("''", "'")
            row = self.find(eset, column, value)
            if method == "PATCH":
                return self._write(eset, row, body, {column: value})
        else:
            row = self.rows[eset].get(addr)
            if method == "PATCH":
                if row is None:
                    return self._err(404, f"{ENTITY[eset]} With Id = {addr} Does Not Exist")
                return self._write(eset, row, body, {})
        if method == "DELETE":
            if row is None:
                return self._err(404, f"{ENTITY[eset]} Does Not Exist")
            del self.rows[eset][row[_pid(eset)]]
            return 204, None
        if method == "GET":
            return (200, row) if row else self._err(404, "Does Not Exist")
        return self._err(405, "method not allowed")

    def _write(
        self, eset: str, row: dict[str, Any] | None, body: Any, key: dict[str, Any]
    ) -> tuple[int, Any]:
        values: dict[str, Any] = {}
        for name, value in (body or {}).items():
            if name.endswith("@odata.bind"):
                nav = name[: -len("@odata.bind")]
                if nav not in NAV:
                    return self._err(
                        400,
                        f"An undeclared property '{nav}' which only has "
                        "property annotations in the payload",
                    )
                attr, target_set = NAV[nav]
                ref = re.fullmatch(r"/(\w+)\((.*)\)", str(value))
                target = None
                if ref and ref.group(1) == target_set:
                    inner = ref.group(2)
                    kv = re.fullmatch(r"(\w+)='((?:[^']|'')*)'", inner)
                    target = (
                        self.find(target_set, kv.group(1), kv.group(2).replace("''", "'"))
                        if kv
                        else self.rows[target_set].get(inner)
                    )
                if target is None:
                    return self._err(
                        400,
                        f"A record with the specified key values does not "
                        f"exist in {ENTITY[target_set]} entity",
                        "0x80060891",
                    )
                values[attr] = target[_pid(target_set)]
                continue
            limit = COLUMNS[eset].get(name)
            if limit is None:
                return self._err(
                    400,
                    f"The property '{name}' does not exist on type "
                    f"'Microsoft.Dynamics.CRM.{ENTITY[eset]}'",
                    "0x80060888",
                )
            if limit and isinstance(value, str) and len(value) > limit:
                return self._err(
                    400,
                    f"A validation error occurred. The length of the "
                    f"'{name}' attribute of the '{ENTITY[eset]}' entity exceeded "
                    f"the maximum allowed length of '{limit}'.",
                    "0x80044331",
                )
            options = OPTIONS.get((eset, name))
            if options is not None and value not in options:
                return self._err(
                    400,
                    f"A validation error occurred. The value {value} of "
                    f"'{name}' on record of type '{ENTITY[eset]}' is outside the "
                    "valid range.",
                    "0x80044331",
                )
            values[name] = value
        created = row is None
        if created:
            missing = [c for c in REQUIRED[eset] if not values.get(c)]
            if missing:
                return self._err(
                    400,
                    f"Business Process Error: required field(s) {missing} are missing",
                    "0x80040220",
                )
            rid = str(uuid.uuid4())
            row = {_pid(eset): rid, "statecode": 0, **key}
            self.rows[eset][rid] = row
        row.update(values)
        return (201 if created else 200), dict(row)

    def _query(self, eset: str, query: str) -> tuple[int, Any]:
        from urllib.parse import parse_qs

        q = {k: v[0] for k, v in parse_qs(query).items()}
        flt = q.get("$filter", "")
        rows = list(self.rows[eset].values())
        if flt:
            terms = [t.strip() for t in flt.split(" or ")]
            wanted: list[tuple[str, str]] = []
            for t in terms:
                m = re.fullmatch(r"(\w+) eq (?:'((?:[^']|'')*)'|([\w-]+))", t)
                if not m:
                    return self._err(400, f"simulator cannot read $filter {flt!r}")
                wanted.append(
                    (
                        m.group(1),
                        (m.group(2) or "").replace("''", "'")
                        if m.group(2) is not None
                        else m.group(3),
                    )
                )
            rows = [r for r in rows if any(str(r.get(c)) == v for c, v in wanted)]
        return 200, {"value": rows}

    # -- HTTP -----------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Reply:
        """Route single requests and $batch."""
        with self.lock:
            if path.endswith("/$batch") and method == "POST":
                return self._batch(headers.get("Content-Type", ""), body)
            from urllib.parse import urlencode

            url = path + ("?" + urlencode(query) if query else "")
            data = json.loads(body) if body else None
            status, out = self.one(method, url, data)
            return Reply(status, out)

    def _batch(self, ctype: str, body: bytes) -> Reply:
        m = re.search(r"boundary=([^;]+)", ctype)
        if not m:
            return Reply(400, {"error": {"code": "0x0", "message": "missing boundary"}})
        boundary = m.group(1).strip('"')
        text = body.decode("utf-8")
        chunks = [c for c in text.split(f"--{boundary}")[1:] if not c.startswith("--")]
        if len(chunks) > BATCH_LIMIT:
            return Reply(
                400,
                {
                    "error": {
                        "code": "0x80060891",
                        "message": f"The batch contains {len(chunks)} requests; the limit is 1000",
                    }
                },
            )
        self.batches.append(len(chunks))
        out_boundary = f"batchresponse_{uuid.uuid4()}"
        parts = []
        for chunk in chunks:
            _, _, http_part = chunk.partition("\r\n\r\n")
            request_line, _, rest = http_part.partition("\r\n")
            method, url = request_line.split()[:2]
            _, _, req_body = rest.partition("\r\n\r\n")
            req_body = req_body.strip()
            self.log.append((self.log[-1][0], method, url))
            status, res = self.one(method, url, json.loads(req_body) if req_body else None)
            reason = {200: "OK", 201: "Created", 204: "No Content"}.get(status, "Error")
            payload = json.dumps(res) if res is not None else ""
            parts.append(
                f"--{out_boundary}\r\nContent-Type: application/http\r\n"
                f"Content-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 {status} {reason}\r\n"
                + ("Content-Type: application/json; odata.metadata=minimal\r\n" if payload else "")
                + f"\r\n{payload}\r\n"
            )
        raw = ("".join(parts) + f"--{out_boundary}--\r\n").encode("utf-8")
        return Reply(200, raw=raw, content_type=f"multipart/mixed; boundary={out_boundary}")
