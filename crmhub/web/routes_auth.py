"""Log in and out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from crmhub.web.app import WebError, form_or_json, render, requires, state, wants_json
from crmhub.web.security import COOKIE, SESSION_SECONDS
from crmhub.web.users import authenticate


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would let a phishing link bounce through us.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/queue"
    return target


async def login_page(request: Request) -> Response:
    """The login form."""
    return render(request, "login.html", {"next": _safe_next(request.query_params.get("next"))})


async def login(request: Request) -> Response:
    """Check the password (rate-limited) and set the session cookie."""
    st = state(request)
    data = await form_or_json(request)
    username = str(data.get("username") or "").strip()
    password = str(data.get("password") or "")
    client = request.client.host if request.client else "?"
    wait = st.limiter.blocked(client, username)
    if wait:
        raise WebError(
            429, "too_many_attempts", f"too many failed logins; try again in {wait:.0f} s"
        )
    with st.master.session() as s:
        user = authenticate(s, username, password)
        epoch = user.session_epoch if user else 0
    if user is None:
        st.limiter.failed(client, username)
        if wants_json(request):
            raise WebError(401, "bad_credentials", "wrong user name or password")
        return render(
            request,
            "login.html",
            {
                "next": _safe_next(str(data.get("next") or "")),
                "error": "wrong user name or password",
            },
            status=401,
        )
    st.limiter.succeeded(client, username)
    cookie, _session = st.sessions.dump(username, epoch)
    response: Response
    if wants_json(request):
        from starlette.responses import JSONResponse

        response = JSONResponse({"username": username, "csrf": _session.csrf})
    else:
        response = RedirectResponse(_safe_next(str(data.get("next") or "")), status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=st.secure_cookies,
    )
    return response


@requires("viewer")
async def logout(request: Request) -> Response:
    """End the session."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@requires("viewer")
async def home(request: Request) -> Response:
    """The queue is the home page."""
    return RedirectResponse("/queue", status_code=303)


ROUTES = [
    ("/login", login_page, ["GET"]),
    ("/login", login, ["POST"]),
    ("/logout", logout, ["POST"]),
    ("/", home, ["GET"]),
]
