"""Golden records (members, provenance, history, split, overrides), search, runs, quarantine."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from crmhub.match.recompute import recompute
from crmhub.steward import actions
from crmhub.store.models import (
    AppUser,
    AuditEvent,
    GoldenRecord,
    Quarantine,
    Run,
    SourceRecord,
    Xref,
)
from crmhub.store.search_keys import search_goldens
from crmhub.web.app import WebError, form_or_json, render, requires, state, wants_json
from crmhub.web.users import ROLES, add_user

_MASTER_ID = re.compile(r"M[0-9A-F]{15}")


def _priorities(request: Request) -> dict[str, int]:
    return {n: s.priority for n, s in state(request).project.config.sources.items()}


def _golden(session: Any, master_id: str) -> GoldenRecord:
    golden: GoldenRecord | None = session.scalar(
        select(GoldenRecord).where(GoldenRecord.master_id == master_id)
    )
    if golden is None:
        raise WebError(404, "not_found", f"there is no golden record {master_id}")
    return golden


@requires("viewer")
async def golden_page(request: Request) -> Response:
    """Members with their values and lineage, surviving values with provenance, history."""
    master_id = request.path_params["master_id"]
    with state(request).master.session() as s:
        golden = _golden(s, master_id)
        members = [
            {
                "record_id": r.id,
                "source": r.source,
                "stream": r.stream,
                "source_key": r.source_key,
                "entity": r.entity,
                "canonical": r.canonical,
                "method": x.method,
                "last_seen": r.last_seen,
            }
            for r, x in s.execute(
                select(SourceRecord, Xref)
                .join(Xref, Xref.source_record_id == SourceRecord.id)
                .where(Xref.master_id == master_id)
                .order_by(SourceRecord.entity, SourceRecord.id)
            )
        ]
        history = [
            {"at": e.at, "actor": e.actor, "action": e.action, "before": e.before, "after": e.after}
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.master_id == master_id)
                .order_by(AuditEvent.id.desc())
                .limit(100)
            )
        ]
        context = {
            "golden": {
                "master_id": golden.master_id,
                "status": golden.status,
                "merged_into": golden.merged_into,
                "version": golden.version,
                "kind": golden.kind,
                "data": golden.data,
                "provenance": golden.provenance,
                "overrides": golden.overrides,
                "created_at": golden.created_at,
                "updated_at": golden.updated_at,
            },
            "members": members,
            "history": history,
        }
    return render(request, "golden.html", context)


@requires("steward")
async def split(request: Request) -> Response:
    """Move the chosen member records into a new golden record."""
    master_id = request.path_params["master_id"]
    data = await form_or_json(request)
    raw = data.get("record_ids") or data.get("record_ids[]") or []
    values = raw if isinstance(raw, list) else [raw]
    try:
        record_ids = [int(v) for v in values]
    except (TypeError, ValueError):
        raise WebError(400, "bad_request", "record_ids must be source record ids") from None
    with state(request).master.session() as s:
        _golden(s, master_id)
        decision = actions.split(
            s,
            master_id,
            record_ids,
            actor=request.state.user.username,
            priorities=_priorities(request),
        )
    if wants_json(request):
        return JSONResponse(decision.as_dict())
    return RedirectResponse(f"/golden/{decision.master_ids[1]}", status_code=303)


@requires("steward")
async def override(request: Request) -> Response:
    """Choose the surviving value of a field; kept across later matching runs."""
    master_id = request.path_params["master_id"]
    data = await form_or_json(request)
    field = str(data.get("field") or "")
    try:
        record_id = int(data.get("record_id") or "")
    except ValueError:
        raise WebError(400, "bad_request", "record_id must be a source record id") from None
    with state(request).master.session() as s:
        golden = _golden(s, master_id)
        member = s.scalar(
            select(SourceRecord)
            .join(Xref, Xref.source_record_id == SourceRecord.id)
            .where(Xref.master_id == master_id, SourceRecord.id == record_id)
        )
        if member is None:
            raise WebError(400, "bad_request", f"record {record_id} is not a member of {master_id}")
        value = (member.canonical or {}).get(field)
        if value is None:
            raise WebError(400, "bad_request", f"record {record_id} has no value for {field!r}")
        before = dict(golden.overrides or {})
        golden.overrides = {**before, field: value}
        golden.content_hash = None  # force the recompute to write
        recompute(s, [master_id], _priorities(request), actor=request.state.user.username)
        s.add(
            AuditEvent(
                actor=request.state.user.username,
                action="override",
                master_id=master_id,
                before={"overrides": before},
                after={"overrides": golden.overrides, "from_record": record_id},
            )
        )
    if wants_json(request):
        return JSONResponse({"master_id": master_id, "overrides": {field: value}})
    return RedirectResponse(f"/golden/{master_id}", status_code=303)


@requires("viewer")
async def search(request: Request) -> Response:
    """Golden records by master id, name, email or phone."""
    q = (request.query_params.get("q") or "").strip()
    results: list[dict[str, Any]] = []
    if q:
        with state(request).master.session() as s:
            # A master id is looked up by its unique index; anything else by the golden
            # records' search keys (names, emails, phones), never by scanning their JSON.
            if _MASTER_ID.fullmatch(q.upper()):
                goldens = list(
                    s.scalars(
                        select(GoldenRecord).where(
                            GoldenRecord.status == "active", GoldenRecord.master_id == q.upper()
                        )
                    )
                )
            else:
                ids = search_goldens(s, q, limit=50)
                by_id = {
                    g.id: g for g in s.scalars(select(GoldenRecord).where(GoldenRecord.id.in_(ids)))
                }
                goldens = [by_id[i] for i in ids if i in by_id]
            for g in goldens:
                data = g.data or {}
                name = (
                    " ".join(
                        str(data[k])
                        for k in ("given_name", "name_particle", "family_name")
                        if data.get(k)
                    )
                    or data.get("full_name")
                    or data.get("organization_name")
                    or ""
                )
                results.append(
                    {
                        "master_id": g.master_id,
                        "name": name,
                        "emails": data.get("emails") or [],
                        "phones": data.get("phones") or [],
                        "city": ((data.get("addresses") or [{}])[0]).get("city"),
                    }
                )
    return render(request, "search.html", {"q": q, "results": results})


@requires("viewer")
async def runs_page(request: Request) -> Response:
    """Run history."""
    with state(request).master.session() as s:
        runs = [
            {
                "id": r.id,
                "kind": r.kind,
                "target": r.target,
                "status": r.status,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "counts": r.counts,
                "error": r.error,
            }
            for r in s.scalars(select(Run).order_by(Run.id.desc()).limit(100))
        ]
    return render(request, "runs.html", {"runs": runs})


@requires("viewer")
async def quarantine_page(request: Request) -> Response:
    """Records that could not be used, and why."""
    with state(request).master.session() as s:
        rows = [
            {
                "id": q.id,
                "source": q.source,
                "stream": q.stream,
                "source_key": q.source_key,
                "stage": q.stage,
                "reasons": q.reasons,
                "created_at": q.created_at,
            }
            for q in s.scalars(
                select(Quarantine)
                .where(Quarantine.resolved_at.is_(None))
                .order_by(Quarantine.id.desc())
                .limit(200)
            )
        ]
    return render(request, "quarantine.html", {"rows": rows})


@requires("admin")
async def users_page(request: Request) -> Response:
    """Users and roles (admins only)."""
    with state(request).master.session() as s:
        rows = [
            {
                "username": u.username,
                "role": u.role,
                "disabled": u.disabled,
                "last_login_at": u.last_login_at,
            }
            for u in s.scalars(select(AppUser).order_by(AppUser.username))
        ]
    return render(request, "users.html", {"users": rows, "roles": ROLES})


@requires("admin")
async def users_add(request: Request) -> Response:
    """Add a user (admins only)."""
    data = await form_or_json(request)
    with state(request).master.session() as s:
        add_user(
            s,
            str(data.get("username") or ""),
            str(data.get("password") or ""),
            str(data.get("role") or "steward"),
            actor=request.state.user.username,
        )
    if wants_json(request):
        return JSONResponse({"added": data.get("username")})
    return RedirectResponse("/users", status_code=303)


ROUTES = [
    ("/golden/{master_id}", golden_page, ["GET"]),
    ("/golden/{master_id}/split", split, ["POST"]),
    ("/golden/{master_id}/override", override, ["POST"]),
    ("/search", search, ["GET"]),
    ("/runs", runs_page, ["GET"]),
    ("/quarantine", quarantine_page, ["GET"]),
    ("/users", users_page, ["GET"]),
    ("/users", users_add, ["POST"]),
]
