"""Profile ``salesforce``: REST sObject Collections for small runs, Bulk API 2.0 for large.

- Upsert by an External ID field: ``PATCH /services/data/vXX.X/composite/sobjects/{SObject}/
  {ExternalIdField}`` with ``allOrNone: false`` (200 records per call), so each record gets
  its own success or error; from ``bulk_threshold`` records of one object in a batch, a Bulk
  API 2.0 ingest job (CSV, ``operation: upsert``, ``externalIdFieldName``) whose
  successfulResults / failedResults / unprocessedrecords say what happened to each row.
- Lookups (Contact -> Account, Case -> Contact/Account, custom objects -> customer) are
  relationship fields keyed by the parent's external id, so no extra read is needed.
- Persons become Contacts, or Person Accounts when ``person_accounts`` is on.
- Merge: the REST API has none; Salesforce's merge is the SOAP API ``merge()`` call
  (Accounts, Contacts, Leads, Cases), which we call with the same session token.
- Archive: sets the checkbox named by ``options.archive_field`` (Salesforce has no archive
  state for these objects); delete: ``DELETE /composite/sobjects?ids=...``.
"""

from __future__ import annotations

import csv
import html
import io
import re
import time
from typing import Any

import requests

from target_crm.errors import AuthenticationError, BatchError
from target_crm.http_client import CRMHttp, is_json
from target_crm.profiles.base import ParentRef, Profile, WorkItem, chunks
from target_crm.results import Outcome

COLLECTION_LIMIT = 200
_ADDRESS = {"Street", "City", "State", "PostalCode", "Country"}
STANDARD_FIELDS: dict[str, set[str]] = {
    "Contact": {
        "FirstName",
        "LastName",
        "Salutation",
        "Email",
        "Phone",
        "MobilePhone",
        "Birthdate",
        "HasOptedOutOfEmail",
        "DoNotCall",
        "Title",
        "Description",
        "Account",
        "AccountId",
        *(f"Mailing{a}" for a in _ADDRESS),
    },
    "Account": {
        "Name",
        "Phone",
        "Website",
        "Description",
        "Industry",
        "Type",
        *(f"Billing{a}" for a in _ADDRESS),
        *(f"Shipping{a}" for a in _ADDRESS),
        "FirstName",
        "LastName",
        "Salutation",
        "PersonEmail",
        "PersonBirthdate",
        "PersonMobilePhone",
        "PersonHasOptedOutOfEmail",
        "RecordTypeId",
        *(f"PersonMailing{a}" for a in _ADDRESS),
    },
    "Case": {
        "Subject",
        "Status",
        "Priority",
        "Origin",
        "Description",
        "Contact",
        "Account",
        "ContactId",
        "AccountId",
    },
}


