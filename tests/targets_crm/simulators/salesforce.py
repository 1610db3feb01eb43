"""Salesforce API simulator (REST sObject Collections, Bulk API 2.0 ingest, SOQL subset,
SOAP ``merge()``) for target-crm tests.

A simulator, not Salesforce: our own server written from Salesforce's public API docs.
It enforces 200 records per Collections call, the org's 24-hour API request allowance
(403 ``REQUEST_LIMIT_EXCEEDED``), External ID upserts (one match: update, none:
create, several: error), relationship fields by external id (``"Account":
{"crmhub_Master_Id__c": "O1"}`` or the CSV header ``Account.crmhub_Master_Id__c``), field
existence, text lengths, required fields and restricted picklists, and answers with
Salesforce's per-record result shapes (``success``/``created``/``errors[statusCode,
message, fields]``), 401 ``INVALID_SESSION_ID``, and SOAP faults.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from typing import Any

from .base import Reply, Simulator

COLLECTION_LIMIT = 200
T, B, D, N = "text", "bool", "date", "number"
_ADDR = {
    "Street": (T, 255),
    "City": (T, 40),
    "State": (T, 80),
    "PostalCode": (T, 20),
    "Country": (T, 80),
}
_CRMHUB = {
    "crmhub_Master_Id__c": (T, 64),
    "crmhub_Content_Hash__c": (T, 64),
    "crmhub_Archived__c": (B, 0),
}
_REC = {"crmhub_Record_Id__c": (T, 64), "crmhub_Archived__c": (B, 0)}
FIELDS: dict[str, dict[str, tuple[str, int]]] = {
    "Contact": {
        "FirstName": (T, 40),
        "LastName": (T, 80),
        "Salutation": (T, 40),
        "Email": (T, 80),
        "Phone": (T, 40),
        "MobilePhone": (T, 40),
        "Birthdate": (D, 0),
        "HasOptedOutOfEmail": (B, 0),
        "AccountId": (T, 18),
        "Title": (T, 128),
        **{f"Mailing{k}": v for k, v in _ADDR.items()},
        **_CRMHUB,
    },
    "Account": {
        "Name": (T, 255),
        "Phone": (T, 40),
        "Website": (T, 255),
        "FirstName": (T, 40),
        "LastName": (T, 80),
        "Salutation": (T, 40),
        "PersonEmail": (T, 80),
        "PersonBirthdate": (D, 0),
        **{f"Billing{k}": v for k, v in _ADDR.items()},
        **{f"PersonMailing{k}": v for k, v in _ADDR.items()},
        "crmhub_VAT_Id__c": (T, 40),
        **_CRMHUB,
    },
    "Case": {
        "Subject": (T, 255),
        "Status": (T, 40),
        "Priority": (T, 40),
        "Origin": (T, 40),
        "Description": (T, 32000),
        "ContactId": (T, 18),
        "AccountId": (T, 18),
        **_REC,
    },
    "crmhub_Order__c": {
        "Name": (T, 80),
        "crmhub_Order_Date__c": (D, 0),
        "crmhub_Status__c": (T, 40),
        "crmhub_Amount__c": (N, 0),
        "crmhub_Currency__c": (T, 3),
        "crmhub_Contact__c": (T, 18),
        "crmhub_Account__c": (T, 18),
        **_REC,
    },
    "crmhub_Interaction__c": {
        "Name": (T, 80),
        "crmhub_Channel__c": (T, 40),
        "crmhub_Occurred_At__c": (T, 40),
        "crmhub_Direction__c": (T, 20),
        "crmhub_Body__c": (T, 32768),
        "crmhub_Contact__c": (T, 18),
        "crmhub_Account__c": (T, 18),
        **_REC,
    },
}
REQUIRED = {
    "Contact": {"LastName"},
    "Case": set(),
    "crmhub_Order__c": {"Name"},
    "crmhub_Interaction__c": {"Name"},
    "Account": set(),
}
PICKLISTS = {
    ("Contact", "Salutation"): {"Mr.", "Ms.", "Mrs.", "Dr.", "Prof."},
    ("Account", "Salutation"): {"Mr.", "Ms.", "Mrs.", "Dr.", "Prof."},
    ("Case", "Status"): {"New", "Working", "Escalated", "Closed"},
    ("Case", "Priority"): {"High", "Medium", "Low"},
}
RELATIONSHIPS = {
    "Contact": {"Account": ("AccountId", "Account")},
    "Case": {"Contact": ("ContactId", "Contact"), "Account": ("AccountId", "Account")},
    "crmhub_Order__c": {
        "crmhub_Contact__r": ("crmhub_Contact__c", "Contact"),
        "crmhub_Account__r": ("crmhub_Account__c", "Account"),
    },
    "crmhub_Interaction__c": {
        "crmhub_Contact__r": ("crmhub_Contact__c", "Contact"),
        "crmhub_Account__r": ("crmhub_Account__c", "Account"),
    },
}
PREFIX = {
    "Account": "001",
    "Contact": "003",
    "Case": "500",
    "crmhub_Order__c": "a01",
    "crmhub_Interaction__c": "a02",
}
_SOQL = re.compile(r"SELECT Id, (\w+) FROM (\w+) WHERE (\w+) IN \((.*)\)$", re.S)


class SalesforceSimulator(Simulator):
    """In-memory Salesforce org."""

    name = "salesforce"

    def __init__(self, daily_api_limit: int = 15000) -> None:
        super().__init__(rate_limit=None)
        #: the org's 24-hour API request allowance (Bulk job calls count too)
        self.daily_api_limit = daily_api_limit
        self.api_requests = 0
        self.records: dict[str, dict[str, dict[str, Any]]] = {o: {} for o in FIELDS}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.merges: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self.bulk_polls_before_done = 1

    def auth_reply(self) -> Reply:
        """Salesforce's 401 body."""
        return Reply(
            401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        )

    def is_read(self, method: str, path: str) -> bool:
        """Nothing but GET reads here."""
        return False

    def authorized(self, headers: dict[str, str], path: str) -> bool:
        """SOAP carries the session in the envelope; REST in the Bearer header."""
        if path.startswith("/services/Soap/"):
            return True
        return super().authorized(headers, path)

    # -- helpers ----------------------------------------------------------------------------

    def find(self, obj: str, field: str, value: str) -> dict[str, Any] | None:
        """The record of ``obj`` whose field has this value."""
        return next((r for r in self.records[obj].values() if r.get(field) == value), None)

    def _new_id(self, obj: str) -> str:
        return f"{PREFIX[obj]}{next(self._ids):015d}"

    def _error(self, code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
        return {"statusCode": code, "message": message, "fields": fields or []}

    def _save(
        self, obj: str, ext: str | None, rec: dict[str, Any], by_id: str | None = None
    ) -> dict[str, Any]:
        """Validate and upsert one record; the Collections per-record result."""
        values: dict[str, Any] = {}
        for name, value in rec.items():
            if name in ("attributes", "id", "Id"):
                continue
            if isinstance(value, dict):
                rel = RELATIONSHIPS.get(obj, {}).get(name)
                if rel is None:
                    return {
                        "success": False,
                        "errors": [
                            self._error(
                                "INVALID_FIELD", f"No such column '{name}' on entity '{obj}'"
                            )
                        ],
                    }
                (rfield, robj), [(rext, rval)] = rel, list(value.items())
                target = self.find(robj, rext, rval)
                if target is None:
                    return {
                        "success": False,
                        "errors": [
                            self._error(
                                "INVALID_FIELD",
                                f"Foreign key external ID: {rval} not found for "
                                f"field {rext} in entity {robj}",
                                [],
                            )
                        ],
                    }
                values[rfield] = target["Id"]
                continue
            spec = FIELDS[obj].get(name)
            if spec is None:
                return {
                    "success": False,
                    "errors": [
                        self._error(
                            "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj}"
                        )
                    ],
                }
            kind, length = spec
            if kind == T and value is not None and length and len(str(value)) > length:
                return {
                    "success": False,
                    "errors": [
                        self._error(
                            "STRING_TOO_LONG",
                            f"{name}: data value too large: {str(value)[:20]}... "
                            f"(max length={length})",
                            [name],
                        )
                    ],
                }
            options = PICKLISTS.get((obj, name))
            if options is not None and value not in (None, "") and value not in options:
                return {
                    "success": False,
                    "errors": [
                        self._error(
                            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            f"bad value for restricted picklist field: {value}",
                            [name],
                        )
                    ],
                }
            if name in ("Email", "PersonEmail") and value and "@" not in str(value):
                return {
                    "success": False,
                    "errors": [
                        self._error(
                            "INVALID_EMAIL_ADDRESS",
                            f"{name}: invalid email address: {value}",
                            [name],
                        )
                    ],
                }
            values[name] = value
        if by_id is not None:
            existing = [self.records[obj][by_id]] if by_id in self.records[obj] else []
        else:
            key = rec.get(ext) if ext else None
            existing = [r for r in self.records[obj].values() if key and r.get(ext) == key]
        if len(existing) > 1:
            return {
                "success": False,
                "errors": [
                    self._error("DUPLICATE_EXTERNAL_ID", f"more than one record found for {ext}")
                ],
            }
        if existing:
            existing[0].update(values)
            return {"id": existing[0]["Id"], "success": True, "errors": [], "created": False}
        if by_id is not None:
            return {
                "success": False,
                "errors": [self._error("ENTITY_IS_DELETED", "entity is deleted")],
            }
        missing = [f for f in REQUIRED[obj] if values.get(f) in (None, "")]
        if obj == "Account" and not values.get("Name") and not values.get("LastName"):
            missing.append("Name")
        if missing:
            return {
                "success": False,
                "errors": [
                    self._error(
                        "REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", missing
                    )
                ],
            }
        new_id = self._new_id(obj)
        self.records[obj][new_id] = {"Id": new_id, **values}
        return {"id": new_id, "success": True, "errors": [], "created": True}

    # -- endpoints --------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Reply:
        """Route."""
        with self.lock:
            if path.startswith("/services/Soap/u/"):
                return self._soap(body.decode("utf-8"))
            m = re.match(r"^/services/data/v(\d+\.\d)(/.*)$", path)
            if not m:
                return Reply(404, [{"errorCode": "NOT_FOUND", "message": "not found"}])
            rest = m.group(2)
            self.api_requests += 1
            if self.api_requests > self.daily_api_limit:
                return Reply(
                    403,
                    [
                        {
                            "errorCode": "REQUEST_LIMIT_EXCEEDED",
                            "message": "TotalRequests Limit exceeded.",
                        }
                    ],
                )
            data: Any = None
            if body and headers.get("Content-Type", "").startswith("application/json"):
                data = json.loads(body)
            if rest == "/limits" and method == "GET":
                return Reply(
                    200,
                    {
                        "DailyApiRequests": {
                            "Max": self.daily_api_limit,
                            "Remaining": self.daily_api_limit - self.api_requests,
                        }
                    },
                )
            if rest == "/query" and method == "GET":
                return self._query(query.get("q", ""))
            cm = re.match(r"^/composite/sobjects/(\w+)/(\w+)$", rest)
            if cm and method == "PATCH":
                return self._collections_upsert(cm.group(1), cm.group(2), data)
            if rest == "/composite/sobjects" and method == "PATCH":
                return self._collections_update(data)
            if rest == "/composite/sobjects" and method == "DELETE":
                return self._collections_delete(query.get("ids", "").split(","))
            if rest.startswith("/jobs/ingest"):
                return self._bulk(method, rest, data, body)
        return Reply(404, [{"errorCode": "NOT_FOUND", "message": f"{method} {path}"}])

    def _collections_upsert(self, obj: str, ext: str, data: Any) -> Reply:
        if obj not in FIELDS:
            return Reply(404, [{"errorCode": "NOT_FOUND", "message": f"sObject {obj} unknown"}])
        records = (data or {}).get("records") or []
        if len(records) > COLLECTION_LIMIT:
            return Reply(
                400,
                [
                    {
                        "errorCode": "EXCEEDED_ID_LIMIT",
                        "message": f"record limit is {COLLECTION_LIMIT}",
                    }
                ],
            )
        if ext not in FIELDS[obj]:
            return Reply(
                404,
                [
                    {
                        "errorCode": "NOT_FOUND",
                        "message": f"Provided external ID field does not exist: {ext}",
                    }
                ],
            )
        if data.get("allOrNone"):
            return Reply(400, [{"errorCode": "UNSUPPORTED", "message": "simulator: allOrNone"}])
        return Reply(200, [self._save(obj, ext, r) for r in records])

    def _collections_update(self, data: Any) -> Reply:
        records = (data or {}).get("records") or []
        if len(records) > COLLECTION_LIMIT:
            return Reply(400, [{"errorCode": "EXCEEDED_ID_LIMIT", "message": "limit 200"}])
        return Reply(
            200, [self._save(r["attributes"]["type"], None, r, by_id=r.get("id")) for r in records]
        )

    def _collections_delete(self, ids: list[str]) -> Reply:
        if len(ids) > COLLECTION_LIMIT:
            return Reply(400, [{"errorCode": "EXCEEDED_ID_LIMIT", "message": "limit 200"}])
        out = []
        for rid in ids:
            obj = next((o for o, recs in self.records.items() if rid in recs), None)
            if obj is None:
                out.append(
                    {
                        "id": rid,
                        "success": False,
                        "errors": [self._error("ENTITY_IS_DELETED", "entity is deleted")],
                    }
                )
            else:
                del self.records[obj][rid]
                out.append({"id": rid, "success": True, "errors": []})
        return Reply(200, out)

    def _query(self, soql: str) -> Reply:
        m = _SOQL.match(soql.strip())
        if not m or m.group(2) not in FIELDS:
            return Reply(
                400,
                [
                    {
                        "errorCode": "MALFORMED_QUERY",
                        "message": "simulator supports SELECT Id, F FROM O WHERE F IN",
                    }
                ],
            )
        field, obj, where = m.group(1), m.group(2), m.group(3)
        values = {v.replace("\\'", "'") for v in re.findall(r"'((?:[^'\\]|\\.)*)'", m.group(4))}
        recs = [
            {"attributes": {"type": obj}, "Id": r["Id"], field: r.get(field)}
            for r in self.records[obj].values()
            if r.get(where) in values
        ]
        return Reply(200, {"totalSize": len(recs), "done": True, "records": recs})

    def _bulk(self, method: str, rest: str, data: Any, body: bytes) -> Reply:
        if rest == "/jobs/ingest" and method == "POST":
            if data.get("operation") != "upsert" or data.get("contentType") != "CSV":
                return Reply(400, [{"errorCode": "INVALIDJOB", "message": "upsert CSV only"}])
            job_id = f"750{next(self._ids):015d}"
            self.jobs[job_id] = {
                "id": job_id,
                "state": "Open",
                "object": data["object"],
                "externalIdFieldName": data["externalIdFieldName"],
                "csv": b"",
                "polls": 0,
                "ok": [],
                "failed": [],
                "unprocessed": [],
            }
            return Reply(
                200,
                {
                    k: v
                    for k, v in self.jobs[job_id].items()
                    if k in ("id", "state", "object", "externalIdFieldName")
                },
            )
        m = re.match(r"^/jobs/ingest/(\w+)(/\w+)?/?$", rest)
        if not m or m.group(1) not in self.jobs:
            return Reply(404, [{"errorCode": "NOT_FOUND", "message": "no such job"}])
        job, sub = self.jobs[m.group(1)], m.group(2)
        if sub == "/batches" and method == "PUT":
            if job["state"] != "Open":
                return Reply(400, [{"errorCode": "INVALIDJOBSTATE", "message": "job not open"}])
            job["csv"] += body
            return Reply(201)
        if sub is None and method == "PATCH":
            job["state"] = data["state"]
            if data["state"] == "UploadComplete":
                self._run_job(job)
                job["state"] = "InProgress"
            return Reply(200, {"id": job["id"], "state": job["state"]})
        if sub is None and method == "GET":
            if job["state"] == "InProgress":
                job["polls"] += 1
                if job["polls"] >= self.bulk_polls_before_done:
                    job["state"] = "JobComplete"
            return Reply(
                200,
                {
                    "id": job["id"],
                    "state": job["state"],
                    "object": job["object"],
                    "numberRecordsProcessed": len(job["ok"]) + len(job["failed"]),
                    "numberRecordsFailed": len(job["failed"]),
                },
            )
        if method == "GET" and sub in (
            "/successfulResults",
            "/failedResults",
            "/unprocessedrecords",
        ):
            return Reply(200, raw=self._result_csv(job, str(sub)), content_type="text/csv")
        return Reply(404, [{"errorCode": "NOT_FOUND", "message": f"{method} {rest}"}])

    def _run_job(self, job: dict[str, Any]) -> None:
        reader = csv.DictReader(io.StringIO(job["csv"].decode("utf-8")))
        job["header"] = list(reader.fieldnames or [])
        obj, ext = job["object"], job["externalIdFieldName"]
        for row in reader:
            rec: dict[str, Any] = {}
            for col, val in row.items():
                if "." in col:
                    rel, rext = col.split(".", 1)
                    if val:
                        rec[rel] = {rext: val}
                elif val != "":
                    kind = FIELDS[obj].get(col, (T, 0))[0]
                    rec[col] = (val.lower() == "true") if kind == B else val
            res = self._save(obj, ext, rec)
            if res["success"]:
                job["ok"].append((res["id"], res["created"], row))
            else:
                err = res["errors"][0]
                job["failed"].append((f"{err['statusCode']}:{err['message']}", row))

    def _result_csv(self, job: dict[str, Any], kind: str) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        header = job.get("header", [])
        if kind == "/successfulResults":
            w.writerow(["sf__Id", "sf__Created", *header])
            for rid, created, row in job["ok"]:
                w.writerow([rid, str(created).lower(), *(row[h] for h in header)])
        elif kind == "/failedResults":
            w.writerow(["sf__Id", "sf__Error", *header])
            for err, row in job["failed"]:
                w.writerow(["", err, *(row[h] for h in header)])
        else:
            w.writerow(header)
        return buf.getvalue().encode("utf-8")

    def _soap(self, text: str) -> Reply:
        session = re.search(r"<\w*:?sessionId>([^<]*)<", text)
        if session is None or session.group(1) not in self.valid_tokens:
            return self._fault("sf:INVALID_SESSION_ID", "INVALID_SESSION_ID: Invalid Session ID")
        if "merge>" not in text:
            return self._fault("sf:INVALID_OPERATION", "simulator supports merge() only")
        obj = re.search(r"<\w*:?type>(\w+)<", text)
        master = re.search(r"<\w*:?Id>(\w+)<", text)
        losers = re.findall(r"<\w*:?recordToMergeIds>(\w+)<", text)
        if obj is None or master is None or obj.group(1) not in ("Account", "Contact", "Case"):
            return self._fault("sf:INVALID_TYPE", "merge supports Account, Contact, Case")
        store = self.records[obj.group(1)]
        if master.group(1) not in store or any(x not in store for x in losers):
            body = (
                "<result><errors><message>entity is deleted</message>"
                "<statusCode>ENTITY_IS_DELETED</statusCode></errors>"
                "<success>false</success></result>"
            )
            return self._soap_reply(body)
        for loser in losers:
            # related records follow the master, as Salesforce's merge re-parents them
            for recs in self.records.values():
                for rec in recs.values():
                    for f in ("AccountId", "ContactId", "crmhub_Contact__c", "crmhub_Account__c"):
                        if rec.get(f) == loser:
                            rec[f] = master.group(1)
            del store[loser]
            self.merges.append((loser, master.group(1)))
        ids = "".join(f"<mergedRecordIds>{x}</mergedRecordIds>" for x in losers)
        return self._soap_reply(
            f"<result><id>{master.group(1)}</id>{ids}<success>true</success></result>"
        )

    def _soap_reply(self, inner: str) -> Reply:
        env = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><mergeResponse>'
            f"{inner}</mergeResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Reply(200, raw=env.encode(), content_type="text/xml")

    def _fault(self, code: str, message: str) -> Reply:
        env = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            f"<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{message}"
            "</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )
        return Reply(500, raw=env.encode(), content_type="text/xml")
