"""How the report shows values and column names, the same on the console and in HTML."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

EMPTY = "—"


def column_label(column: str) -> str:
    """`delivered_pct` → `delivered %`, `campaign_id` → `campaign` (shown by its name), `last_error_code` → `last error code`."""
    if column == "campaign_id":
        return "campaign"
    return column.removesuffix("_pct").replace("_", " ") + (" %" if column.endswith("_pct") else "")


def is_numeric_column(values: list[Any]) -> bool:
    """True when every non-empty value is a number (such columns are right-aligned)."""
    present = [value for value in values if value is not None]
    return bool(present) and all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in present)


def cell_text(value: Any) -> str:
    """A value as text: empty as a dash, times in UTC to the minute, decimals with one digit, yes/no."""
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
