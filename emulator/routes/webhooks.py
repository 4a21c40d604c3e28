"""NewMessage (webhook registration for inbound messages) and DeleteTrigger."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from smartdialog_sync.emulator import schemas
from smartdialog_sync.emulator.callbacks import utc_now_iso
from smartdialog_sync.emulator.errors import bad_request, not_found
from smartdialog_sync.emulator.operations import api_route, operation
from smartdialog_sync.emulator.validation import check_http_url, header, json_body

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime


@operation("NewMessage")
async def new_message(request: Request, runtime: "Runtime") -> JSONResponse:
    """POST /service/{Service}/pipelines/actions: 201 {id}, Location = the DeleteTrigger URL."""
    customer_id = header(request, "Customer")
    body = await json_body(request, schemas.NEW_MESSAGE_WEBHOOK)
    customer = runtime.catalog.customer(customer_id, "Customer")
    service = runtime.catalog.service(customer, request.path_params["service"], "Service", types=("TwoWay",))
    options = body["options"]
    check_http_url(options["endpointUrl"], "options.endpointUrl")
    if options["httpVerb"].upper() != "POST":
        raise bad_request("options.httpVerb must be POST (the only verb the emulator calls)", "options.httpVerb")
    pipeline_id = runtime.state.pipelines.setdefault(f"{customer.id}/{service.id}", str(uuid.uuid4()))
    action_id = str(uuid.uuid4())
    runtime.state.webhooks[action_id] = {
        "action_id": action_id, "pipeline_id": pipeline_id, "customer": customer.id, "service": service.id,
        "endpoint_url": options["endpointUrl"], "name": body["name"], "action_type": body["actionType"],
        "description": body["description"], "created_at": utc_now_iso(),
    }
    runtime.commit()
    location = str(request.url_for("DeleteTrigger", pipeline_id=pipeline_id, action_id=action_id))
    return JSONResponse({"id": action_id}, status_code=201, headers={"Location": location})


@operation("DeleteTrigger")
async def delete_trigger(request: Request, runtime: "Runtime") -> Response:
    """DELETE /pipelines/{Pipeline-Id}/actions/{Action-Id}: 204, or 404 when unknown."""
    action_id = request.path_params["action_id"]
    webhook = runtime.state.webhooks.get(action_id)
    if webhook is None or webhook["pipeline_id"] != request.path_params["pipeline_id"]:
        raise not_found("unknown pipeline action", "Action-Id")
    del runtime.state.webhooks[action_id]
    runtime.commit()
    return Response(status_code=204)


routes = [
    api_route("POST", "/service/{service}/pipelines/actions", new_message),
    api_route("DELETE", "/pipelines/{pipeline_id}/actions/{action_id}", delete_trigger),
]

