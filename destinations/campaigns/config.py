"""The [campaigns] settings, resolved through dlt's config (env vars `CAMPAIGNS__KEY`, .dlt/config.toml).

`CampaignSettings` is the one list of the settings' names, types and defaults; dlt's spec
`CampaignsConfiguration` is derived from its fields (the stop keywords as a list, the opt-out dataset as a
path text).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import BaseConfiguration

from smartdialog_sync.configspecs import derived_configspec
from smartdialog_sync.state.files import DATASET_FILE

from .errors import CampaignInputError

DEFAULT_STOP_KEYWORDS = ("STOP", "STOPP", "SLUTA", "LOPETA")
MAX_RECIPIENTS_PER_CALL = 1000  # the service's documented maximum of recipients in one send
DEFAULT_MAX_PARTS = 10


@dataclass(frozen=True)
class CampaignSettings:
    """Resolved campaign settings."""

    stop_keywords: tuple[str, ...] = DEFAULT_STOP_KEYWORDS  # opt-out replies, upper case
    batch_size: int = MAX_RECIPIENTS_PER_CALL
    max_parts: int = DEFAULT_MAX_PARTS
    opt_out_dataset: Path | None = None  # None: the pulled dataset in the data dir
    quiet_hours: str | None = None  # HH:MM-HH:MM in each recipient's local time; None: off
    price_per_part: float | None = None  # what one SMS part costs (for the plan's estimate); None: unknown
    currency: str | None = None  # the price's currency, e.g. EUR
    frequency_cap: str | None = None  # N/PERIOD marketing messages per recipient; None: off

    def opt_out_path(self, data_dir: Path) -> Path:
        """The pulled DuckDB dataset opt-outs are read from: [campaigns] opt_out_dataset, else in `data_dir`."""
        return self.opt_out_dataset or data_dir / DATASET_FILE


def _as_config(setting: dataclasses.Field[Any], hint: Any) -> tuple[Any, Any]:
    """The type and default of a CampaignSettings field as config holds it."""
    if setting.name == "stop_keywords":
        return list[str] | None, None  # None: DEFAULT_STOP_KEYWORDS
    if hint == Path | None:
        return str | None, None
    return hint, setting.default


CampaignsConfiguration = derived_configspec(
    CampaignSettings, "CampaignsConfiguration", _as_config, BaseConfiguration, __doc__="The [campaigns] section as dlt resolves it."
)


def resolve_campaign_settings(batch_size: int | None = None, max_parts: int | None = None) -> CampaignSettings:
    """Resolve [campaigns] and apply the non-None overrides; reject out-of-range values."""
    try:
        config = resolve_configuration(CampaignsConfiguration(), sections=("campaigns",))
    except ConfigurationException as exc:
        raise CampaignInputError(f"cannot read the [campaigns] settings: {exc}") from None
    keywords = config.stop_keywords or list(DEFAULT_STOP_KEYWORDS)
    if isinstance(keywords, str):
        keywords = [word for word in keywords.split(",")]
    resolved = CampaignSettings(
        stop_keywords=tuple(word.strip().upper() for word in keywords if word.strip()),
        batch_size=batch_size or config.batch_size,
        max_parts=max_parts or config.max_parts,
        opt_out_dataset=Path(config.opt_out_dataset) if config.opt_out_dataset else None,
        quiet_hours=config.quiet_hours or None,
        price_per_part=config.price_per_part,
        currency=(config.currency or "").strip() or None,
        frequency_cap=config.frequency_cap or None,
    )
    if not 1 <= resolved.batch_size <= MAX_RECIPIENTS_PER_CALL:
        raise CampaignInputError(f"batch size must be between 1 and {MAX_RECIPIENTS_PER_CALL}, not {resolved.batch_size}")
    if resolved.price_per_part is not None and not 0 <= resolved.price_per_part < float("inf"):
        raise CampaignInputError(f"[campaigns] price_per_part must be a number of at least 0, not {resolved.price_per_part}")
    if resolved.max_parts < 1:
        raise CampaignInputError(f"max parts must be at least 1, not {resolved.max_parts}")
    return resolved
