"""Runtime settings changeable by CLI flags and `POST /_emulator/config`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smartdialog_sync.emulator.errors import bad_request
from smartdialog_sync.errors import ConfigurationError
from smartdialog_sync.rate_limit import RateLimit


@dataclass
class EmulatorSettings:
    """Behaviour knobs; see emulator/README.md for each one."""

    rate_limit: RateLimit = RateLimit(100, 60)
    token_expires_in: int = 3600
    dlr_delivered_ratio: float = 0.9
    dlr_failed_ratio: float = 0.1
    dlr_expired_ratio: float = 0.0
    dlr_delay_seconds: float = 0.2
    dlr_seed: int = 0
    duplicate_rate: float = 0.0
    callback_retry_seconds: float = 30.0
    callback_timeout_seconds: float = 5.0
    request_id_ttl_seconds: float = 7 * 24 * 3600

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON (the rate limit as "N/SECONDS")."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["rate_limit"] = str(self.rate_limit)
        return data

    def update(self, data: Any) -> None:
        """Apply a `POST /_emulator/config` body, validating every value before changing anything."""
        if not isinstance(data, dict):
            raise bad_request("config must be a JSON object", "body")
        changes: dict[str, Any] = {}
        for name, value in data.items():
            if name not in self.__dataclass_fields__:
                raise bad_request(f"unknown setting {name!r}", name)
            changes[name] = _checked(name, value)
        ratios = {k: changes.get(k, getattr(self, k)) for k in ("dlr_delivered_ratio", "dlr_failed_ratio", "dlr_expired_ratio")}
        if sum(ratios.values()) <= 0:
            raise bad_request("the dlr ratios must not all be 0", "dlr_delivered_ratio")
        for name, value in changes.items():
            setattr(self, name, value)


def _checked(name: str, value: Any) -> Any:
    if name == "rate_limit":
        try:
            return RateLimit.parse(value)
        except ConfigurationError as exc:
            raise bad_request(str(exc), name) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_request(f"{name} must be a number", name)
    if name in ("token_expires_in", "dlr_seed"):
        if not isinstance(value, int) or (name == "token_expires_in" and value < 1):
            raise bad_request(f"{name} must be a positive integer", name)
        return value
    if name.endswith("_ratio") or name == "duplicate_rate":
        if not 0 <= value <= 1:
            raise bad_request(f"{name} must be between 0 and 1", name)
    elif value < 0:
        raise bad_request(f"{name} must not be negative", name)
    return float(value)
