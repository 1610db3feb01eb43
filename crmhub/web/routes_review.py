"""The candidate queue, one candidate, decisions (one, bulk, undo)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from crmhub.steward import actions
from crmhub.steward.queries import candidate_detail, queue
from crmhub.web.app import WebError, form_or_json, render, requires, state, wants_json

PAGE = 25
BULK_LIMIT = 500


def _float(value: str | None, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(str(value))
    except ValueError:
        raise WebError(400, "bad_request", f"{name} must be a number, not {value!r}") from None


def _filters(params: Any) -> dict[str, Any]:
    status = params.get("status") or "pending"
    if status not in ("pending", "approved", "rejected", "all"):
        raise WebError(400, "bad_request", f"unknown status {status!r}")
    sort = params.get("sort") or "uncertainty"
    if sort not in ("uncertainty", "score"):
        raise WebError(400, "bad_request", f"unknown sort {sort!r}")
    return {
        "status": status,
        "source": params.get("source") or None,
        "min_score": _float(params.get("min_score"), "min_score"),
        "max_score": _float(params.get("max_score"), "max_score"),
        "sort": sort,
    }


def _priorities(request: Request) -> dict[str, int]:
    return {n: s.priority for n, s in state(request).project.config.sources.items()}


@requires("viewer")
async def queue_page(request: Request) -> Response:
    """Candidates with filters, sorted by uncertainty or score, paged."""
    filters = _filters(request.query_params)
    try:
        page = max(1, int(request.query_params.get("page") or 1))
    except ValueError:
        raise WebError(400, "bad_request", "page must be a whole number") from None
    with state(request).master.session() as s:
        total, rows = queue(s, limit=PAGE, offset=(page - 1) * PAGE, **filters)
    sources = sorted(state(request).project.config.sources)
    return render(
        request,
        "queue.html",
        {
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE)),
            "candidates": rows,
            "filters": filters,
            "sources": sources,
        },
    )


@requires("viewer")
async def candidate_page(request: Request) -> Response:
    """Two records side by side with the score's explanation."""
    candidate_id = _id(request)
    with state(request).master.session() as s:
        detail = candidate_detail(s, candidate_id)
    return render(request, "candidate.html", {"candidate": detail})


def _id(request: Request) -> int:
    try:
        return int(request.path_params["candidate_id"])
    except ValueError:
        raise WebError(404, "not_found", "no such candidate") from None


@requires("steward")
async def decide(request: Request) -> Response:
    """Approve, reject or skip one candidate (checked against the version shown)."""
    candidate_id = _id(request)
    data = await form_or_json(request)
    action = data.get("action")
    try:
        version = int(data["version"]) if data.get("version") not in (None, "") else None
    except (TypeError, ValueError):
        raise WebError(400, "bad_request", "version must be a whole number") from None
    user = request.state.user.username
    with state(request).master.session() as s:
        if action == "approve":
            decision = actions.approve(
                s,
                candidate_id,
                actor=user,
                priorities=_priorities(request),
                expected_version=version,
            )
        elif action == "reject":
            decision = actions.reject(s, candidate_id, actor=user, expected_version=version)
        elif action == "skip":
            decision = actions.skip(s, candidate_id, actor=user)
        else:
            raise WebError(
                400, "bad_request", f"action must be approve, reject or skip, not {action!r}"
            )
    if wants_json(request):
        return JSONResponse(decision.as_dict())
    with state(request).master.session() as s:
        _, nxt = queue(s, limit=2)
    following = [c for c in nxt if c["id"] != candidate_id]
    target = f"/candidates/{following[0]['id']}" if following else "/queue"
    return RedirectResponse(target, status_code=303)


@requires("steward")
async def bulk(request: Request) -> Response:
    """Approve or reject every pending candidate matching the filters, after confirmation."""
    data = await form_or_json(request)
    action = data.get("action")
    if action not in ("approve", "reject"):
        raise WebError(400, "bad_request", "action must be approve or reject")
    if str(data.get("confirm")) not in ("yes", "true", "on", "1"):
        raise WebError(400, "confirmation_required", "confirm the bulk decision (confirm=yes)")
    filters = _filters({**data, "status": "pending"})
    user = request.state.user.username
    done = 0
    with state(request).master.session() as s:
        total, rows = queue(s, limit=BULK_LIMIT, **filters)
        for row in rows:
            if action == "approve":
                actions.approve(
                    s,
                    row["id"],
                    actor=user,
                    priorities=_priorities(request),
                    expected_version=row["version"],
                )
            else:
                actions.reject(s, row["id"], actor=user, expected_version=row["version"])
            done += 1
    if wants_json(request):
        return JSONResponse({"action": action, "decided": done, "matching": total})
    return RedirectResponse("/queue", status_code=303)


@requires("steward")
async def undo(request: Request) -> Response:
    """Undo the user's last decision."""
    with state(request).master.session() as s:
        decision = actions.undo_last(
            s, actor=request.state.user.username, priorities=_priorities(request)
        )
    if wants_json(request):
        return JSONResponse(decision.as_dict())
    target = f"/candidates/{decision.candidate_id}" if decision.candidate_id else "/queue"
    return RedirectResponse(target, status_code=303)


ROUTES = [
    ("/queue", queue_page, ["GET"]),
    ("/candidates/{candidate_id}", candidate_page, ["GET"]),
    ("/candidates/{candidate_id}/decide", decide, ["POST"]),
    ("/bulk", bulk, ["POST"]),
    ("/undo", undo, ["POST"]),
]
