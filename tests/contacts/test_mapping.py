"""Mapping CRM columns onto contact fields."""

import pytest

from smartdialog_sync.destinations.contacts.mapping import MappingError, parse_map_options, resolve_mapping


def test_names_match_case_insensitively_and_in_snake_case():
    mapping = resolve_mapping(["ID", "Phone", "first_name", "LASTNAME", "Birth_Year", "country_code", "Region", "tier"])
    assert mapping.fields == {
        "phone": "Phone", "firstName": "first_name", "lastName": "LASTNAME", "birthYear": "Birth_Year",
        "countryCode": "country_code",
    }
    assert mapping.region_column == "Region"
    assert mapping.key_column == "Phone"
    assert mapping.custom_properties == ()


def test_explicit_mapping_wins_and_custom_properties_are_opt_in():
    mapping = resolve_mapping(
        ["id", "mobile", "phone", "fname", "tier"],
        explicit=parse_map_options(["mobile=phone", "fname=first_name"]),
        custom_properties=["tier"],
        key="id",
    )
    assert mapping.fields["phone"] == "mobile"
    assert mapping.fields["firstName"] == "fname"
    assert mapping.custom_properties == ("tier",)
    assert mapping.key_column == "id"


@pytest.mark.parametrize(
    "columns, kwargs, message",
    [
        (["id", "name"], {}, "no CRM column maps to phone"),
        (["phone"], {"explicit": {"mobile": "phone"}}, "no column 'mobile'"),
        (["phone", "x"], {"explicit": {"x": "shoe_size"}}, "unknown contact field"),
        (["phone"], {"custom_properties": ["tier"]}, "no column 'tier'"),
        (["phone"], {"key": "id"}, "no column 'id'"),
        (["a", "b"], {"explicit": {"a": "phone", "b": "phone"}}, "two columns map to phone"),
    ],
)
def test_bad_mappings_are_refused(columns, kwargs, message):
    with pytest.raises(MappingError, match=message):
        resolve_mapping(columns, **kwargs)


def test_map_options_need_column_and_field():
    with pytest.raises(MappingError, match="CRM_COLUMN=FIELD"):
        parse_map_options(["mobile"])
