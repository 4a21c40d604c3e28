"""Validation of the mapped CRM rows, before any call: phones to E.164, enums, years, country codes, duplicates.

Phones are normalised in Python with smartdialog_sync.phones (≈17 µs each), but only the raw
(phone, region) pairs the state's `phone_cache` has not seen, so a nightly run over an unchanged CRM
normalises nothing. Every other check runs vectorised in DuckDB (sql/contacts_validate.sql), and only
for rows whose raw content changed since their contact was last applied (the raw-hash fast path).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import phonenumbers
import pyarrow as pa

from smartdialog_sync.phones import InvalidPhoneNumber, normalize_phone
from smartdialog_sync.sqlfiles import read_sql


def check_region(region: str) -> str:
    """The upper-cased region code, or ValueError when phonenumbers does not know it."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r} (use ISO codes such as FI, SE)")
    return code


def normalise_new_phones(con: duckdb.DuckDBPyConnection) -> int:
    """Normalise the phones of the rows to validate that phone_cache lacks, adding them to it; return how many."""
    pairs = con.execute(read_sql("contacts_new_phones.sql")).fetchall()
    if not pairs:
        return 0
    e164s: list[str | None] = []
    errors: list[str | None] = []
    for raw, region in pairs:
        try:
            e164s.append(normalize_phone(raw, region))
            errors.append(None)
        except InvalidPhoneNumber as exc:
            e164s.append(None)
            errors.append(str(exc))
    new_phones = pa.table(
        {
            "phone_raw": [raw for raw, _ in pairs],
            "region": [region for _, region in pairs],
            "e164": pa.array(e164s, pa.string()),
            "error": pa.array(errors, pa.string()),
        }
    )
    con.register("new_phones", new_phones)
    try:
        con.execute("INSERT INTO phone_cache SELECT phone_raw, region, e164, error FROM new_phones")
    finally:
        con.unregister("new_phones")
    return len(pairs)


def stage_rows(con: duckdb.DuckDBPyConnection, customer: str, group_service: str, default_region: str) -> None:
    """Scan the crm_source view once into crm_rows: trimmed, raw-hashed, matched with what was last applied."""
    con.execute("SET VARIABLE contacts_default_region = ?", [default_region])
    con.execute(read_sql("contacts_clean.sql"))
    con.execute(read_sql("contacts_rows.sql"), {"customer": customer, "group_service": group_service})


def build_candidates(con: duckdb.DuckDBPyConnection, customer: str, group_service: str) -> None:
    """Validate crm_rows into contact_candidates (phone, payload, hash and reject reason per row)."""
    con.execute(
        read_sql("contacts_validate.sql"),
        {"current_year": dt.date.today().year, "customer": customer, "group_service": group_service},
    )


def validate_candidates(con: duckdb.DuckDBPyConnection, customer: str, group_service: str, default_region: str) -> int:
    """Build contact_candidates from the crm_source view; return how many phones had to be normalised."""
    stage_rows(con, customer, group_service, default_region)
    normalised = normalise_new_phones(con)
    build_candidates(con, customer, group_service)
    return normalised
