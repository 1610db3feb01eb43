"""End to end in a real headless Chromium (Debian's package) driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from steward_client import PASSWORD

from crmhub.config import load_project
from crmhub.store import open_master
from crmhub.web.app import create_app

CHROMIUM = os.environ.get("CRMHUB_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CRMHUB_REQUIRE_SERVERS"),
    reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(web_project: object) -> Iterator[tuple[str, Path]]:
    root: Path = web_project.root  # type: ignore[attr-defined]
    project = load_project(root)
    master = open_master(project.master_url())
    port = _free_port()
    config = uvicorn.Config(
        create_app(project, master), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", root
    srv.should_exit = True
    thread.join(10)
    master.dispose()


@pytest.fixture
def page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright starts Chromium headless with a fresh temporary profile of its own.
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def _status(root: Path, candidate_id: int) -> str:
    with sqlite3.connect(root / "master.db") as conn:
        row = conn.execute(
            "SELECT status FROM match_candidate WHERE id=?", (candidate_id,)
        ).fetchone()
    return str(row[0])


def test_steward_logs_in_approves_rejects_and_splits(
    server: tuple[str, Path], page: object, tmp_path: Path
) -> None:
    base, root = server
    p = page  # playwright Page
    p.goto(f"{base}/queue")  # type: ignore[attr-defined]
    assert "/login" in p.url  # type: ignore[attr-defined]
    p.fill("#username", "sanne")  # type: ignore[attr-defined]
    p.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    p.click("button[type=submit]")  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/queue")  # type: ignore[attr-defined]
    assert "राहुल शर्मा" in p.content()  # type: ignore[attr-defined]
    p.screenshot(path=str(tmp_path / "queue.png"))  # type: ignore[attr-defined]
    if os.environ.get("CRMHUB_SCREENSHOTS"):
        shutil.copy(tmp_path / "queue.png", os.environ["CRMHUB_SCREENSHOTS"])

    # j selects the first row (the most uncertain pair: #2), Enter opens it, r rejects it
    p.keyboard.press("j")  # type: ignore[attr-defined]
    p.keyboard.press("Enter")  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/candidates/2")  # type: ignore[attr-defined]
    assert "family name exact" in p.content()  # type: ignore[attr-defined]
    if os.environ.get("CRMHUB_SCREENSHOTS"):
        p.screenshot(path=os.environ["CRMHUB_SCREENSHOTS"] + ".candidate.png", full_page=True)  # type: ignore[attr-defined]
    p.keyboard.press("r")  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/candidates/1")  # type: ignore[attr-defined]
    assert _status(root, 2) == "rejected"

    # a approves the next one: the two Jansen masters merge
    p.keyboard.press("a")  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/queue")  # type: ignore[attr-defined]
    assert _status(root, 1) == "approved"
    with sqlite3.connect(root / "master.db") as conn:
        merged = conn.execute(
            "SELECT count(*) FROM golden_record WHERE status='merged'"
        ).fetchone()[0]
    assert merged == 1

    # split the Müller golden record found by search
    p.goto(f"{base}/search")  # type: ignore[attr-defined]
    p.fill("#q", "jm@example.de")  # type: ignore[attr-defined]
    p.press("#q", "Enter")  # type: ignore[attr-defined]
    p.click("table a")  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/golden/**")  # type: ignore[attr-defined]
    master_id = p.url.rsplit("/", 1)[1]  # type: ignore[attr-defined]
    p.locator("input[name=record_ids]").first.check()  # type: ignore[attr-defined]
    p.click("text=Split selected records")  # type: ignore[attr-defined]
    p.wait_for_url(f"{base}/golden/**")  # type: ignore[attr-defined]
    new_id = p.url.rsplit("/", 1)[1]  # type: ignore[attr-defined]
    assert new_id != master_id
    with sqlite3.connect(root / "master.db") as conn:
        counts = dict(conn.execute("SELECT master_id, count(*) FROM xref GROUP BY master_id"))
        actors = {r[0] for r in conn.execute("SELECT actor FROM audit_event")}
    assert counts[new_id] == 1 and counts[master_id] == 1
    assert "sanne" in actors
