"""Map CRM columns onto the contact fields of the SmartDialog definition.

Columns match a field by name, case-insensitively and with snake_case accepted (first_name → firstName),
or through an explicit mapping (`[contacts.mapping]` in .dlt/config.toml, `--map crm_col=field`).
Other columns become customContactProperties only when listed (`--custom-property COL`); the rest map to
nothing and the plan lists them, with a `--map` hint naming the field a column most likely means.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass, field

CONTACT_FIELDS = (
    "phone",
    "email",
    "firstName",
    "lastName",
    "gender",
    "birthYear",
    "streetAddress",
    "zipCode",
    "city",
    "countryCode",
    "active",
)
REGION_COLUMNS = ("region", "phone_region")
# The row number the planner adds to the CRM rows (cheaper than a window function over a million rows).
ROW_NO_COLUMN = "__sdsync_row_no"

# The canonical column each contact field gets in the `crm_source` view that sql/contacts_validate.sql reads.
_SOURCE_COLUMN = {
    "phone": "phone_raw",
    "email": "email_raw",
    "firstName": "first_name_raw",
    "lastName": "last_name_raw",
    "gender": "gender_raw",
    "birthYear": "birth_year_raw",
    "streetAddress": "street_address_raw",
    "zipCode": "zip_code_raw",
    "city": "city_raw",
    "countryCode": "country_code_raw",
    "active": "active_raw",
}


# Column names (folded: lower case, letters and digits only) that obviously mean a contact field without
# spelling it; a name cut short or misspelt is matched by prefix or by difflib.
_SYNONYMS = {
    "mobile": "phone", "mobilephone": "phone", "msisdn": "phone", "gsm": "phone", "cell": "phone",
    "phonenumber": "phone", "telephone": "phone", "tel": "phone",
    "mail": "email", "emailaddress": "email",
    "givenname": "firstName", "forename": "firstName", "fname": "firstName",
    "surname": "lastName", "familyname": "lastName", "lname": "lastName",
    "sex": "gender",
    "birthdate": "birthYear", "dateofbirth": "birthYear", "dob": "birthYear", "born": "birthYear",
    "address": "streetAddress", "street": "streetAddress",
    "postcode": "zipCode", "postalcode": "zipCode", "postnumber": "zipCode",
    "town": "city",
    "country": "countryCode", "nation": "countryCode",
}


class MappingError(ValueError):
    """The CRM columns cannot be mapped as asked (a bad usage or configuration)."""


def _folded(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_FIELD_BY_FOLDED = {_folded(name): name for name in CONTACT_FIELDS}


def field_name(name: str) -> str:
    """The contact field `name` designates (`first_name`, `FirstName` → `firstName`)."""
    try:
        return _FIELD_BY_FOLDED[_folded(name)]
    except KeyError:
        raise MappingError(f"unknown contact field {name!r}; fields are {', '.join(CONTACT_FIELDS)}") from None


def parse_map_options(options: list[str]) -> dict[str, str]:
    """Parse `--map crm_col=field` options into {crm column: contact field}."""
    mapping: dict[str, str] = {}
    for option in options:
        column, sep, target = option.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise MappingError(f"--map takes CRM_COLUMN=FIELD, not {option!r}")
        mapping[column.strip()] = target.strip()
    return mapping


@dataclass(frozen=True)
class ContactMapping:
    """Which CRM column feeds each contact field, the region and key columns, and custom properties."""

    fields: dict[str, str]
    key_column: str
    region_column: str | None = None
    custom_properties: tuple[str, ...] = field(default_factory=tuple)
    unmapped: tuple[str, ...] = field(default_factory=tuple)

    def unmapped_hints(self) -> dict[str, str]:
        """{column: what to do with it} for the CRM columns that map to nothing (not the key column)."""
        return {column: _hint(column, set(self.fields)) for column in self.unmapped}

    def describe(self) -> str:
        """One line per mapped field, for the plan report."""
        lines = [f"{column} → {name}" for name, column in self.fields.items()]
        if self.region_column:
            lines.append(f"{self.region_column} → phone region")
        lines.extend(f"{column} → customContactProperties" for column in self.custom_properties)
        return "; ".join(lines)


def _find_column(columns: list[str], wanted: str) -> str:
    by_lower = {column.lower(): column for column in columns}
    try:
        return by_lower[wanted.lower()]
    except KeyError:
        raise MappingError(f"the CRM result has no column {wanted!r}; it has {', '.join(columns)}") from None


def resolve_mapping(
    columns: list[str],
    explicit: dict[str, str] | None = None,
    custom_properties: list[str] | None = None,
    key: str | None = None,
) -> ContactMapping:
    """Resolve the mapping of the CRM result `columns`; explicit entries ({column: field}) win over names."""
    if not columns:
        raise MappingError("the CRM result has no columns")
    fields: dict[str, str] = {}
    for column, target in (explicit or {}).items():
        name = field_name(target)
        if name in fields:
            raise MappingError(f"two columns map to {name}: {fields[name]!r} and {column!r}")
        fields[name] = _find_column(columns, column)
    claimed = set(fields.values())
    customs = tuple(_find_column(columns, column) for column in custom_properties or [])
    for column in columns:
        name = _FIELD_BY_FOLDED.get(_folded(column))
        if name and name not in fields and column not in claimed and column not in customs:
            fields[name] = column
    if "phone" not in fields:
        raise MappingError("no CRM column maps to phone; name one `phone` or use --map COLUMN=phone")
    region = next((column for column in columns if column.lower() in REGION_COLUMNS), None)
    key_column = _find_column(columns, key) if key else fields["phone"]
    ordered = {name: fields[name] for name in CONTACT_FIELDS if name in fields}
    used = {*fields.values(), *customs, key_column, region}
    return ContactMapping(ordered, key_column, region, customs, tuple(c for c in columns if c not in used))


def likely_field(column: str, taken: Collection[str] = ()) -> str | None:
    """The contact field a column name most likely means (`country` → countryCode), unless it is `taken`."""
    folded = _folded(column)
    free = {key: name for key, name in _FIELD_BY_FOLDED.items() if name not in taken}
    if _SYNONYMS.get(folded) in free.values():
        return _SYNONYMS[folded]
    if len(folded) >= 3:  # a name cut short: country, zip, first
        prefixed = [name for key, name in free.items() if key.startswith(folded)]
        if len(prefixed) == 1:
            return prefixed[0]
    close = difflib.get_close_matches(folded, list(free), n=1, cutoff=0.8)  # a typo: emial, gendr
    return free[close[0]] if close else None


def _hint(column: str, taken: Collection[str]) -> str:
    """What to do with a column that maps to nothing."""
    name = likely_field(column, taken)
    target = f"--map {column}={name}" if name else f"--map {column}=FIELD"
    return f"maps to nothing: {target}, or --custom-property {column}"


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _as_text(column: str | None) -> str:
    return f"CAST({_quoted(column)} AS VARCHAR)" if column else "CAST(NULL AS VARCHAR)"


def source_view_sql(mapping: ContactMapping, raw_table: str = "crm_raw") -> str:
    """SQL creating the `crm_source` view: the raw CRM rows renamed to the canonical `*_raw` columns.

    This projection is the only generated SQL; sql/contacts_validate.sql works on its fixed column names.
    """
    select = [
        f"{_quoted(ROW_NO_COLUMN)} AS row_no",
        f"{_as_text(mapping.key_column)} AS source_key",
        f"{_as_text(mapping.region_column)} AS region_raw",
    ]
    select += [f"{_as_text(mapping.fields.get(name))} AS {column}" for name, column in _SOURCE_COLUMN.items()]
    if mapping.custom_properties:
        pairs = ", ".join(
            "{'name': " + _string_literal(column) + ", 'value': " + _as_text(column) + "}"
            for column in mapping.custom_properties
        )
        select.append(f"[{pairs}] AS custom_raw")
    else:
        select.append("CAST(NULL AS STRUCT(name VARCHAR, value VARCHAR)[]) AS custom_raw")
    return f"CREATE OR REPLACE TEMP VIEW crm_source AS SELECT {', '.join(select)} FROM {_quoted(raw_table)}"


def _string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
