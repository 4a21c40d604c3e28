"""The [alerts] settings, resolved through dlt's config (env `ALERTS__KEY`, .dlt/config.toml, .dlt/secrets.toml).

`webhook_url` (a Slack-compatible incoming webhook) and `smtp_password` are secrets: they belong in
secrets.toml or the environment, and are never printed. Nothing configured: alerts are off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

from smartdialog_sync.api.config import Secret
from smartdialog_sync.errors import ConfigurationError

DEFAULT_REJECTED_SHARE = 0.10  # a run rejecting more than this share of its rows raises an incident
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_BACKLOG_HOURS = 24.0  # journal rows waiting longer than this for a pull raise an incident (as in status)


@configspec
class AlertsConfiguration(BaseConfiguration):
    """The [alerts] section as dlt resolves it."""

    webhook_url: Optional[TSecretStrValue] = None
    smtp_host: Optional[str] = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: Optional[str] = None
    smtp_password: Optional[TSecretStrValue] = None
    email_from: Optional[str] = None
    email_to: Optional[List[str]] = None
    rejected_share: float = DEFAULT_REJECTED_SHARE
    backlog_hours: float = DEFAULT_BACKLOG_HOURS
    timeout: float = DEFAULT_TIMEOUT_S


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go and when a run needs one; secrets wrapped so no repr or log shows them."""

    webhook_url: Optional[Secret] = None
    smtp_host: Optional[str] = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: Optional[str] = None
    smtp_password: Optional[Secret] = None
    email_from: Optional[str] = None
    email_to: tuple[str, ...] = ()
    rejected_share: float = DEFAULT_REJECTED_SHARE
    backlog_hours: float = DEFAULT_BACKLOG_HOURS
    timeout: float = DEFAULT_TIMEOUT_S

    @property
    def email(self) -> bool:
        """True when alerts are also mailed."""
        return bool(self.smtp_host and self.email_to)

    @property
    def enabled(self) -> bool:
        """True when at least one channel is configured."""
        return self.webhook_url is not None or self.email

    def secrets(self) -> list[str]:
        """The secret values, to mask in any text that might quote them."""
        return [secret.reveal() for secret in (self.webhook_url, self.smtp_password) if secret is not None]

    def mask(self, text: str) -> str:
        """`text` with every secret value replaced by ***."""
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text


def resolve_alert_settings() -> AlertSettings:
    """Resolve [alerts]; ConfigurationError (exit 2) for values out of range."""
    try:
        config = resolve_configuration(AlertsConfiguration(), sections=("alerts",))
    except ConfigurationException as exc:
        raise ConfigurationError(f"cannot read the [alerts] settings: {exc}") from None
    recipients = config.email_to or []
    if isinstance(recipients, str):
        recipients = recipients.split(",")
    settings = AlertSettings(
        webhook_url=Secret(config.webhook_url) if config.webhook_url else None,
        smtp_host=config.smtp_host or None, smtp_port=config.smtp_port, smtp_starttls=config.smtp_starttls,
        smtp_user=config.smtp_user or None, smtp_password=Secret(config.smtp_password) if config.smtp_password else None,
        email_from=config.email_from or config.smtp_user or None,
        email_to=tuple(address.strip() for address in recipients if address.strip()),
        rejected_share=config.rejected_share, backlog_hours=config.backlog_hours, timeout=config.timeout,
    )
    if not 0 <= settings.rejected_share <= 1:
        raise ConfigurationError(f"[alerts] rejected_share must be between 0 and 1, not {settings.rejected_share}")
    if settings.timeout <= 0:
        raise ConfigurationError(f"[alerts] timeout must be above 0 seconds, not {settings.timeout}")
    return settings
