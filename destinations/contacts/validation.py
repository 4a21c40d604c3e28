"""Validation of the mapped CRM rows, before any call: phones to E.164, enums, years, country codes, duplicates.

`validate_candidates` is the stage: it stages the CRM rows in DuckDB through their mapping and validates
them into contact_candidates, which the planner diffs against the state.

Only a row without a usable phone (empty, invalid, duplicated) is rejected. The optional fields are
normalised where a maintained table says how: country codes and names to ISO 3166 alpha-3 (pycountry,
names also in Finnish, Swedish, Norwegian, Danish and German), common gender spellings to Male / Female /
Other, birth years from dates or numeric strings. A field that still cannot be sent is left out of that
contact's payload and reported as a field warning (row key, field, value, reason); the contact is synced
with its other fields.

Phones are normalised in Python with smartdialog_sync.phones (≈17 µs each), but only the raw
(phone, region) pairs the state's `phone_cache` has not seen, so a nightly run over an unchanged CRM
normalises nothing (with the state in PostgreSQL, only the cache entries of the changed rows are
loaded). Every other check runs vectorised in DuckDB (sql/contacts_validate.sql), and only
for rows whose raw content changed since their contact was last applied (the raw-hash fast path).
"""

from __future__ import annotations

import datetime as dt
import gettext
from functools import lru_cache

import duckdb
import numpy as np
import phonenumbers
import pyarrow as pa

from smartdialog_sync.phones import InvalidPhoneNumber, normalize_phone
from smartdialog_sync.sqlfiles import read_sql

from .mapping import ROW_NO_COLUMN, ContactMapping, source_view_sql
from .state import ContactStateStore


def check_region(region: str) -> str:
    """The upper-cased region code, or ValueError when phonenumbers does not know it."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r} (use ISO codes such as FI, SE)")
    return code


# Spellings of the definition's gender values (compared case-insensitively, after trimming). A lone "N" is
# left out on purpose: it means "nainen" (female) in Finnish CRMs and "not stated" or "neutral" in others.
GENDER_SPELLINGS = {
    "Male": ("m", "male", "man", "mies", "mann", "männlich", "mand", "herr", "mr", "homme", "masculin", "hombre",
             "masculino"),
    "Female": ("f", "female", "woman", "w", "nainen", "kvinna", "kvinne", "kvinde", "frau", "weiblich", "femme",
               "féminin", "mujer", "femenino"),
    "Other": ("other", "o", "muu", "annan", "annat", "anden", "andet", "andere", "divers", "d", "non-binary",
              "nonbinary", "non binary"),
}
COUNTRY_NAME_LANGUAGES = ("fi", "sv", "nb", "da", "de")


@lru_cache(maxsize=1)
def country_spellings() -> dict[str, str]:
    """Upper-cased ISO 3166 alpha-2, alpha-3 and country names (English and COUNTRY_NAME_LANGUAGES) → alpha-3.

    A name that two countries share in some language is left out (it cannot be settled).
    """
    import pycountry

    translations = [gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)
                    for language in COUNTRY_NAME_LANGUAGES]
    found: dict[str, set[str]] = {}
    for country in pycountry.countries:
        names = {getattr(country, attribute, None) for attribute in ("name", "official_name", "common_name")} - {None}
        spellings = {country.alpha_2, country.alpha_3, *names}
        spellings |= {translation.gettext(name) for translation in translations for name in names}
        for spelling in spellings:
            found.setdefault(spelling.strip().upper(), set()).add(country.alpha_3)
    return {spelling: codes.pop() for spelling, codes in found.items() if len(codes) == 1}


def register_lookups(con: duckdb.DuckDBPyConnection) -> None:
    """Create the temp tables sql/contacts_validate.sql normalises with: gender_spellings and country_spellings."""
    genders = [(spelling, gender) for gender, spellings in GENDER_SPELLINGS.items() for spelling in spellings]
    countries = country_spellings()
    con.register("gender_rows", pa.table({"spelling": [g[0] for g in genders], "gender": [g[1] for g in genders]}))
    con.register("country_rows", pa.table({"spelling": list(countries), "alpha3": list(countries.values())}))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE gender_spellings AS SELECT * FROM gender_rows")
        con.execute("CREATE OR REPLACE TEMP TABLE country_spellings AS SELECT * FROM country_rows")
    finally:
        con.unregister("gender_rows")
        con.unregister("country_rows")


def normalise_new_phones(store: ContactStateStore) -> int:
    """Look up the phones of the rows to validate in the state's phone cache (into fresh_phones), normalise
    the ones it lacks and add them to both; return how many were normalised."""
    con = store.con
    store.load_phones()
    con.execute(read_sql("contacts_fresh_phones.sql"))
    pairs = con.execute("SELECT phone_raw, region FROM fresh_phones WHERE NOT cached").fetchall()
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
            "phone_raw": pa.array([raw for raw, _ in pairs], pa.string()),
            "region": pa.array([region for _, region in pairs], pa.string()),
            "e164": pa.array(e164s, pa.string()),
            "error": pa.array(errors, pa.string()),
        }
    )
    store.add_phones(new_phones)
    con.register("new_phones", new_phones)
    try:
        con.execute("DELETE FROM fresh_phones WHERE NOT cached")
        con.execute("INSERT INTO fresh_phones SELECT phone_raw, region, e164, error, true FROM new_phones")
    finally:
        con.unregister("new_phones")
    return len(pairs)


def stage_crm(store: ContactStateStore, crm: pa.Table, mapping: ContactMapping) -> None:
    """Expose the CRM rows, numbered, to DuckDB as `crm_raw` and their mapped projection as the `crm_source` view."""
    numbered = crm.append_column(ROW_NO_COLUMN, pa.array(np.arange(1, crm.num_rows + 1, dtype=np.int64)))
    store.con.register("crm_raw", numbered)
    store.con.execute(source_view_sql(mapping))


def stage_rows(store: ContactStateStore, customer: str, group_service: str, default_region: str) -> None:
    """Scan the crm_source view once into crm_rows: raw-hashed, matched with what was last applied; the rows
    to validate are then read trimmed through the view crm_fresh."""
    con = store.con
    con.execute("SET VARIABLE contacts_default_region = ?", [default_region])
    con.execute(read_sql("contacts_clean.sql"))
    store.state_ready()
    con.execute(read_sql("contacts_rows.sql"), {"customer": customer, "group_service": group_service})
    con.execute(read_sql("contacts_fresh.sql"))


def build_candidates(store: ContactStateStore, customer: str, group_service: str) -> None:
    """Validate crm_rows into contact_candidates (phone, payload, hash, reject reason, field warnings and
    normalised fields per row); the phones come from fresh_phones (normalise_new_phones runs first)."""
    store.load_contacts()
    con = store.con
    register_lookups(con)
    con.execute(read_sql("contacts_unmatched.sql"), {"customer": customer, "group_service": group_service})
    con.execute(
        read_sql("contacts_validate.sql"),
        {"current_year": dt.date.today().year, "customer": customer, "group_service": group_service},
    )


def validate_candidates(store: ContactStateStore, crm: pa.Table, mapping: ContactMapping, customer: str,
                        group_service: str, default_region: str) -> int:
    """Load the group's state, stage the CRM rows through `mapping` and validate them into contact_candidates;
    return how many phones had to be normalised."""
    store.load_group(customer, group_service)
    stage_crm(store, crm, mapping)
    stage_rows(store, customer, group_service, default_region)
    normalised = normalise_new_phones(store)
    build_candidates(store, customer, group_service)
    return normalised
