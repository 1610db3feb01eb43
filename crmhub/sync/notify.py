"""Tell people about a sync run: a webhook POST and/or an email with the run summary.

A notification that cannot be delivered never changes the run's outcome; it is logged and
reported in the summary (``notifications`` list) so the run history shows it.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.error
import urllib.request
from collections.abc import Iterable
from email.message import EmailMessage
from typing import Any

from crmhub.config.model import EmailConfig, NotificationsConfig, WebhookConfig
from crmhub.logs import mask_personal_data

log = logging.getLogger("crmhub.sync.notify")


def should_notify(config: NotificationsConfig, status: str) -> bool:
    """Failure always; partial when ``on_partial``; success when ``on_success``."""
    if status == "failed":
        return True
    if status == "partial":
        return config.on_partial
    return config.on_success


def subject_line(project_name: str, summary: dict[str, Any]) -> str:
    """``[crmhub my-project] sync 42 failed at match``."""
    failed = f" at {summary['failed_step']}" if summary.get("failed_step") else ""
    return f"[crmhub {project_name}] sync {summary.get('run_id')} {summary.get('status')}{failed}"


def summary_text(summary: dict[str, Any]) -> str:
    """A plain-text run summary for emails; personal data masked."""
    lines = [
        f"run {summary.get('run_id')}: {summary.get('status')} "
        f"in {summary.get('seconds', 0):.1f} s",
    ]
    for step in summary.get("steps", []):
        line = f"- {step['step']}: {step['status']} ({step.get('seconds', 0):.1f} s)"
        if step.get("error"):
            line += f": {step['error'].splitlines()[0]}"
        lines.append(line)
    if summary.get("retry"):
        lines.append(f"retry with: {summary['retry']}")
    if summary.get("log_file"):
        lines.append(f"log: {summary['log_file']}")
    return mask_personal_data("\n".join(lines))


def send_webhook(hook: WebhookConfig, payload: dict[str, Any]) -> None:
    """POST the summary as JSON; raise OSError on a network error or a non-2xx answer."""
    body = json.dumps(payload, default=str).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL comes from the project file
        hook.url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "crmhub", **hook.headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=hook.timeout_s) as answer:  # noqa: S310
            if not 200 <= answer.status < 300:
                raise OSError(f"webhook {hook.url} answered HTTP {answer.status}")
    except urllib.error.HTTPError as exc:
        raise OSError(f"webhook {hook.url} answered HTTP {exc.code}") from None


def send_email(mail: EmailConfig, subject: str, text: str, payload: dict[str, Any]) -> None:
    """Send the summary by SMTP (text body, JSON summary attached); raise OSError on failure."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.to)
    message.set_content(text)
    message.add_attachment(
        json.dumps(payload, indent=2, default=str).encode(),
        maintype="application",
        subtype="json",
        filename=f"sync-{payload.get('run_id')}.json",
    )
    try:
        with smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=mail.timeout_s) as smtp:
            if mail.starttls:
                smtp.starttls()
            if mail.username:
                smtp.login(mail.username, mail.password or "")
            smtp.send_message(message)
    except smtplib.SMTPException as exc:
        raise OSError(f"email via {mail.smtp_host}:{mail.smtp_port} failed: {exc}") from None


def notify(
    project_name: str,
    config: NotificationsConfig,
    summary: dict[str, Any],
    secrets: Iterable[str] = (),
) -> list[str]:
    """Send what the config asks for this run; return one line per delivery (ok or error).

    Error texts in the summary may quote a tap's output: personal data and the project's
    secrets are masked in everything sent, as in the logs.
    """
    if not should_notify(config, str(summary.get("status"))):
        return []
    masked = mask_personal_data(json.dumps(summary, default=str), list(secrets))
    payload = {"project": project_name, **json.loads(masked)}
    results: list[str] = []
    for hook in config.webhooks:
        try:
            send_webhook(hook, payload)
            results.append(f"webhook {hook.url}: sent")
        except OSError as exc:
            log.warning("notification not delivered: %s", exc)
            results.append(f"webhook {hook.url}: not delivered: {exc}")
    if config.email is not None:
        mail = config.email
        try:
            send_email(mail, subject_line(project_name, summary), summary_text(summary), payload)
            results.append(f"email to {len(mail.to)} recipient(s): sent")
        except OSError as exc:
            log.warning("notification not delivered: %s", exc)
            results.append(f"email via {mail.smtp_host}: not delivered: {exc}")
    return results
