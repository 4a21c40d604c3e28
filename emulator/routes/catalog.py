"""Read-only operations: customers, services, phone-number regions, WhatsApp identities/templates/categories."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse

from smartdialog_sync.constants import SERVICE_TYPES
from smartdialog_sync.emulator.errors import bad_request
from smartdialog_sync.emulator.operations import api_route, operation
from smartdialog_sync.emulator.validation import header, header_bool

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime


@operation("GetUserCustomers")
async def get_user_customers(request: Request, runtime: "Runtime") -> JSONResponse:
    """GET /customers."""
    users = [{"customerId": c.id, "customerName": c.name} for c in runtime.seed.customers.values()]
    return JSONResponse({"customerUsers": users})


@operation("GetCustomerServices")
async def get_customer_services(request: Request, runtime: "Runtime") -> JSONResponse:
    """GET /services/{Customer-Id} filtered by the ServiceType (and optional AllowReplyMessage) headers."""
    service_type = header(request, "ServiceType")
    if service_type not in SERVICE_TYPES:
        raise bad_request(f"ServiceType must be one of {', '.join(SERVICE_TYPES)}", "ServiceType")
    allow_reply = header_bool(request, "AllowReplyMessage")
    customer = runtime.catalog.customer(request.path_params["customer_id"])
    services = [
        {"id": s.id, "name": s.name} for s in customer.services.values()
        if s.type == service_type and allow_reply in (None, s.allow_reply_message)
    ]
    return JSONResponse(services)


@operation("GetPhoneNumberRegions")
async def get_phone_number_regions(request: Request, runtime: "Runtime") -> JSONResponse:
    """GET /phonenumberregions."""
    return JSONResponse(list(runtime.seed.phone_number_regions))


@operation("GetWhatsappTemplateCategories")
async def get_template_categories(request: Request, runtime: "Runtime") -> JSONResponse:
    """GET /whatsapp/templates/categories."""
    return JSONResponse(list(runtime.seed.template_categories))


@operation("GetCustomerWhatsAppTemplates")
async def get_customer_templates(request: Request, runtime: "Runtime") -> JSONResponse:
    """GET /whatsapp/templates/{Customer-Id}[?TemplateId=]: an empty list when TemplateId matches nothing."""
    customer = runtime.catalog.customer(request.path_params["customer_id"])
    template_id = request.query_params.get("TemplateId")
    templates = [
        {"id": t["id"], "displayName": t["display_name"], "extensionParameters": {"rawContent": t["raw_content"]}}
        for t in runtime.state.templates.get(customer.id, [])
        if template_id in (None, "", t["id"])
    ]
    return JSONResponse(templates)


@operation("GetCustomerWhatsappIdentities")
async def get_customer_identities(request: Request, runtime: "Runtime") -> JSONResponse:
    """GET /whatsapp/identities/{Customer-Id}."""
    customer = runtime.catalog.customer(request.path_params["customer_id"])
    return JSONResponse([{"inputSource": {"address": number}} for number in customer.whatsapp_identities])


routes = [
    api_route("GET", "/customers", get_user_customers),
    api_route("GET", "/services/{customer_id}", get_customer_services),
    api_route("GET", "/phonenumberregions", get_phone_number_regions),
    api_route("GET", "/whatsapp/templates/categories", get_template_categories),
    api_route("GET", "/whatsapp/templates/{customer_id}", get_customer_templates),
    api_route("GET", "/whatsapp/identities/{customer_id}", get_customer_identities),
]

