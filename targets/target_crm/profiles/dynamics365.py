"""Profile ``dynamics365``: Dataverse Web API, upsert by alternate key in ``$batch`` requests.

- Each record is ``PATCH /api/data/v9.2/<entityset>(<alternatekey>='<key>')`` with
  ``Prefer: return=representation`` (201: created, 200: updated), sent in a ``$batch``
  (multipart/mixed, no change set, ``Prefer: odata.continue-on-error``) of ``batch_size``
  requests (Dataverse allows 1000), so each record gets its own status.
- Lookups bind by the parent's alternate key: ``parentcustomerid_account@odata.bind:
  /accounts(crmhub_masterid='O1')``.
- Dataverse's Web API has no merge for our use (the ``Merge`` action covers a few tables and
  needs the full record); a merged-away record is deactivated (statecode 1) and the records
  that point at it are re-pointed at the survivor (``options.reparent`` in the mapping).
- Archive = deactivate (statecode/statuscode); delete = ``DELETE``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from target_crm.errors import BatchError
from target_crm.http_client import CRMHttp, SlidingWindowLimiter
from target_crm.profiles.base import ParentRef, Profile, WorkItem, chunks
from target_crm.results import Outcome

BATCH_LIMIT = 1000
STANDARD_FIELDS: dict[str, set[str]] = {
    "contacts": {
        "firstname",
        "lastname",
        "middlename",
        "salutation",
        "emailaddress1",
        "emailaddress2",
        "telephone1",
        "mobilephone",
        "address1_line1",
        "address1_city",
        "address1_stateorprovince",
        "address1_postalcode",
        "address1_country",
        "birthdate",
        "donotbulkemail",
        "donotphone",
        "preferredcontactmethodcode",
        "jobtitle",
        "description",
    },
    "accounts": {
        "name",
        "telephone1",
        "emailaddress1",
        "websiteurl",
        "address1_line1",
        "address1_city",
        "address1_stateorprovince",
        "address1_postalcode",
        "address1_country",
        "description",
        "accountnumber",
    },
    "incidents": {
        "title",
        "description",
        "prioritycode",
        "caseorigincode",
        "statuscode",
        "ticketnumber",
    },
}


def _key(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def primary_id(entity_set: str) -> str:
    """Primary key attribute of an entity set (contacts -> contactid)."""
    return (entity_set[:-1] if entity_set.endswith("s") else entity_set) + "id"


@dataclass
class Part:
    """One response of a ``$batch``."""

    status: int
    body: Any


class Dynamics365Profile(Profile):
    """Push to Dynamics 365 / Dataverse through the Web API."""

    name = "dynamics365"
    pipelined = True
    default_batch_size = 1000

    def known_fields(self, object_name: str) -> set[str]:
        """Standard columns of the table (custom ones go in custom_fields)."""
        return STANDARD_FIELDS.get(object_name, set())

    def open(self) -> None:
        """Check the token with ``WhoAmI``."""
        self.settings.require("base_url", "access_token")
        token = str(self.settings.get("access_token"))
        self.api = f"/api/data/v{self.settings.get('api_version', '9.2')}"
        self.http = CRMHttp(
            "Dynamics 365",
            str(self.settings.get("base_url")),
            self.settings.retry,
            self.logger,
            limiter=SlidingWindowLimiter(int(self.settings.get("requests_per_5min", 6000)), 300),
            auth_header=lambda: {
                "Authorization": f"Bearer {token}",
                "OData-Version": "4.0",
                "OData-MaxVersion": "4.0",
                "Accept": "application/json",
            },
        )
        self.per_batch = min(int(self.settings.get("batch_size") or 100), BATCH_LIMIT)
        self.http.json(self.http.request("GET", f"{self.api}/WhoAmI"))

    def close(self) -> None:
        """Close the HTTP session."""
        if hasattr(self, "http"):
            self.http.close()

    # -- $batch ---------------------------------------------------------------------------

    def batch(self, requests_: Sequence[tuple[str, str, dict[str, Any] | None]]) -> list[Part]:
        """Send (method, url, body) requests as one ``$batch``; one Part per request."""
        boundary = f"batch_{uuid.uuid4().hex}"
        chunks_: list[str] = []
        for n, (method, url, body) in enumerate(requests_, 1):
            head = (
                f"--{boundary}\r\nContent-Type: application/http\r\n"
                f"Content-Transfer-Encoding: binary\r\nContent-ID: {n}\r\n\r\n"
                f"{method} {self.api}/{url} HTTP/1.1\r\n"
            )
            if body is None:
                chunks_.append(head + "\r\n")
            else:
                chunks_.append(
                    head + "Content-Type: application/json; charset=utf-8\r\n"
                    "Prefer: return=representation\r\n\r\n"
                    + json.dumps(body, ensure_ascii=False)
                    + "\r\n"
                )
        payload = "".join(chunks_) + f"--{boundary}--\r\n"
        resp = self.http.request(
            "POST",
            f"{self.api}/$batch",
            data=payload.encode("utf-8"),
            headers={
                "Content-Type": f"multipart/mixed; boundary={boundary}",
                "Prefer": "odata.continue-on-error",
            },
        )
        ctype = resp.headers.get("Content-Type", "")
        if resp.status_code != 200 or "multipart/mixed" not in ctype:
            body = self.http.json(resp)  # raises ProtocolError for HTML
            raise BatchError(f"Dynamics 365 $batch {resp.status_code}: {_message(body)}")
        parts = parse_batch_response(resp.content, ctype)
        if len(parts) != len(requests_):
            raise BatchError(
                f"Dynamics 365 $batch answered {len(parts)} parts for {len(requests_)} requests"
            )
        return parts

    # -- reads ----------------------------------------------------------------------------

    def lookup(self, object_name: str, external_id: str, keys: list[str]) -> dict[str, str]:
        """``GET <set>?$select=id,key&$filter=key eq 'a' or key eq 'b'``."""
        found: dict[str, str] = {}
        pid = primary_id(object_name)
        for part in chunks(keys, 25):
            flt = " or ".join(f"{external_id} eq {_key(k)}" for k in part)
            resp = self.http.request(
                "GET",
                f"{self.api}/{object_name}",
                params={"$select": f"{pid},{external_id}", "$filter": flt},
            )
            body = self.http.json(resp)
            if resp.status_code != 200:
                raise BatchError(f"Dynamics 365 query {object_name}: {_message(body)}")
            for row in body.get("value", []):
                if row.get(external_id) is not None:
                    found[str(row[external_id])] = str(row[pid])
        return found

    # -- writes ---------------------------------------------------------------------------

    def _binds(self, it: WorkItem) -> dict[str, str]:
        if not it.parent_key:
            return {}
        if it.stream == "customers":
            bind = it.om.links.get("company_bind")
            org = self.mapping.streams["customers"].objects.get("organization")
            if not bind or org is None:
                return {}
            return {f"{bind}@odata.bind": f"/{org.object}({org.external_id}={_key(it.parent_key)})"}
        binds = it.om.links.get("parent_bind") or {}
        parent = self.resolve_parent(it.parent_key)
        if parent is None or parent.object not in binds:
            raise LookupError(it.parent_key)
        return {f"{binds[parent.object]}@odata.bind": f"/{parent.object}({parent.remote_id})"}

    def upsert(self, items: list[WorkItem]) -> list[Outcome]:
        """Upsert by alternate key, ``per_batch`` requests per ``$batch``."""
        out: list[Outcome] = []
        order = sorted(items, key=lambda i: 0 if i.om.object == "accounts" else 1)
        ready: list[tuple[WorkItem, dict[str, Any]]] = []
        for it in order:
            try:
                ready.append((it, {**it.payload, **self._binds(it)}))
            except LookupError:
                out.append(
                    it.outcome(
                        "error",
                        error=(
                            f"its customer {it.parent_key} is not in Dynamics 365 yet; it is retried "
                            "on the next run"
                        ),
                    )
                )
        # accounts go in their own $batch first: contacts in the same run bind to them
        accounts = [r for r in ready if r[0].om.object == "accounts"]
        others = [r for r in ready if r[0].om.object != "accounts"]
        for group in (accounts, others):
            for part in chunks(group, self.per_batch):
                reqs = [
                    ("PATCH", f"{it.om.object}({it.om.external_id}={_key(it.key)})", body)
                    for it, body in part
                ]
                for (it, _), res in zip(part, self.batch(reqs), strict=True):
                    if res.status in (200, 201):
                        rid = str((res.body or {}).get(primary_id(it.om.object)) or "")
                        out.append(
                            it.outcome("create" if res.status == 201 else "update", rid or None)
                        )
                        if it.stream == "customers":
                            self.parents.put(it.key, it.om.object, rid or None)
                    else:
                        out.append(
                            it.outcome(
                                "error", error=f"Dynamics 365 {res.status}: {_message(res.body)}"
                            )
                        )
        return out

    def retire(self, items: list[WorkItem]) -> list[Outcome]:
        """Deactivate (archive) or delete, in ``$batch`` requests."""
        out: list[Outcome] = []
        for part in chunks(items, self.per_batch):
            reqs: list[tuple[str, str, dict[str, Any] | None]] = []
            for it in part:
                url = f"{it.om.object}({it.remote_id})"
                if it.intent == "delete":
                    reqs.append(("DELETE", url, None))
                else:
                    reqs.append(("PATCH", url, {"statecode": 1, "statuscode": 2}))
            for it, res in zip(part, self.batch(reqs), strict=True):
                ok = res.status in (200, 204)
                out.append(
                    it.outcome(
                        it.intent if ok else "error",
                        error=None if ok else f"Dynamics 365 {res.status}: {_message(res.body)}",
                    )
                )
                if ok:
                    self.parents.forget(it.key)
        return out

    def reparent(self, item: WorkItem, loser: str | None, survivor: ParentRef) -> bool:
        """Re-point rows that reference the merged-away record at the survivor."""
        if not loser:
            return False
        for rule in self.mapping.options.get("reparent") or []:
            bind = (rule.get("bind") or {}).get(item.om.object)
            if not bind:
                continue
            entity_set, attr = str(rule["entity_set"]), str(rule["filter"])
            pid = primary_id(entity_set)
            resp = self.http.request(
                "GET",
                f"{self.api}/{entity_set}",
                params={"$select": pid, "$filter": f"{attr} eq {loser}"},
            )
            rows = self.http.json(resp).get("value", [])
            for part in chunks(rows, self.per_batch):
                reqs: list[tuple[str, str, dict[str, Any] | None]] = [
                    (
                        "PATCH",
                        f"{entity_set}({row[pid]})",
                        {f"{bind}@odata.bind": f"/{survivor.object}({survivor.remote_id})"},
                    )
                    for row in part
                ]
                failed = [r for r in self.batch(reqs) if r.status not in (200, 204)]
                if failed:
                    raise BatchError(
                        f"Dynamics 365: re-pointing {entity_set} from {loser} to "
                        f"{survivor.remote_id} failed: {_message(failed[0].body)}"
                    )
        return False


def parse_batch_response(content: bytes, content_type: str) -> list[Part]:
    """Split a multipart/mixed ``$batch`` answer into (status, JSON body) parts."""
    boundary = content_type.split("boundary=", 1)[1].split(";")[0].strip().strip('"')
    text = content.decode("utf-8")
    parts: list[Part] = []
    for chunk in text.split(f"--{boundary}")[1:]:
        if chunk.startswith("--"):
            break
        # MIME headers, blank line, then the embedded HTTP response
        _, _, http_part = chunk.partition("\r\n\r\n")
        status_line, _, rest = http_part.partition("\r\n")
        try:
            status = int(status_line.split()[1])
        except (IndexError, ValueError):
            status = 0
        _, _, body = rest.partition("\r\n\r\n")
        body = body.strip()
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = body[:200]
        parts.append(Part(status, parsed))
    return parts


def _message(body: Any) -> str:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("message") or err)
        return str(body.get("message") or body)
    return str(body)
