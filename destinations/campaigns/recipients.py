"""Recipients of a campaign: the query's rows as E.164 numbers, deduplicated and suppression-filtered.

Rows whose number is invalid, repeats an earlier row's number, or is opted out / suppressed are left
out and kept as `Rejected` rows with a reason, in query order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from smartdialog_sync.crm_query import read_crm_rows
from smartdialog_sync.phones import InvalidPhoneNumber, normalize_phone

from .errors import CampaignInputError

REASON_INVALID = "invalid_phone"
REASON_DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Recipient:
    """A recipient: its E.164 address and the values of the columns the campaign uses."""

    address: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class Rejected:
    """A row left out of the campaign, and why."""

    row_number: int
    raw_phone: str | None
    address: str | None
    reason: str
    detail: str


@dataclass
class RecipientSet:
    """The recipients of a campaign and the rows left out."""

    recipients: list[Recipient] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def rejected_by_reason(self) -> Counter[str]:
        """How many rows were left out for each reason."""
        return Counter(row.reason for row in self.rejected)


@dataclass(frozen=True)
class QueryResult:
    """The columns and rows a query returned."""

    columns: list[str]
    rows: list[Sequence[Any]]


def run_query(url: str, query: str, what: str = "the query") -> QueryResult:
    """Run the user's `query` read-only on the CRM at SQLAlchemy `url` (see smartdialog_sync.crm_query)."""
    return QueryResult(*read_crm_rows(url, query, what))


def column_index(columns: list[str], name: str, role: str) -> int:
    """The position of column `name` (exact, else case-insensitive); a clear error when missing."""
    if name in columns:
        return columns.index(name)
    lowered = [column.lower() for column in columns]
    if name.lower() in lowered:
        return lowered.index(name.lower())
    raise CampaignInputError(f"the query has no {role} column {name!r}; its columns are: {', '.join(columns)}")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def select_recipients(
    result: QueryResult,
    phone_column: str,
    value_columns: Iterable[str] = (),
    region_column: str | None = None,
    suppressed: Mapping[str, str] | None = None,
) -> RecipientSet:
    """Normalise, deduplicate and filter the query rows into recipients.

    `suppressed` maps E.164 numbers to the reason they are left out (for example "opted_out").
    Only `value_columns` are kept per recipient, as strings (NULL becomes "").
    """
    if not result.rows:
        raise CampaignInputError("the query returned no rows: nobody to send to")
    phone_at = column_index(result.columns, phone_column, "phone")
    region_at = column_index(result.columns, region_column, "region") if region_column else None
    value_at = {name: column_index(result.columns, name, "personalisation") for name in value_columns}
    suppressed = suppressed or {}
    selected = RecipientSet()
    seen: set[str] = set()
    for row_number, row in enumerate(result.rows, start=1):
        raw = row[phone_at]
        region = _text(row[region_at]) or None if region_at is not None else None
        try:
            address = normalize_phone(raw, region)
        except InvalidPhoneNumber as exc:
            selected.rejected.append(Rejected(row_number, _text(raw), None, REASON_INVALID, str(exc)))
            continue
        if address in seen:
            selected.rejected.append(Rejected(row_number, _text(raw), address, REASON_DUPLICATE, "number repeats an earlier row"))
            continue
        seen.add(address)
        if address in suppressed:
            reason = suppressed[address]
            selected.rejected.append(Rejected(row_number, _text(raw), address, reason, f"number is {reason.replace('_', ' ')}"))
            continue
        values = {name: _text(row[at]) for name, at in value_at.items()}
        selected.recipients.append(Recipient(address, values))
    return selected
