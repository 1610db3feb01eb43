"""Profile ``hubspot``: CRM v3 objects API with batch upsert by a unique property.

- Customers: ``POST /crm/v3/objects/{contacts|companies}/batch/upsert`` with ``idProperty``
  (a unique custom property holding the crmhub master id), 100 inputs per call.
- Persons are associated with their company (``organization_master_id``) and related records
  with their customer through ``POST /crm/v4/associations/{from}/{to}/batch/associate/default``.
- Merges: ``POST /crm/v3/objects/{object}/merge``; archive: ``batch/archive``; delete:
  ``gdpr-delete`` (permanent).
- HubSpot rejects a whole batch when one input is invalid: the batch is split in halves until
  the bad inputs are isolated, so the good ones are committed and the bad ones reported.
- Requests are paced by a sliding window (``requests_per_10s``) below HubSpot's cap.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from target_crm.errors import BatchError, ConfigurationError
from target_crm.http_client import CRMHttp, SlidingWindowLimiter
from target_crm.profiles.base import ParentRef, Profile, WorkItem, chunks
from target_crm.results import Outcome

BATCH_LIMIT = 100
STANDARD_PROPERTIES: dict[str, set[str]] = {
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


class HubSpotProfile(Profile):
    """Push to HubSpot through the CRM v3 objects API."""

    name = "hubspot"
    has_merge = True
    pipelined = True
    default_batch_size = 2000

    def known_fields(self, object_name: str) -> set[str]:
        """HubSpot's default properties of the object (custom ones go in custom_fields)."""
        return STANDARD_PROPERTIES.get(object_name, set())

    def open(self) -> None:
        """Check the token with one cheap read."""
        self.settings.require("access_token")
        token = str(self.settings.get("access_token"))
        self.http = CRMHttp(
            "HubSpot",
            str(self.settings.get("base_url", "https://api.hubapi.com")),
            self.settings.retry,
            self.logger,
            limiter=SlidingWindowLimiter(int(self.settings.get("requests_per_10s", 100)), 10.0),
            auth_header=lambda: {"Authorization": f"Bearer {token}"},
        )
        # batches of 100 go out on a few connections at once; the limiter keeps the pace
        self.concurrency = max(1, int(self.settings.get("max_concurrency", 4)))
        for obj in self.customer_objects():
            resp = self.http.request("GET", f"/crm/v3/objects/{obj}", params={"limit": "1"})
            self.http.json(resp)
            if resp.status_code != 200:
                raise ConfigurationError(
                    f"HubSpot: cannot read {obj} ({resp.status_code}: "
                    f"{self._message(resp)}); check the token's scopes"
                )

    def close(self) -> None:
        """Close the HTTP session."""
        if hasattr(self, "http"):
            self.http.close()

    def _message(self, resp: Any) -> str:
        try:
            body = self.http.json(resp)
        except Exception:
            return str(resp.text[:200])
        if isinstance(body, dict):
            return str(body.get("message") or body)
        return str(body)  # lists and scalars: shown as they came

    # -- reads ----------------------------------------------------------------------------

    def lookup(self, object_name: str, external_id: str, keys: list[str]) -> dict[str, str]:
        """``batch/read`` by the unique property; missing ones come back as 207 errors."""
        found: dict[str, str] = {}
        for part in chunks(keys, BATCH_LIMIT):
            resp = self.http.request(
                "POST",
                f"/crm/v3/objects/{object_name}/batch/read",
                json_body={
                    "idProperty": external_id,
                    "properties": [external_id],
                    "inputs": [{"id": k} for k in part],
                },
            )
            body = self.http.json(resp)
            if resp.status_code not in (200, 207):
                raise BatchError(
                    f"HubSpot batch/read {object_name}: {resp.status_code}: "
                    f"{body.get('message') if isinstance(body, dict) else body}"
                )
            for res in body.get("results", []):
                val = (res.get("properties") or {}).get(external_id)
                if val is not None:
                    found[str(val)] = str(res["id"])
        return found

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, items: list[WorkItem]) -> list[Outcome]:
        """Batch upsert per object, then associations."""
        out: list[Outcome] = []
        by_obj: dict[str, list[WorkItem]] = {}
        for it in items:
            by_obj.setdefault(it.om.object, []).append(it)
        # companies before contacts before the rest, so associations find their target
        order = sorted(by_obj, key=lambda o: {"companies": 0, "contacts": 1}.get(o, 2))
        for obj in order:
            group = by_obj[obj]
            parts = list(chunks(group, BATCH_LIMIT))
            done: list[Outcome] = []
            if len(parts) == 1 or self.concurrency == 1:
                for part in parts:
                    done += self._upsert_part(obj, part)
            else:
                with ThreadPoolExecutor(min(self.concurrency, len(parts))) as pool:
                    objs = [obj] * len(parts)
                    for result in pool.map(self._upsert_part, objs, parts):
                        done += result
            if group[0].stream == "customers":
                for o in done:
                    if o.action in ("create", "update"):
                        self.parents.put(o.key, obj, o.remote_id)
            out += self._associate(group, done)
        return out

    def _upsert_part(self, obj: str, part: list[WorkItem]) -> list[Outcome]:
        ext = part[0].om.external_id
        resp = self.http.request(
            "POST",
            f"/crm/v3/objects/{obj}/batch/upsert",
            json_body={
                "inputs": [
                    {
                        "idProperty": ext,
                        "id": it.key,
                        "properties": {k: v for k, v in it.payload.items() if k != ext},
                    }
                    for it in part
                ]
            },
        )
        body = self.http.json(resp)
        if resp.status_code == 400 and len(part) > 1:
            # one bad input sinks the batch: split until the bad ones stand alone
            half = len(part) // 2
            return self._upsert_part(obj, part[:half]) + self._upsert_part(obj, part[half:])
        if resp.status_code not in (200, 201, 207):
            msg = body.get("message") if isinstance(body, dict) else str(body)
            return [it.outcome("error", error=f"HubSpot {resp.status_code}: {msg}") for it in part]
        by_key: dict[str, dict[str, Any]] = {}
        for res in body.get("results", []):
            val = (res.get("properties") or {}).get(ext)
            if val is not None:
                by_key[str(val)] = res
        failed: dict[str, str] = {}
        for err in body.get("errors", []) or []:
            for ids in (err.get("context") or {}).values():
                for i in ids if isinstance(ids, list) else [ids]:
                    failed[str(i)] = str(err.get("message"))
        out = []
        for it in part:
            res = by_key.get(it.key)
            if res is not None:
                out.append(it.outcome("create" if res.get("new") else "update", str(res["id"])))
            else:
                out.append(
                    it.outcome(
                        "error", error=f"HubSpot: {failed.get(it.key, 'not in the batch response')}"
                    )
                )
        return out

    def _associate(self, group: list[WorkItem], done: list[Outcome]) -> list[Outcome]:
        """Associate each saved record with its parent; a failed link is an error outcome
        (the record is saved, and re-sent next run so the link is made then)."""
        links: dict[str, list[tuple[Outcome, str]]] = {}
        for it, o in zip(group, done, strict=True):
            if o.action not in ("create", "update") or not it.parent_key:
                continue
            if it.stream == "customers" and not it.om.links.get("company_association"):
                continue
            parent = self.resolve_parent(it.parent_key)
            if parent is None or not parent.remote_id:
                o.action, o.error = (
                    "error",
                    (
                        f"saved as {o.remote_id}, but its parent {it.parent_key} is not in HubSpot "
                        "yet, so it is not associated; it is retried on the next run"
                    ),
                )
                continue
            links.setdefault(parent.object, []).append((o, parent.remote_id))
        obj = group[0].om.object if group else ""
        for to_obj, pairs in links.items():
            for part in chunks(pairs, BATCH_LIMIT):
                resp = self.http.request(
                    "POST",
                    f"/crm/v4/associations/{obj}/{to_obj}/batch/associate/default",
                    json_body={
                        "inputs": [
                            {"from": {"id": o.remote_id}, "to": {"id": pid}} for o, pid in part
                        ]
                    },
                )
                body = self.http.json(resp)
                if resp.status_code in (200, 201):
                    continue
                bad: set[str] = set()
                for err in body.get("errors", []) or []:
                    bad.update(str(x) for x in (err.get("context") or {}).get("fromObjectId", []))
                for o, _pid in part:
                    if resp.status_code != 207 or o.remote_id in bad:
                        o.action, o.error = (
                            "error",
                            (
                                f"saved as {o.remote_id}, but the association to {to_obj} failed: "
                                f"{body.get('message') or body.get('errors')}"
                            ),
                        )
        return done

    def retire(self, items: list[WorkItem]) -> list[Outcome]:
        """Archive (batch/archive) or delete (gdpr-delete) records."""
        out: list[Outcome] = []
        archive = [i for i in items if i.intent != "delete"]
        for part in chunks(archive, BATCH_LIMIT):
            obj = part[0].om.object
            resp = self.http.request(
                "POST",
                f"/crm/v3/objects/{obj}/batch/archive",
                json_body={"inputs": [{"id": i.remote_id} for i in part]},
                ok=(204,),
            )
            ok = resp.status_code in (200, 204)
            msg = None if ok else f"HubSpot {resp.status_code}: {resp.text[:200]}"
            out += [i.outcome(i.intent if ok else "error", error=msg) for i in part]
        for it in items:
            if it.intent != "delete":
                continue
            resp = self.http.request(
                "POST",
                f"/crm/v3/objects/{it.om.object}/gdpr-delete",
                json_body={"objectId": it.remote_id},
                ok=(204,),
            )
            ok = resp.status_code in (200, 204)
            out.append(
                it.outcome(
                    "delete" if ok else "error",
                    error=None if ok else (f"HubSpot {resp.status_code}: {resp.text[:200]}"),
                )
            )
        for o in out:
            if o.action in ("archive", "delete"):
                self.parents.forget(o.key)
        return out

    def merge(self, item: WorkItem, loser: str, survivor: ParentRef) -> Outcome:
        """``POST /crm/v3/objects/{object}/merge``: the survivor stays primary."""
        resp = self.http.request(
            "POST",
            f"/crm/v3/objects/{item.om.object}/merge",
            json_body={"primaryObjectId": survivor.remote_id, "objectIdToMerge": loser},
        )
        body = self.http.json(resp)
        if resp.status_code != 200:
            return item.outcome(
                "error",
                error=f"HubSpot merge {resp.status_code}: "
                f"{body.get('message') if isinstance(body, dict) else body}",
            )
        return item.outcome("merge", remote_id=str(body.get("id", survivor.remote_id)))
