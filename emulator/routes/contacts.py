"""Group contacts, keyed per customer and group service by the phone number in E.164."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from smartdialog_sync.emulator import schemas
from smartdialog_sync.emulator.callbacks import utc_now_iso
from smartdialog_sync.emulator.errors import ApiError, bad_request, not_found
from smartdialog_sync.emulator.operations import api_route, operation
from smartdialog_sync.emulator.validation import json_body
from smartdialog_sync.phones import InvalidPhoneNumber, first_region, normalize_phone

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime


def _book(request: Request, runtime: "Runtime") -> dict[str, dict[str, Any]]:
    """The contact book of the path's customer and group service (404 when either is unknown)."""
    customer = runtime.catalog.customer(request.path_params["customer"], "Customer")
    service = runtime.catalog.service(customer, request.path_params["group_service"], "Group Service", types=("Group",))
    return runtime.state.contacts.setdefault(f"{customer.id}/{service.id}", {})


def _e164(raw: str, region: str | None, field: str) -> str:
    try:
        return normalize_phone(raw, region)
    except InvalidPhoneNumber as exc:
        raise bad_request(f"{field} is not a valid phone number: {exc}", field) from None


def _find(book: dict[str, dict[str, Any]], phone: str) -> dict[str, Any]:
    contact = book.get(phone)
    if contact is None:
        raise not_found(f"no contact with phone {phone}", "Phone")
    return contact


def _known_fields(body: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k in schema["properties"] and v is not None}


def contact_view(contact: dict[str, Any]) -> dict[str, Any]:
    """A stored contact as GetGroupContact answers it (the documented fields that are set)."""
    return {k: contact[k] for k in schemas.CONTACT_RESPONSE_FIELDS if contact.get(k) is not None}


@operation("GetGroupContact")
async def get_contact(request: Request, runtime: "Runtime") -> JSONResponse:
    """GET /groupcontact/{Customer}/{Group Service}/{Phone}[?Region=]."""
    book = _book(request, runtime)
    phone = _e164(request.path_params["phone"], request.query_params.get("Region") or None, "Phone")
    return JSONResponse(contact_view(_find(book, phone)))


@operation("CreateGroupContact")
async def create_contact(request: Request, runtime: "Runtime") -> JSONResponse:
    """POST /groupcontact/{Customer}/{Group Service}: the new contact's uuid; 409 with its id if it exists."""
    body = await json_body(request, schemas.CREATE_CONTACT)
    book = _book(request, runtime)
    phone = _e164(body["phone"], first_region(body.get("phoneNumberRegions")), "phone")
    if phone in book:
        raise ApiError(409, f"a contact with phone {phone} exists", "phone", id=book[phone]["id"])
    contact = {"active": True, "failedMessages": 0, **_known_fields(body, schemas.CREATE_CONTACT), "phone": phone, "id": str(uuid.uuid4()),
               "created_at": utc_now_iso(), "updated_at": utc_now_iso()}
    book[phone] = contact
    runtime.commit()
    return JSONResponse(contact["id"])


@operation("UpdateGroupContact")
async def update_contact(request: Request, runtime: "Runtime") -> JSONResponse:
    """PUT /groupcontact/{Customer}/{Group Service}/{Phone}: merges the given fields; true, or 404."""
    body = await json_body(request, schemas.UPDATE_CONTACT)
    book = _book(request, runtime)
    phone = _e164(request.path_params["phone"], first_region(body.get("phoneNumberRegions")), "Phone")
    contact = _find(book, phone)
    contact.update(_known_fields(body, schemas.UPDATE_CONTACT), updated_at=utc_now_iso())
    runtime.commit()
    return JSONResponse(True)


@operation("DeleteGroupContact")
async def delete_contact(request: Request, runtime: "Runtime") -> JSONResponse:
    """DELETE /groupcontact/{Customer}/{Group Service}/{Phone}: true, or 404."""
    book = _book(request, runtime)
    phone = _e164(request.path_params["phone"], None, "Phone")
    _find(book, phone)
    del book[phone]
    runtime.commit()
    return JSONResponse(True)


@operation("DeleteAllGroupContacts")
async def delete_all_contacts(request: Request, runtime: "Runtime") -> JSONResponse:
    """DELETE /groupcontact/{Customer}/{Group Service}: true (also when there was nothing to delete)."""
    book = _book(request, runtime)
    book.clear()
    runtime.commit()
    return JSONResponse(True)


routes = [
    api_route("GET", "/groupcontact/{customer}/{group_service}/{phone}", get_contact),
    api_route("PUT", "/groupcontact/{customer}/{group_service}/{phone}", update_contact),
    api_route("DELETE", "/groupcontact/{customer}/{group_service}/{phone}", delete_contact),
    api_route("POST", "/groupcontact/{customer}/{group_service}", create_contact),
    api_route("DELETE", "/groupcontact/{customer}/{group_service}", delete_all_contacts),
]

