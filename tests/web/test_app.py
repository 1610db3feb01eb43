"""The steward app in-process: auth on every route, roles, CSRF, decisions, one error shape."""

from __future__ import annotations

import sqlite3

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient
from steward_client import PASSWORD, login


def _paths(client: TestClient) -> list[tuple[str, str]]:
    out = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or route.path in ("/login", "/api/login"):
            continue
        path = route.path.replace("{candidate_id}", "1").replace("{master_id}", "MX")
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                out.append((method, path))
    return out


def test_every_route_needs_a_session(client: TestClient) -> None:
    paths = _paths(client)
    assert len(paths) >= 20
    for method, path in paths:
        response = client.request(method, path, follow_redirects=False)
        if method == "GET" and not path.startswith("/api/"):
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next=")
        elif path.startswith("/api/"):
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json() == {
                "error": {"status": 401, "code": "unauthenticated", "message": "log in first"}
            }
        else:
            assert response.status_code == 401, (method, path, response.status_code)
            assert "log in first" in response.text


def test_login_sets_a_strict_httponly_cookie_and_rate_limits(client: TestClient) -> None:
    response = client.post(
        "/login", data={"username": "sanne", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    client.cookies.clear()
    for _ in range(5):
        bad = client.post("/login", data={"username": "victor", "password": "wrong password"})
        assert bad.status_code == 401 and "wrong user name or password" in bad.text
    blocked = client.post("/login?format=json", data={"username": "victor", "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "too_many_attempts"


def test_open_redirect_is_refused(client: TestClient) -> None:
    response = client.post(
        "/login",
        data={"username": "sanne", "password": PASSWORD, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/queue"


def test_queue_and_candidate_pages_with_json_twins(client: TestClient) -> None:
    login(client, "victor")
    page = client.get("/queue")
    assert page.status_code == 200
    assert "राहुल शर्मा" in page.text, "Devanagari renders as text, not escapes"
    twin = client.get("/api/queue").json()
    assert twin["total"] == 2
    assert twin["candidates"][0]["score"] == 0.55, "most uncertain first"
    assert client.get("/queue?sort=score&format=json").json()["candidates"][0]["score"] == 0.81
    assert client.get("/api/queue?source=shop").json()["total"] == 2
    other = client.get("/api/queue?source=erp").json()
    assert other["total"] == 0 and other["candidates"] == []
    detail = client.get("/api/candidates/1").json()["candidate"]
    assert {f["field"] for f in detail["fields"] if not f["same"]} >= {"given_name", "emails"}
    html = client.get("/candidates/1").text
    assert "family name exact" in html and "+3.1" in html and "-1.4" in html
    assert client.get("/api/search?q=Müller").json()["results"][0]["name"] == "Jürgen Müller"
    assert client.get("/api/runs").json()["runs"][0]["kind"] == "match"
    assert client.get("/api/quarantine").status_code == 200


def test_viewer_may_not_decide_and_csrf_is_checked(client: TestClient) -> None:
    csrf = login(client, "victor")
    response = client.post("/api/candidates/1/decide", data={"action": "approve", "csrf": csrf})
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    client.cookies.clear()
    csrf = login(client, "sanne")
    missing = client.post("/api/candidates/1/decide", data={"action": "approve"})
    assert missing.status_code == 403 and missing.json()["error"]["code"] == "csrf"
    forged = client.post("/api/candidates/1/decide", data={"action": "approve", "csrf": "x" + csrf})
    assert forged.status_code == 403


def test_decide_conflict_and_undo(client: TestClient, web_project: object) -> None:
    csrf = login(client, "sanne")
    ok = client.post(
        "/candidates/1/decide",
        data={"action": "approve", "version": "1", "csrf": csrf},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/candidates/2"
    stale = client.post(
        "/api/candidates/1/decide", data={"action": "reject", "version": "1", "csrf": csrf}
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    html = client.post(
        "/candidates/1/decide", data={"action": "reject", "version": "1", "csrf": csrf}
    )
    assert html.status_code == 409 and "changed since you opened it" in html.text
    undone = client.post("/api/undo", headers={"x-csrf-token": csrf})
    assert undone.status_code == 200 and undone.json()["action"] == "undo"
    assert client.get("/api/candidates/1").json()["candidate"]["status"] == "pending"


def test_bad_requests_get_clear_errors(client: TestClient) -> None:
    csrf = login(client, "sanne")
    headers = {"x-csrf-token": csrf, "content-type": "application/json"}
    malformed = client.post("/api/candidates/1/decide", content=b"{not json", headers=headers)
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    unknown = client.get("/api/golden/MNOPE")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    missing = client.post("/api/candidates/999/decide", json={"action": "reject", "csrf": csrf})
    assert missing.status_code == 404
    bulk = client.post("/api/bulk", json={"action": "approve", "csrf": csrf})
    assert bulk.status_code == 400 and bulk.json()["error"]["code"] == "confirmation_required"


def test_split_and_override_from_the_golden_page(client: TestClient, web_project: object) -> None:
    csrf = login(client, "sanne")
    jm = client.get("/api/search?q=jm@example.de").json()["results"][0]["master_id"]
    by_id = client.get(f"/api/search?q={jm.lower()}").json()["results"]
    assert [r["master_id"] for r in by_id] == [jm], "a master id finds exactly its record"
    golden = client.get(f"/api/golden/{jm}").json()
    members = [m["record_id"] for m in golden["members"]]
    assert len(members) == 2
    empty = client.post(f"/api/golden/{jm}/split", json={"record_ids": members, "csrf": csrf})
    assert empty.status_code == 400 and "both sides" in empty.json()["error"]["message"]
    done = client.post(f"/api/golden/{jm}/split", json={"record_ids": [members[1]], "csrf": csrf})
    assert done.status_code == 200
    new_id = done.json()["master_ids"][1]
    assert [m["record_id"] for m in client.get(f"/api/golden/{new_id}").json()["members"]] == [
        members[1]
    ]
    override = client.post(
        f"/api/golden/{jm}/override",
        json={"field": "given_name", "record_id": members[0], "csrf": csrf},
    )
    assert override.status_code == 200
    assert client.get(f"/api/golden/{jm}").json()["golden"]["overrides"] == {"given_name": "Jürgen"}


@pytest.mark.parametrize("role,status", [("victor", 403), ("sanne", 403), ("ada", 200)])
def test_only_admins_manage_users(client: TestClient, role: str, status: int) -> None:
    login(client, role)
    assert client.get("/api/users").status_code == status


def test_disabled_user_loses_the_session(client: TestClient, web_project: object) -> None:
    from click.testing import CliRunner

    from crmhub.cli import main

    login(client, "sanne")
    assert client.get("/api/queue").status_code == 200
    root = web_project.root  # type: ignore[attr-defined]
    assert CliRunner().invoke(main, ["-p", str(root), "users", "disable", "sanne"]).exit_code == 0
    assert client.get("/api/queue").status_code == 401
    with sqlite3.connect(root / "master.db") as conn:
        assert conn.execute("SELECT disabled FROM app_user WHERE username='sanne'").fetchone() == (
            1,
        )
