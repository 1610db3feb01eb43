"""Profile ``tryton``: parties in a Tryton ERP over JSON-RPC, upsert by the party code.

- A golden record is a ``party.party`` whose ``code`` is the crmhub master id (Tryton keeps
  party codes unique), with every canonical address as a ``party.address`` and every email,
  phone and website as a ``party.contact_mechanism``; tax ids become ``party.identifier``.
- One ``search_read`` per batch finds existing codes (inactive parties included); new
  parties go in one ``create`` call, changed ones in one multi-record ``write``. Tryton runs
  each call in one transaction, so a bad record fails the call: the batch is then split in
  halves until the bad records stand alone, the good ones are committed.
- Merge: Tryton's own ``party.replace`` wizard (what its client calls "Replace"): every
  reference to the merged-away party moves to the survivor and the party is deactivated.
- Archive: ``active = False``; delete: ``party.party.delete``.
- Sessions: on 401/403 the profile logs in again once; a refused login stops the run.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

from target_crm.errors import AuthenticationError, BatchError, RecordError
from target_crm.http_client import CRMHttp
from target_crm.profiles.base import ParentRef, Profile, WorkItem, chunks
from target_crm.results import Outcome

PARTY_FIELDS = {"name", "code"}
CONTACT_TYPES = {"emails": "email", "phones": "phone", "website": "website"}


class TrytonError(BatchError):
    """Tryton answered a call with an error (user error, access error ...)."""


class TrytonProfile(Profile):
    """Push parties to Tryton through its JSON-RPC API."""

    name = "tryton"
    default_batch_size = 500

    def known_fields(self, object_name: str) -> set[str]:
        """Party fields the mapping may set (addresses and contacts are built in code)."""
        return PARTY_FIELDS if object_name == "party.party" else set()

    def open(self) -> None:
        """Log in."""
        self.settings.require("tryton_url", "database", "username", "password")
        base = str(self.settings.get("tryton_url")).rstrip("/")
        self.db = str(self.settings.get("database"))
        self.http = CRMHttp(
            "Tryton", base, self.settings.retry, self.logger, auth_header=lambda: self._auth
        )
        self._auth: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._countries: dict[str, int] | None = None
        self.login()
        self.context: dict[str, Any] = self.call("model.res.user.get_preferences", True, {})

    def close(self) -> None:
        """Close the HTTP session."""
        if hasattr(self, "http"):
            self.http.close()

    # -- JSON-RPC -------------------------------------------------------------------------

    def login(self) -> None:
        """``common.db.login``; refused credentials stop the run."""
        user = str(self.settings.get("username"))
        self._auth = {}
        try:
            answer = self._post(
                "common.db.login", [user, {"password": str(self.settings.get("password"))}]
            )
        except (TrytonError, _SessionExpired) as exc:
            raise AuthenticationError(
                f"Tryton refused the login of {user!r} on database {self.db!r} "
                f"({str(exc) or 'access denied'}); fix username/password in the config and re-run"
            ) from None
        if not answer:
            raise AuthenticationError(f"Tryton refused the login of {user!r}; check password")
        self.uid = int(answer[0])
        token = base64.b64encode(f"{user}:{answer[0]}:{answer[1]}".encode()).decode()
        self._auth = {"Authorization": f"Session {token}"}

    def _post(self, method: str, params: list[Any]) -> Any:
        resp = self.http.request(
            "POST",
            f"/{self.db}/rpc/",
            json_body={"id": next(self._ids), "method": method, "params": params},
            ok=(401, 403),
        )
        if resp.status_code in (401, 403):
            raise _SessionExpired
        body = self.http.json(resp)
        if body.get("error"):
            raise TrytonError(_error_text(body["error"]))
        return body.get("result")

    def call(self, method: str, *params: Any) -> Any:
        """Call a method; log in again once when the session expired."""
        try:
            return self._post(method, list(params))
        except _SessionExpired:
            self.logger.info("Tryton session expired; logging in again")
            self.login()
            try:
                return self._post(method, list(params))
            except _SessionExpired:
                raise AuthenticationError(
                    "Tryton keeps refusing the session after a fresh login; check the user's "
                    "access rights"
                ) from None

    # -- reads ----------------------------------------------------------------------------

    def lookup(self, object_name: str, external_id: str, keys: list[str]) -> dict[str, str]:
        """Party ids by code, inactive parties included."""
        found: dict[str, str] = {}
        ctx = {**self.context, "active_test": False}
        for part in chunks(keys, 500):
            rows = self.call(
                "model.party.party.search_read",
                [("code", "in", part)],
                0,
                None,
                None,
                ["code"],
                ctx,
            )
            found.update({str(r["code"]): str(r["id"]) for r in rows})
        return found

    def _country(self, code: str | None, key: str) -> int | None:
        if not code:
            return None
        if self._countries is None:
            rows = self.call(
                "model.country.country.search_read", [], 0, None, None, ["code"], self.context
            )
            self._countries = {str(r["code"]).upper(): int(r["id"]) for r in rows if r["code"]}
        cid = self._countries.get(code.upper())
        if cid is None:
            raise RecordError(
                f"record {key}: country {code!r} is not in Tryton's country list; import the "
                "countries into Tryton (trytond_import_countries) and re-run",
                field="country",
            )
        return cid

    # -- building values ------------------------------------------------------------------

    def _children(
        self, it: WorkItem
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        rec = it.record
        addresses = []
        for a in rec.get("addresses") or []:
            street = " ".join(str(x) for x in (a.get("street"), a.get("house_number")) if x)
            addresses.append(
                {
                    "street_unstructured": street or None,
                    "postal_code": a.get("postal_code"),
                    "city": a.get("city"),
                    "country": self._country(a.get("country"), it.key),
                }
            )
        contacts = []
        for source, kind in CONTACT_TYPES.items():
            values = rec.get(source) or []
            for v in values if isinstance(values, list) else [values]:
                if v:
                    contacts.append({"type": kind, "value": str(v)})
        identifiers = [{"type": None, "code": str(t)} for t in rec.get("tax_ids") or [] if t]
        return addresses, contacts, identifiers

    @staticmethod
    def _o2m(existing: list[int], new: list[dict[str, Any]]) -> list[Any]:
        """Write the first rows in place, create extra ones, delete surplus old ones."""
        ops: list[Any] = []
        for old_id, vals in zip(existing, new, strict=False):
            ops.append(("write", [old_id], vals))
        if len(new) > len(existing):
            ops.append(("create", new[len(existing) :]))
        if len(existing) > len(new):
            ops.append(("delete", existing[len(new) :]))
        return ops

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, items: list[WorkItem]) -> list[Outcome]:
        """Create new parties, write changed ones; split failing calls."""
        out: list[Outcome] = []
        ctx = {**self.context, "active_test": False}
        rows = []
        for part in chunks([i.key for i in items], 500):
            rows += self.call(
                "model.party.party.search_read",
                [("code", "in", part)],
                0,
                None,
                None,
                ["code", "addresses", "contact_mechanisms", "identifiers"],
                ctx,
            )
        existing = {str(r["code"]): r for r in rows}
        ready: list[tuple[WorkItem, dict[str, Any]]] = []
        for it in items:
            try:
                addresses, contacts, identifiers = self._children(it)
            except RecordError as exc:
                out.append(it.outcome("error", error=str(exc)))
                continue
            values = {**it.payload, "code": it.key, "active": True}
            old = existing.get(it.key)
            if old is None:
                values["addresses"] = [("create", addresses)] if addresses else []
                values["contact_mechanisms"] = [("create", contacts)] if contacts else []
                values["identifiers"] = [("create", identifiers)] if identifiers else []
            else:
                del values["code"]  # Tryton forbids rewriting a code; it is already ours
                values["addresses"] = self._o2m(old["addresses"], addresses)
                values["contact_mechanisms"] = self._o2m(old["contact_mechanisms"], contacts)
                values["identifiers"] = self._o2m(old["identifiers"], identifiers)
            ready.append((it, values))
        new = [(it, v) for it, v in ready if it.key not in existing]
        old_ = [(it, v) for it, v in ready if it.key in existing]
        out += self._create(new)
        out += self._write(old_, existing)
        for o in out:
            if o.action in ("create", "update"):
                self.parents.put(o.key, "party.party", o.remote_id)
        return out

    def _create(self, group: list[tuple[WorkItem, dict[str, Any]]]) -> list[Outcome]:
        if not group:
            return []
        try:
            ids = self.call("model.party.party.create", [v for _, v in group], self.context)
        except TrytonError as exc:
            if len(group) == 1:
                return [group[0][0].outcome("error", error=f"Tryton: {exc}")]
            half = len(group) // 2
            return self._create(group[:half]) + self._create(group[half:])
        return [it.outcome("create", str(pid)) for (it, _), pid in zip(group, ids, strict=True)]

    def _write(
        self, group: list[tuple[WorkItem, dict[str, Any]]], existing: dict[str, dict[str, Any]]
    ) -> list[Outcome]:
        if not group:
            return []
        args: list[Any] = []
        for it, v in group:
            args += [[existing[it.key]["id"]], v]
        try:
            self.call("model.party.party.write", *args, self.context)
        except TrytonError as exc:
            if len(group) == 1:
                return [group[0][0].outcome("error", error=f"Tryton: {exc}")]
            half = len(group) // 2
            return self._write(group[:half], existing) + self._write(group[half:], existing)
        return [it.outcome("update", str(existing[it.key]["id"])) for it, _ in group]

    def retire(self, items: list[WorkItem]) -> list[Outcome]:
        """Deactivate or delete parties, one call each way (split on failure)."""
        out: list[Outcome] = []
        archive = [i for i in items if i.intent != "delete"]
        delete = [i for i in items if i.intent == "delete"]
        if archive:
            out += self._retire_call(archive, "model.party.party.write", {"active": False})
        if delete:
            out += self._retire_call(delete, "model.party.party.delete", None)
        for o in out:
            if o.action in ("archive", "delete"):
                self.parents.forget(o.key)
        return out

    def _retire_call(
        self, group: list[WorkItem], method: str, values: dict[str, Any] | None
    ) -> list[Outcome]:
        ids = [int(str(i.remote_id)) for i in group]
        try:
            if values is None:
                self.call(method, ids, self.context)
            else:
                self.call(method, ids, values, self.context)
        except TrytonError as exc:
            if len(group) == 1:
                return [group[0].outcome("error", error=f"Tryton: {exc}")]
            half = len(group) // 2
            return self._retire_call(group[:half], method, values) + self._retire_call(
                group[half:], method, values
            )
        return [i.outcome(i.intent) for i in group]

    def reparent(self, item: WorkItem, loser: str | None, survivor: ParentRef) -> bool:
        """Tryton's ``party.replace`` wizard: references move to the survivor."""
        if not loser or not survivor.remote_id:
            return False
        src, dst = int(loser), int(survivor.remote_id)
        try:
            # the wizard asks to confirm when names or tax ids differ; a merge decided by the
            # hub is that confirmation, given as Tryton's own one-time warning acknowledgement
            self.call(
                "model.res.user.warning.create",
                [
                    {"user": self.uid, "name": f"party.replace {what} {src} {dst}", "always": False}
                    for what in ("name", "tax_identifier")
                ],
                self.context,
            )
            session = self.call("wizard.party.replace.create", self.context)
            sid = session[0] if isinstance(session, list) else session
            self.call(
                "wizard.party.replace.execute",
                sid,
                {"ask": {"source": src, "destination": dst}},
                "replace",
                self.context,
            )
            self.call("wizard.party.replace.delete", sid, self.context)
        except TrytonError as exc:
            raise BatchError(f"Tryton could not replace party {src} by {dst}: {exc}") from exc
        return True  # the wizard deactivated the merged-away party itself


class _SessionExpired(Exception):
    pass


def _error_text(error: Any) -> str:
    """Tryton errors come as [name, args]; the first arg is the user-facing message."""
    if isinstance(error, list) and len(error) == 2:
        name, args = error
        if isinstance(args, list) and args:
            return f"{name}: {args[0]}"
        return f"{name}: {args}"
    return str(error)
