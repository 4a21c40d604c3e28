"""The plan's cost and encoding preview of one SMS content: encoding, GSM-7 look-alikes, estimated cost.

A function over one content and the batches it goes out in, so a campaign with several contents (variants)
gets one preview per content. The estimate is `[campaigns] price_per_part` × the SMS parts, in
`[campaigns] currency`; "unknown" when no price is set.
"""

from __future__ import annotations

from collections.abc import Sequence

from smartdialog_sync.gsm_safe import preview_content

from .batches import Batch, render
from .config import CampaignSettings


def cost_text(parts: int, settings: CampaignSettings) -> str:
    """`65.00 EUR (1,000 parts × 0.065 EUR)`, or "unknown" when [campaigns] price_per_part is not set."""
    if settings.price_per_part is None:
        return "unknown (set [campaigns] price_per_part and currency)"
    currency = f" {settings.currency}" if settings.currency else ""
    return (f"{parts * settings.price_per_part:,.2f}{currency} "
            f"({parts:,} part(s) × {settings.price_per_part:g}{currency})")


def content_preview_lines(content: str, batches: Sequence[Batch], settings: CampaignSettings) -> list[str]:
    """The plan's lines for one SMS content: why it is UCS-2 (and what --gsm-safe would save), and its cost."""
    recipients = ((r.personalization, r.parts or 0) for batch in batches for r in batch.recipients)
    preview = preview_content(content, recipients, render)
    lines = preview.lines()
    lines.append(f"  estimated cost: {cost_text(preview.parts, settings)}")
    return lines
