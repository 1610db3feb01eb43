"""The app factory: sessions, roles, one error handler, pages with JSON twins.

Every page answers HTML, or JSON with ``?format=json`` or under ``/api/...`` (the same
handler). Every route but ``/login`` needs a session: HTML GETs redirect to the login page,
everything else gets 401. Every POST needs the session's CSRF token. Errors have one shape:
``{"error": {"status", "code", "message"}}`` (or the same on an HTML error page).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from crmhub.config import Project
from crmhub.errors import ConflictError, CrmhubError, DecisionError
from crmhub.store import Master
from crmhub.store.models import AppUser
from crmhub.web.i18n import translator
from crmhub.web.security import COOKIE, LoginLimiter, Sessions, csrf_ok, load_secret
from crmhub.web.users import RANK

HERE = Path(__file__).parent
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class AppState:
    """What every request needs."""

    project: Project
    master: Master
    sessions: Sessions
    limiter: LoginLimiter
    templates: Environment
    secure_cookies: bool


class WebError(Exception):
    """An error with an HTTP status and a stable code, rendered by the one error handler."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def wants_json(request: Request) -> bool:
    """JSON twin: ``?format=json``, an ``/api/`` path, or a JSON Accept header."""
    return (
        request.query_params.get("format") == "json"
        or request.url.path.startswith("/api/")
        or request.headers.get("accept", "").startswith("application/json")
    )


def state(request: Request) -> AppState:
    """The app's state."""
    value: AppState = request.app.state.crmhub
    return value


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    """HTML from a template, or the context as JSON for the twin."""
    if wants_json(request):
        return JSONResponse(_jsonable(context), status_code=status)
    st = state(request)
    session = getattr(request.state, "session", None)
    html = st.templates.get_template(template).render(
        request=request,
        t=translator(request.query_params.get("lang")),
        user=getattr(request.state, "user", None),
        csrf=session.csrf if session else "",
        **context,
    )
    return HTMLResponse(html, status_code=status)


def _jsonable(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    """The one error shape, as JSON or as a page."""
    body = {"error": {"status": status, "code": code, "message": message}}
    if wants_json(request):
        return JSONResponse(body, status_code=status)
    return render(request, "error.html", body, status=status)


def _crmhub_status(exc: CrmhubError) -> tuple[int, str]:
    if isinstance(exc, ConflictError):
        return 409, "conflict"
    if isinstance(exc, DecisionError):
        text = exc.message.lower()
        if text.startswith("there is no") or "no longer exists" in text:
            return 404, "not_found"
        return 400, "bad_request"
    return 500, "server_error"


async def _handle_errors(request: Request, exc: Exception) -> Response:
    if isinstance(exc, WebError):
        return error_response(request, exc.status, exc.code, exc.message)
    if isinstance(exc, CrmhubError):
        status, code = _crmhub_status(exc)
        return error_response(request, status, code, exc.message)
    if isinstance(exc, HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(request, exc.status_code, code, str(exc.detail))
    return error_response(request, 500, "server_error", "unexpected error; see the server log")


PUBLIC = ("/login", "/static/")


def requires(role: str) -> Callable[[Handler], Handler]:
    """Guard a handler: a session with at least ``role``; POSTs also need the CSRF token."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            user: AppUser | None = getattr(request.state, "user", None)
            if user is None:
                if request.method == "GET" and not wants_json(request):
                    target = quote(
                        str(request.url.path)
                        + ("?" + request.url.query if request.url.query else "")
                    )
                    return RedirectResponse(f"/login?next={target}", status_code=303)
                raise WebError(401, "unauthenticated", "log in first")
            if RANK.get(user.role, -1) < RANK[role]:
                raise WebError(403, "forbidden", f"a {user.role} may not do this (needs {role})")
            if request.method == "POST":
                await check_csrf(request)
            return await handler(request)

        guarded.__name__ = handler.__name__
        guarded.__doc__ = handler.__doc__
        return guarded

    return wrap


async def form_or_json(request: Request) -> dict[str, Any]:
    """The request body: a form, or a JSON object (scripts)."""
    cached = getattr(request.state, "body", None)
    if cached is not None:
        data: dict[str, Any] = cached
        return data
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise WebError(
                400, "malformed_json", f"the request body is not valid JSON: {exc}"
            ) from None
        if not isinstance(parsed, dict):
            raise WebError(400, "malformed_json", "the request body must be a JSON object")
        data = parsed
    else:
        form = await request.form()
        data = {}
        for key in form:
            values = form.getlist(key)
            data[key] = values if len(values) > 1 or key.endswith("[]") else values[0]
    request.state.body = data
    return data


async def check_csrf(request: Request) -> None:
    """Reject a POST whose CSRF token is missing or not the session's."""
    session = request.state.session
    given = request.headers.get("x-csrf-token")
    if given is None:
        given = (await form_or_json(request)).get("csrf")
    if not csrf_ok(session.csrf, str(given) if given is not None else None):
        raise WebError(
            403, "csrf", "the form's security token is missing or wrong; reload the page"
        )


class AuthMiddleware:
    """Resolves the session cookie into ``request.state.user`` (or None)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Attach the user, then call the app."""
        if scope["type"] == "http":
            request = Request(scope)
            st: AppState = scope["app"].state.crmhub
            session = st.sessions.load(request.cookies.get(COOKIE))
            user = None
            if session is not None:
                with st.master.session() as s:
                    found = s.scalar(select(AppUser).where(AppUser.username == session.username))
                    if (
                        found is not None
                        and not found.disabled
                        and found.session_epoch == session.epoch
                    ):
                        user = found
            scope.setdefault("state", {})
            scope["state"]["user"] = user
            scope["state"]["session"] = session if user is not None else None
        await self.app(scope, receive, send)


def create_app(project: Project, master: Master, *, secure_cookies: bool = False) -> Starlette:
    """The steward app for one project's master."""
    from crmhub.web import routes_auth, routes_master, routes_review

    routes: list[Any] = []
    for module in (routes_auth, routes_review, routes_master):
        for path, handler, methods in module.ROUTES:
            routes.append(Route(path, handler, methods=methods))
            if (path not in ("/login", "/logout", "/") and "GET" in methods) or (
                "POST" in methods and path not in ("/login", "/logout")
            ):
                routes.append(Route("/api" + path, handler, methods=methods, name=f"api{path}"))
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    app = Starlette(
        routes=routes,
        exception_handlers={
            WebError: _handle_errors,
            CrmhubError: _handle_errors,
            HTTPException: _handle_errors,
            Exception: _handle_errors,
        },
    )
    app.add_middleware(AuthMiddleware)
    app.state.crmhub = AppState(
        project=project,
        master=master,
        sessions=Sessions(load_secret(project.state_dir)),
        limiter=LoginLimiter(),
        templates=Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
        ),
        secure_cookies=secure_cookies,
    )
    return app
