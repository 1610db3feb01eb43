"""Notifications against a real local SMTP server (aiosmtpd) and a real HTTP receiver."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sync_project import SyncProject

from crmhub.config.model import EmailConfig, NotificationsConfig, WebhookConfig
from crmhub.sync.notify import notify, should_notify


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def receiver() -> Iterator[tuple[list[dict[str, Any]], str]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": json.loads(body)})
            self.send_response(500 if self.path == "/broken" else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_when_to_notify() -> None:
    quiet = NotificationsConfig()
    assert should_notify(quiet, "failed")
    assert should_notify(quiet, "partial")
    assert not should_notify(quiet, "succeeded")
    assert should_notify(NotificationsConfig(on_success=True), "succeeded")
    assert not should_notify(NotificationsConfig(on_partial=False), "partial")


def test_failed_sync_posts_and_mails_the_summary(
    project: SyncProject,
    smtp: tuple[_Inbox, int],
    receiver: tuple[list[dict[str, Any]], str],
) -> None:
    inbox, port = smtp
    received, base = receiver
    project.targets = {}
    project.tap_options["shop"] = {"exit_after": 1}  # the only source is down: the run fails
    project.extra["notifications"] = {
        "webhooks": [{"url": f"{base}/hook", "headers": {"X-Token": "abc"}}],
        "email": {
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "sender": "crmhub@example.org",
            "to": ["it@example.org"],
        },
    }
    project.write()
    result = project.cli("sync")
    assert result.exit_code == 70, result.output
    assert "failed at step ingest" in result.output

    assert len(received) == 1
    body = received[0]["body"]
    assert body["project"] == "synctest" and body["status"] == "failed"
    assert body["failed_step"] == "ingest" and body["retry"].startswith("crmhub sync")
    assert received[0]["headers"]["X-Token"] == "abc"

    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["Subject"] == f"[crmhub synctest] sync {body['run_id']} failed at ingest"
    assert message["To"] == "it@example.org"
    parts = {p.get_content_type(): p for p in message.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "ingest: failed" in text and "retry with: crmhub sync" in text
    attached = json.loads(parts["application/json"].get_payload(decode=True))  # type: ignore[arg-type]
    assert attached["run_id"] == body["run_id"]

    # what was sent is kept with the run
    counts = json.loads(project.query("SELECT counts FROM run WHERE kind = 'sync'")[0][0])
    assert counts["notifications"] == [
        f"webhook {base}/hook: sent",
        "email to 1 recipient(s): sent",
    ]


def test_success_notifies_only_when_asked_and_undeliverable_is_reported(
    receiver: tuple[list[dict[str, Any]], str],
) -> None:
    received, base = receiver
    summary = {"run_id": 7, "status": "succeeded", "seconds": 1.0, "steps": []}
    assert notify("p", NotificationsConfig(webhooks=[WebhookConfig(url=base)]), summary) == []
    config = NotificationsConfig(
        on_success=True,
        webhooks=[WebhookConfig(url=f"{base}/broken")],
        email=EmailConfig(
            smtp_host="127.0.0.1",
            smtp_port=_free_port(),
            sender="a@b.org",
            to=["c@d.org"],
            timeout_s=2,
        ),
    )
    results = notify("p", config, summary)
    assert len(received) == 1
    assert (
        results[0]
        == f"webhook {base}/broken: not delivered: webhook {base}/broken answered HTTP 500"
    )
    assert results[1].startswith("email via 127.0.0.1: not delivered")


def test_personal_data_and_secrets_are_masked_in_what_is_sent(
    receiver: tuple[list[dict[str, Any]], str],
) -> None:
    received, base = receiver
    summary = {
        "run_id": 8,
        "status": "failed",
        "seconds": 1.0,
        "steps": [
            {
                "step": "ingest",
                "status": "failed",
                "seconds": 1.0,
                "error": "tap said: bad row jan.berg@example.nl, login s3cr3t-token refused",
            }
        ],
    }
    config = NotificationsConfig(webhooks=[WebhookConfig(url=base)])
    assert notify("p", config, summary, secrets={"s3cr3t-token"}) == [f"webhook {base}: sent"]
    error = received[0]["body"]["steps"][0]["error"]
    assert "jan.berg@example.nl" not in error and "j***@example.nl" in error
    assert "s3cr3t-token" not in error and "***" in error