def _soql_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SalesforceProfile(Profile):
    """Push to Salesforce through the REST and Bulk 2.0 APIs."""

    name = "salesforce"
    has_merge = True
    pipelined = True
    default_batch_size = 10000

    def known_fields(self, object_name: str) -> set[str]:
        """Standard fields of the object (custom ones go in custom_fields)."""
        return STANDARD_FIELDS.get(object_name, set())

    def open(self) -> None:
        """Check the session with one cheap read (the API version list of the org)."""
        self.settings.require("instance_url", "access_token")
        self.token = str(self.settings.get("access_token"))
        self.version = str(self.settings.get("api_version", "62.0"))
        self.api = f"/services/data/v{self.version}"
        self.http = CRMHttp(
            "Salesforce",
            str(self.settings.get("instance_url")),
            self.settings.retry,
            self.logger,
            auth_header=lambda: {"Authorization": f"Bearer {self.token}"},
            quota_message=_request_limit,
        )
        if self.settings.get("person_accounts", False):
            self.kind_alias = {"person": "person_account"}
        resp = self.http.request("GET", f"{self.api}/limits")
        self.http.json(resp)
        self.bulk_threshold = int(self.settings.get("bulk_threshold", 2000))
        self.poll = float(self.settings.get("bulk_poll_seconds", 2.0))
        self.archive_field = self.mapping.options.get("archive_field")

    def close(self) -> None:
        """Close the HTTP session."""
        if hasattr(self, "http"):
            self.http.close()

    # -- payloads -------------------------------------------------------------------------

    def _relationships(self, it: WorkItem) -> dict[str, dict[str, str]]:
        """Lookup fields by the parent's external id (Contact.Account, Case.Contact ...)."""
        if not it.parent_key:
            return {}
        if it.stream == "customers":
            rel = it.om.links.get("company_relationship")
            org = self.mapping.streams["customers"].objects.get("organization")
            return {rel: {org.external_id: it.parent_key}} if rel and org else {}
        rels = it.om.links.get("parent_relationship") or {}
        parent = self.resolve_parent(it.parent_key)
        if parent is None or parent.object not in rels:
            raise _ParentMissing(it.parent_key)
        ext = self._external_id_of(parent.object)
        return {rels[parent.object]: {ext: it.parent_key}}

    def _external_id_of(self, object_name: str) -> str:
        for om in self.mapping.streams["customers"].objects.values():
            if om.object == object_name:
                return om.external_id
        return "Id"

    # -- reads ----------------------------------------------------------------------------

    def lookup(self, object_name: str, external_id: str, keys: list[str]) -> dict[str, str]:
        """SOQL ``SELECT Id, ext FROM obj WHERE ext IN (...)``."""
        found: dict[str, str] = {}
        for part in chunks(keys, 100):
            soql = (
                f"SELECT Id, {external_id} FROM {object_name} WHERE {external_id} IN "
                f"({', '.join(_soql_quote(k) for k in part)})"
            )
            resp = self.http.request("GET", f"{self.api}/query", params={"q": soql})
            body = self.http.json(resp)
            if resp.status_code != 200:
                raise BatchError(f"Salesforce query on {object_name}: {_sf_message(body)}")
            for rec in body.get("records", []):
                if rec.get(external_id) is not None:
                    found[str(rec[external_id])] = str(rec["Id"])
        return found

    # -- upserts --------------------------------------------------------------------------

    def upsert(self, items: list[WorkItem]) -> list[Outcome]:
        """Collections for small groups, a Bulk 2.0 job for large ones; per object."""
        out: list[Outcome] = []
        by_obj: dict[str, list[WorkItem]] = {}
        for it in items:
            by_obj.setdefault(it.om.object, []).append(it)
        order = sorted(by_obj, key=lambda o: 0 if o == "Account" else 1)
        for obj in order:
            ready: list[tuple[WorkItem, dict[str, Any]]] = []
            for it in by_obj[obj]:
                try:
                    ready.append((it, self._relationships(it)))
                except _ParentMissing as exc:
                    out.append(
                        it.outcome(
                            "error",
                            error=(
                                f"its customer {exc.key} is not in Salesforce yet; it is retried on "
                                "the next run"
                            ),
                        )
                    )
            if len(ready) >= self.bulk_threshold:
                done = self._bulk_upsert(obj, ready)
            else:
                done = []
                for part in chunks(ready, COLLECTION_LIMIT):
                    done += self._collection_upsert(obj, part)
            for o in done:
                if o.stream == "customers" and o.action in ("create", "update"):
                    self.parents.put(o.key, obj, o.remote_id)
            out += done
        return out

    def _collection_upsert(
        self, obj: str, part: list[tuple[WorkItem, dict[str, Any]]]
    ) -> list[Outcome]:
        ext = part[0][0].om.external_id
        records = [
            {"attributes": {"type": obj}, **it.payload, **rels, ext: it.key} for it, rels in part
        ]
        resp = self.http.request(
            "PATCH",
            f"{self.api}/composite/sobjects/{obj}/{ext}",
            json_body={"allOrNone": False, "records": records},
        )
        body = self.http.json(resp)
        if resp.status_code != 200 or not isinstance(body, list) or len(body) != len(part):
            msg = _sf_message(body)
            return [
                it.outcome("error", error=f"Salesforce {resp.status_code}: {msg}") for it, _ in part
            ]
        out = []
        for (it, _), res in zip(part, body, strict=True):
            if res.get("success"):
                out.append(
                    it.outcome("create" if res.get("created") else "update", str(res.get("id")))
                )
            else:
                out.append(it.outcome("error", error=_sf_message(res.get("errors"))))
        return out

    def _bulk_upsert(self, obj: str, ready: list[tuple[WorkItem, dict[str, Any]]]) -> list[Outcome]:
        ext = ready[0][0].om.external_id
        columns: list[str] = [ext]
        rows: list[dict[str, str]] = []
        for it, rels in ready:
            row = {ext: it.key}
            for k, v in it.payload.items():
                row[k] = _csv_value(v)
            for rel, ref in rels.items():
                for rk, rv in ref.items():
                    row[f"{rel}.{rk}"] = rv
            for k in row:
                if k not in columns:
                    columns.append(k)
            rows.append(row)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        resp = self.http.request(
            "POST",
            f"{self.api}/jobs/ingest",
            json_body={
                "object": obj,
                "externalIdFieldName": ext,
                "contentType": "CSV",
                "operation": "upsert",
                "lineEnding": "LF",
                "columnDelimiter": "COMMA",
            },
        )
        job = self.http.json(resp)
        if resp.status_code not in (200, 201):
            raise BatchError(f"Salesforce Bulk job for {obj} not created: {_sf_message(job)}")
        base = f"{self.api}/jobs/ingest/{job['id']}"
        resp = self.http.request(
            "PUT",
            f"{base}/batches",
            data=buf.getvalue().encode("utf-8"),
            headers={"Content-Type": "text/csv"},
            ok=(201,),
        )
        if resp.status_code != 201:
            raise BatchError(
                f"Salesforce Bulk upload for {obj}: {resp.status_code} {resp.text[:200]}"
            )
        self.http.request("PATCH", base, json_body={"state": "UploadComplete"})
        while True:
            state = self.http.json(self.http.request("GET", base))
            if state.get("state") in ("JobComplete", "Failed", "Aborted"):
                break
            time.sleep(self.poll)
        results: dict[str, tuple[str, str | None, str | None]] = {}
        for kind in ("successfulResults", "failedResults", "unprocessedrecords"):
            resp = self.http.request("GET", f"{base}/{kind}/")
            for row in csv.DictReader(io.StringIO(resp.text)):
                key = row.get(ext, "")
                if kind == "successfulResults":
                    created = row.get("sf__Created", "false").lower() == "true"
                    results[key] = ("create" if created else "update", row.get("sf__Id"), None)
                elif kind == "failedResults":
                    results[key] = ("error", None, row.get("sf__Error") or "failed")
                else:
                    results[key] = (
                        "error",
                        None,
                        "not processed by the Bulk job "
                        f"({state.get('state')}: {state.get('errorMessage')})",
                    )
        out = []
        for it, _ in ready:
            action, rid, err = results.get(
                it.key, ("error", None, f"missing from the Bulk job results ({state.get('state')})")
            )
            out.append(it.outcome(action, rid, err))
        return out

    # -- retire and merge -----------------------------------------------------------------

    def retire(self, items: list[WorkItem]) -> list[Outcome]:
        """Archive by setting the archive checkbox; delete through Collections."""
        out: list[Outcome] = []
        archive = [i for i in items if i.intent != "delete"]
        delete = [i for i in items if i.intent == "delete"]
        for part in chunks(archive, COLLECTION_LIMIT):
            if not self.archive_field:
                out += [
                    i.outcome(
                        "error",
                        error="salesforce: no options.archive_field in the "
                        "mapping; set one or use delete_policy delete",
                    )
                    for i in part
                ]
                continue
            resp = self.http.request(
                "PATCH",
                f"{self.api}/composite/sobjects",
                json_body={
                    "allOrNone": False,
                    "records": [
                        {
                            "attributes": {"type": i.om.object},
                            "id": i.remote_id,
                            self.archive_field: True,
                        }
                        for i in part
                    ],
                },
            )
            out += self._per_record(resp, part)
        for part in chunks(delete, COLLECTION_LIMIT):
            resp = self.http.request(
                "DELETE",
                f"{self.api}/composite/sobjects",
                params={"ids": ",".join(str(i.remote_id) for i in part), "allOrNone": "false"},
            )
            out += self._per_record(resp, part)
        for o in out:
            if o.action in ("archive", "delete"):
                self.parents.forget(o.key)
        return out

    def _per_record(self, resp: requests.Response, part: list[WorkItem]) -> list[Outcome]:
        body = self.http.json(resp)
        if resp.status_code != 200 or not isinstance(body, list) or len(body) != len(part):
            return [
                i.outcome("error", error=f"Salesforce {resp.status_code}: {_sf_message(body)}")
                for i in part
            ]
        return [
            i.outcome(i.intent)
            if r.get("success")
            else i.outcome("error", error=_sf_message(r.get("errors")))
            for i, r in zip(part, body, strict=True)
        ]

    def merge(self, item: WorkItem, loser: str, survivor: ParentRef) -> Outcome:
        """SOAP API ``merge()``: the survivor is the master record."""
        envelope = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:urn="urn:partner.soap.sforce.com" '
            'xmlns:urn1="urn:sobject.partner.soap.sforce.com">'
            f"<soapenv:Header><urn:SessionHeader><urn:sessionId>{html.escape(self.token)}"
            "</urn:sessionId></urn:SessionHeader></soapenv:Header>"
            "<soapenv:Body><urn:merge><urn:request><urn:masterRecord>"
            f"<urn1:type>{item.om.object}</urn1:type>"
            f"<urn1:Id>{html.escape(str(survivor.remote_id))}</urn1:Id></urn:masterRecord>"
            f"<urn:recordToMergeIds>{html.escape(loser)}</urn:recordToMergeIds>"
            "</urn:request></urn:merge></soapenv:Body></soapenv:Envelope>"
        )
        resp = self.http.request(
            "POST",
            f"/services/Soap/u/{self.version}",
            data=envelope.encode("utf-8"),
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "merge"},
            ok=(500,),  # SOAP faults come as 500 with a fault body: not worth a retry
        )
        text = resp.text
        if "<faultcode>" in text or resp.status_code != 200:
            code = _tag(text, "faultcode") or str(resp.status_code)
            msg = _tag(text, "faultstring") or text[:200]
            if "INVALID_SESSION_ID" in code:
                raise AuthenticationError(
                    f"Salesforce rejected the session ({msg}); renew the access token and re-run"
                )
            return item.outcome("error", error=f"Salesforce merge fault {code}: {msg}")
        if _tag(text, "success") != "true":
            return item.outcome(
                "error", error=f"Salesforce merge failed: {_tag(text, 'message') or text[:200]}"
            )
        return item.outcome("merge", remote_id=_tag(text, "id") or survivor.remote_id)


