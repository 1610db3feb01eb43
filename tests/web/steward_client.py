"""Logging in to the steward app from tests."""

from __future__ import annotations

from starlette.testclient import TestClient

PASSWORD = "correct horse battery"


def login(client: TestClient, username: str) -> str:
    """Log in; return the session's CSRF token."""
    response = client.post(
        "/api/login" if False else "/login",
        data={"username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get("/queue")
    marker = 'name="csrf" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]
