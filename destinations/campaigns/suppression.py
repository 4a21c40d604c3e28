"""Numbers a campaign must not reach: opt-outs (inbound stop keywords) and a user suppression list."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from smartdialog_sync.phones import InvalidPhoneNumber, normalize_phone
from smartdialog_sync.sqlfiles import read_sql

from .errors import CampaignError, CampaignInputError
from .recipients import run_query

REASON_OPTED_OUT = "opted_out"
REASON_SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class Suppression:
    """Numbers to leave out (E.164 → reason) and a line saying where they came from."""

    numbers: dict[str, str]
    sources: list[str]


def _normalized(values: list[object]) -> set[str]:
    numbers = set()
    for value in values:
        try:
            numbers.add(normalize_phone(value))
        except InvalidPhoneNumber:
            continue
    return numbers


def opted_out_numbers(dataset_path: Path, stop_keywords: tuple[str, ...]) -> set[str] | None:
    """Senders whose inbound message is a stop keyword, from the pulled DuckDB dataset file.

    The table `inbound_messages` (columns sender, content) is read from schema `smartdialog`, or from
    whichever schema of the file holds it. Returns None when the file or the table does not exist
    yet. A file that cannot be opened (for example locked by a running pull) is an error: sending
    without opt-outs is not safe.
    """
    if not dataset_path.exists():
        return None
    try:
        with duckdb.connect() as connection:
            connection.execute("ATTACH ? AS pulled (READ_ONLY)", [str(dataset_path)])
            found = connection.execute(read_sql("campaign_opt_outs_schema.sql")).fetchone()
            if found is None:
                return None
            schema = '"' + found[0].replace('"', '""') + '"'
            sql = read_sql("campaign_opt_outs.sql").replace("{schema}", schema)
            rows = connection.execute(sql, {"keywords": list(stop_keywords)}).fetchall()
    except duckdb.Error as exc:
        raise CampaignError(f"cannot read opt-outs from {dataset_path}: {exc}; retry when the pull has finished") from None
    return _normalized([row[0] for row in rows])


def query_suppressed_numbers(source_url: str, query: str, phone_column: str | None = None) -> set[str]:
    """Numbers returned by a user's suppression query (its `phone_column` if it has one, else its first column)."""
    result = run_query(source_url, query, "the suppression query")
    if not result.columns:
        raise CampaignInputError("the suppression query returned no columns")
    lowered = [column.lower() for column in result.columns]
    at = lowered.index(phone_column.lower()) if phone_column and phone_column.lower() in lowered else 0
    return _normalized([row[at] for row in result.rows])


def load_suppression(
    dataset_path: Path,
    stop_keywords: tuple[str, ...],
    source_url: str,
    suppression_query: str | None = None,
    phone_column: str | None = None,
) -> Suppression:
    """Opt-outs from the pulled dataset plus the numbers of `suppression_query` (run on `source_url`)."""
    numbers: dict[str, str] = {}
    sources = []
    opted_out = opted_out_numbers(dataset_path, stop_keywords)
    if opted_out is None:
        sources.append(f"no opt-outs read: {dataset_path} holds no inbound_messages yet")
    else:
        numbers.update(dict.fromkeys(opted_out, REASON_OPTED_OUT))
        sources.append(f"{len(opted_out)} opted-out number(s) from {dataset_path} ({', '.join(stop_keywords)})")
    if suppression_query:
        suppressed = query_suppressed_numbers(source_url, suppression_query, phone_column)
        for number in suppressed:
            numbers.setdefault(number, REASON_SUPPRESSED)
        sources.append(f"{len(suppressed)} number(s) from the suppression query")
    return Suppression(numbers, sources)
