"""Group contacts: E.164 keying with phoneNumberRegions, 409 on existing, 404 on missing, booleans."""

from __future__ import annotations

import uuid


BOOK = "/groupcontact/demo-customer/crm-group"


def test_create_returns_uuid_and_keys_by_e164(api, emulator) -> None:
    response = api.post(BOOK, json={"phone": "040 123 4567", "firstName": "Aino", "gender": "Female"})
    assert response.status_code == 200, response.text
    contact_id = response.json()
    assert uuid.UUID(contact_id)
    [stored] = emulator.contacts("demo-customer", "crm-group")
    assert stored["phone"] == "+358401234567"
    assert stored["id"] == contact_id
    got = api.get(f"{BOOK}/+358401234567")
    assert got.status_code == 200
    assert got.json()["firstName"] == "Aino"
    assert got.json()["phone"] == "+358401234567"
    assert api.get(f"{BOOK}/0401234567").json()["phone"] == "+358401234567"


def test_regions_change_the_key(api, emulator) -> None:
    api.post(BOOK, json={"phone": "070 123 45 67", "phoneNumberRegions": ["SE"]})
    assert emulator.contacts()[0]["phone"] == "+46701234567"
    assert api.get(f"{BOOK}/0701234567", params={"Region": "SE"}).status_code == 200
    assert api.get(f"{BOOK}/0701234567").status_code in (400, 404)


def test_existing_contact_is_409_with_its_id(api) -> None:
    first = api.post(BOOK, json={"phone": "+358401234567"}).json()
    again = api.post(BOOK, json={"phone": "0401234567"})
    assert again.status_code == 409
    assert again.json()["id"] == first


def test_update_and_delete_semantics(api, emulator) -> None:
    assert api.put(f"{BOOK}/+358401234567", json={"city": "Oulu"}).status_code == 404
    assert api.delete(f"{BOOK}/+358401234567").status_code == 404
    api.post(BOOK, json={"phone": "+358401234567", "firstName": "Aino"})
    updated = api.put(f"{BOOK}/0401234567", json={"city": "Oulu"})
    assert updated.status_code == 200 and updated.json() is True
    contact = api.get(f"{BOOK}/+358401234567").json()
    assert (contact["firstName"], contact["city"]) == ("Aino", "Oulu")
    deleted = api.delete(f"{BOOK}/+358401234567")
    assert deleted.status_code == 200 and deleted.json() is True
    assert api.get(f"{BOOK}/+358401234567").status_code == 404


def test_delete_all_returns_true(api, emulator) -> None:
    api.post(BOOK, json={"phone": "+358401234567"})
    api.post(BOOK, json={"phone": "+358401234568"})
    response = api.delete(BOOK)
    assert response.status_code == 200 and response.json() is True
    assert emulator.contacts() == []
    assert api.delete(BOOK).json() is True


def test_group_service_path_segment_with_space(api) -> None:
    response = api.post("/groupcontact/demo-customer/no%20such%20group", json={"phone": "+358401234567"})
    assert response.status_code == 404
    assert response.json()["field"] == "Group Service"
    assert api.post("/groupcontact/nobody/crm-group", json={"phone": "+358401234567"}).status_code == 404
