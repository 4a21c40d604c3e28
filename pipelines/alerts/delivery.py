"""Sending one alert: a Slack-compatible JSON POST to the webhook, and an email through SMTP.

Each raises AlertNotDelivered with a message that names no secret (the webhook URL shows only its host).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import urlsplit

from .incidents import Incident
from .settings import AlertSettings

TITLE = "sdsync alert"


class AlertNotDelivered(Exception):
    """A channel did not take an alert; the message is safe to log."""


def masked_url(url: str) -> str:
    """A webhook URL with everything but its scheme and host replaced by *** (the path holds its secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/***"


def _safe(text: str, settings: AlertSettings) -> str:
    return " ".join(settings.mask(text).split())


def alert_text(incident: Incident) -> str:
    """The alert's one line of text."""
    return " ".join(f"{TITLE} [{incident.kind}] {incident.message}".split())


def slack_escaped(text: str) -> str:
    """Text as Slack shows it literally: its control characters &, < and > escaped (CRM or server text is never
    read as a link, a mention or markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post_webhook(incident: Incident, settings: AlertSettings) -> None:
    """POST `{"text": ...}` (Slack's incoming-webhook body) to the webhook; any answer but 2xx fails."""
    import httpx

    assert settings.webhook_url is not None
    url = settings.webhook_url.reveal()
    where = masked_url(url)
    try:
        response = httpx.post(url, json={"text": slack_escaped(alert_text(incident))}, timeout=settings.timeout)
    except httpx.HTTPError as exc:
        raise AlertNotDelivered(f"webhook {where}: {type(exc).__name__}: {_safe(str(exc), settings)}") from None
    if not response.is_success:
        raise AlertNotDelivered(f"webhook {where} answered HTTP {response.status_code}")


def send_email(incident: Incident, settings: AlertSettings) -> None:
    """Mail the alert to `email_to` through the SMTP server (STARTTLS unless turned off, login when a user is set)."""
    message = EmailMessage()
    message["Subject"] = " ".join(f"{TITLE}: {incident.kind} {incident.subject}".split())  # one header line
    message["From"] = settings.email_from or f"sdsync@{settings.smtp_host}"
    message["To"] = ", ".join(settings.email_to)
    message.set_content(incident.message + "\n")
    try:
        with smtplib.SMTP(settings.smtp_host or "", settings.smtp_port, timeout=settings.timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                password = settings.smtp_password.reveal() if settings.smtp_password else ""
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise AlertNotDelivered(
            f"email via {settings.smtp_host}:{settings.smtp_port}: {type(exc).__name__}: {_safe(str(exc), settings)}"
        ) from None