class _ParentMissing(Exception):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


def _tag(text: str, name: str) -> str | None:
    """Text of the first ``<name>`` element (the SOAP answers we read are flat and small)."""
    m = re.search(rf"<(?:\w+:)?{name}[^>]*>([^<]*)</(?:\w+:)?{name}>", text)
    return html.unescape(m.group(1)) if m else None


def _request_limit(resp: requests.Response) -> str | None:
    """Salesforce's 24-hour API allowance answer (403 REQUEST_LIMIT_EXCEEDED)."""
    if resp.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in resp.text:
        return (
            "Salesforce's 24-hour API request limit is used up (REQUEST_LIMIT_EXCEEDED); "
            "the run stops, and records not pushed yet go out when you run it again after "
            "the limit resets (large runs: lower bulk_threshold to use Bulk API 2.0)"
        )
    return None


def _csv_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _sf_message(body: Any) -> str:
    """Salesforce error lists as one line: CODE: message (fields)."""
    if isinstance(body, list):
        parts = []
        for e in body:
            if isinstance(e, dict):
                code = e.get("statusCode") or e.get("errorCode") or ""
                fields = ", ".join(e.get("fields") or [])
                parts.append(f"{code}: {e.get('message')}" + (f" ({fields})" if fields else ""))
        return "; ".join(parts) or str(body)
    if isinstance(body, dict):
        return str(body.get("message") or body)
    return str(body)


__all__ = ["SalesforceProfile", "is_json"]
