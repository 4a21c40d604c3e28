"""SmartDialogClient: a typed method for each of the 20 operations of the SmartDialog API.

Every call goes through the connection's one sliding-window limiter and the one retry policy, and
every request body is validated against the models before it leaves (a bad one costs no call).
"""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any, Mapping, NamedTuple, Optional, TypeVar, Union, get_args
from urllib.parse import quote, urlsplit

import httpx
import stamina
from pydantic import BaseModel, TypeAdapter, ValidationError

from ..constants import EMULATOR_BASE_URL
from ..datadir import private_data_dir
from ..errors import (
    ApiError,
    OutcomeUnknown,
    RateLimited,
    RequestInvalid,
    ServerError,
    SmartDialogError,
    TransportError,
    error_for_status,
)
from ..oauth import is_loopback_url
from . import models
from .auth import token_source
from .config import ClientSettings
from .limiter import SlidingWindowLimiter, WaitCallback, open_store
from .retry import RETRY_STATUSES, RetryableFailure, RetryPolicy, parse_retry_after

log = logging.getLogger("smartdialog_sync.api")

M = TypeVar("M", bound=BaseModel)
DETAIL_MAX = 500
_LOCATION = re.compile(r"/pipelines/([^/]+)/actions/([^/?#]+)")


def _path(template: str, **params: str) -> str:
    """Fill a path template, URL-encoding each parameter as one segment (spaces, '+' and '/' included)."""
    return template.format(**{name: quote(str(value), safe="") for name, value in params.items()})


def _header_bool(value: bool) -> str:
    return "true" if value else "false"


class _Request(NamedTuple):
    """One operation's request as every attempt sends it; `repeatable` when sending it twice is safe."""

    operation: str
    method: str
    path: str
    headers: Optional[dict[str, str]]
    params: Optional[dict[str, str]]
    wire: Optional[dict[str, Any]]
    repeatable: bool


class SmartDialogClient:
    """The one client of the SmartDialog API. Use as a context manager, or call close()."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        retry: RetryPolicy = RetryPolicy(),
        on_wait: Optional[WaitCallback] = None,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        self.settings = settings
        self.retry = retry
        self.on_wait = on_wait
        self.stats = models.CallStats()
        self._http = httpx.Client(
            timeout=settings.timeout,
            transport=transport or httpx.HTTPTransport(retries=0),
            headers={"Accept": "application/json", "User-Agent": "smartdialog-sync"},
        )
        private_data_dir(settings.data_dir)  # the local token store lives there
        self._tokens = token_source(settings, self._http)
        self.limiter = SlidingWindowLimiter(
            open_store(settings.state.limiter(settings.limiter_url)), settings.connection_key, settings.rate_limit
        )

    def __repr__(self) -> str:
        return f"SmartDialogClient(base_url={self.settings.base_url!r}, rate_limit='{self.settings.rate_limit}')"

    def __enter__(self) -> "SmartDialogClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections, the token store and the limiter's database."""
        self._http.close()
        self._tokens.close()
        self.limiter.close()

    # --- look-ups ------------------------------------------------------------------------------------

    def get_user_customers(self) -> list[models.Customer]:
        """GetUserCustomers: the customers the signed-in user may act for."""
        body = self._json("GetUserCustomers", "GET", "/customers")
        return self._parse("GetUserCustomers", list[models.Customer], (body or {}).get("customerUsers") or [])

    def get_customer_services(
        self, customer_id: str, service_type: models.ServiceType = "OneWay", allow_reply_message: Optional[bool] = None
    ) -> list[models.Service]:
        """GetCustomerServices: a customer's services of one type (OneWay, TwoWay or Group)."""
        self._check("GetCustomerServices", TypeAdapter(models.ServiceType), service_type)
        headers = {"ServiceType": service_type}
        if allow_reply_message is not None:
            headers["AllowReplyMessage"] = _header_bool(allow_reply_message)
        path = _path("/services/{customer}", customer=customer_id)
        body = self._json("GetCustomerServices", "GET", path, headers=headers)
        return self._parse("GetCustomerServices", list[models.Service], body or [])

    def get_customer_services_of_every_type(
        self, customer_id: str, allow_reply_message: Optional[bool] = None
    ) -> list[tuple[models.ServiceType, models.Service]]:
        """GetCustomerServices once per service type: (type, service) for every service of a customer."""
        return [(kind, service) for kind in get_args(models.ServiceType)
                for service in self.get_customer_services(customer_id, kind, allow_reply_message)]

    def get_customer_whatsapp_templates(
        self, customer_id: str, template_id: Optional[str] = None
    ) -> list[models.WhatsAppTemplate]:
        """GetCustomerWhatsAppTemplates: a customer's templates, or the one named `template_id`."""
        params = {"TemplateId": template_id} if template_id else None
        path = _path("/whatsapp/templates/{customer}", customer=customer_id)
        body = self._json("GetCustomerWhatsAppTemplates", "GET", path, params=params)
        return self._parse("GetCustomerWhatsAppTemplates", list[models.WhatsAppTemplate], body or [])

    def get_whatsapp_template_categories(self) -> list[str]:
        """GetWhatsappTemplateCategories: the categories a template may have."""
        body = self._json("GetWhatsappTemplateCategories", "GET", "/whatsapp/templates/categories")
        return self._parse("GetWhatsappTemplateCategories", list[str], body or [])

    def get_customer_whatsapp_identities(self, customer_id: str) -> list[str]:
        """GetCustomerWhatsappIdentities: the WhatsApp identity numbers of a customer."""
        path = _path("/whatsapp/identities/{customer}", customer=customer_id)
        body = self._json("GetCustomerWhatsappIdentities", "GET", path) or []
        return [
            str(item["inputSource"]["address"])
            for item in body
            if isinstance(item, dict) and isinstance(item.get("inputSource"), dict) and item["inputSource"].get("address")
        ]

    def get_phone_number_regions(self) -> list[models.PhoneNumberRegion]:
        """GetPhoneNumberRegions: the regions phone numbers can be parsed in."""
        body = self._json("GetPhoneNumberRegions", "GET", "/phonenumberregions")
        return self._parse("GetPhoneNumberRegions", list[models.PhoneNumberRegion], body or [])

    # --- sends ---------------------------------------------------------------------------------------

    def send_message(
        self, customer_id: str, service_id: str, request: Union[models.SendMessageRequest, Mapping[str, Any]]
    ) -> models.SendResult:
        """SendMessage: one message to many recipients, each with its own Personalization."""
        body = self._model("SendMessage", models.SendMessageRequest, request)
        answer = self._json(
            "SendMessage", "POST", "/messages", headers=self._send_headers(customer_id, service_id),
            body=body, safe_to_repeat=body.request_id is not None,
        )
        return self._parse("SendMessage", models.SendResult, answer or {})

    def send_reply_message(
        self,
        parent_message_id: str,
        customer_id: str,
        service_id: str,
        request: Union[models.SendMessageRequest, Mapping[str, Any]],
    ) -> models.SendResult:
        """SendReplyMessage: a reply to the message `parent_message_id`."""
        body = self._model("SendReplyMessage", models.SendMessageRequest, request)
        path = _path("/messages/reply/{parent}", parent=parent_message_id)
        answer = self._json(
            "SendReplyMessage", "POST", path, headers=self._send_headers(customer_id, service_id),
            body=body, safe_to_repeat=body.request_id is not None,
        )
        return self._parse("SendReplyMessage", models.SendResult, answer or {})

    def send_discussion_reply_message(
        self, customer_id: str, request: Union[models.DiscussionReplyRequest, Mapping[str, Any]]
    ) -> models.SendResult:
        """SendDiscussionReplyMessage: a reply into an existing discussion thread (never repeated)."""
        body = self._model("SendDiscussionReplyMessage", models.DiscussionReplyRequest, request)
        answer = self._json(
            "SendDiscussionReplyMessage", "POST", "/messages/discussion/reply",
            headers={"CustomerId": customer_id}, body=body,
        )
        return self._parse("SendDiscussionReplyMessage", models.SendResult, answer or {})

    def send_whatsapp_template_message(
        self,
        customer_id: str,
        service_id: str,
        request: Union[models.WhatsAppTemplateSendRequest, Mapping[str, Any]],
    ) -> models.SendResult:
        """SendWhatsappTemplateMessage: one template with one parameter set to many recipients."""
        body = self._model("SendWhatsappTemplateMessage", models.WhatsAppTemplateSendRequest, request)
        answer = self._json(
            "SendWhatsappTemplateMessage", "POST", "/messages/templates/whatsapp",
            headers=self._send_headers(customer_id, service_id), body=body,
            safe_to_repeat=body.request_id is not None,
        )
        return self._parse("SendWhatsappTemplateMessage", models.SendResult, answer or {})

    def create_whatsapp_template(
        self,
        customer_id: str,
        identity_number: str,
        request: Union[models.CreateWhatsAppTemplateRequest, Mapping[str, Any]],
    ) -> None:
        """CreateWhatsappTemplate: submit a new template for an identity (204 on success)."""
        body = self._model("CreateWhatsappTemplate", models.CreateWhatsAppTemplateRequest, request)
        path = _path("/whatsapp/templates/{customer}/{identity}", customer=customer_id, identity=identity_number)
        self._call("CreateWhatsappTemplate", "POST", path, body=body)

    def whatsapp_opt_in(self, sender: str, recipient: str) -> None:
        """WhatsAppOptIn (deprecated by the service): record a recipient's opt-in for a sender."""
        warnings.warn("WhatsAppOptIn is deprecated by SmartDialog", DeprecationWarning, stacklevel=2)
        path = _path("/whatsapp/opt-in/sender/{sender}/recipient/{recipient}", sender=sender, recipient=recipient)
        self._call("WhatsAppOptIn", "POST", path, safe_to_repeat=True)

    def whatsapp_opt_out(self, sender: str, recipient: str) -> None:
        """WhatsAppOptOut (deprecated by the service): remove a recipient's opt-in for a sender."""
        warnings.warn("WhatsAppOptOut is deprecated by SmartDialog", DeprecationWarning, stacklevel=2)
        path = _path("/whatsapp/opt-in/sender/{sender}/recipient/{recipient}", sender=sender, recipient=recipient)
        self._call("WhatsAppOptOut", "DELETE", path)

    # --- group contacts ------------------------------------------------------------------------------

    def get_group_contact(
        self, customer: str, group_service: str, phone: str, region: Optional[str] = None
    ) -> Optional[models.GroupContactRecord]:
        """GetGroupContact: the contact with this phone, or None when the group does not hold it."""
        path = _path("/groupcontact/{customer}/{group}/{phone}", customer=customer, group=group_service, phone=phone)
        try:
            body = self._json("GetGroupContact", "GET", path, params={"Region": region} if region else None)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return self._parse("GetGroupContact", models.GroupContactRecord, body or {})

    def create_group_contact(
        self, customer: str, group_service: str, contact: Union[models.GroupContact, Mapping[str, Any]]
    ) -> str:
        """CreateGroupContact: add a contact; returns its id. Not repeated on an unknown outcome."""
        body = self._model("CreateGroupContact", models.GroupContact, contact)
        path = _path("/groupcontact/{customer}/{group}", customer=customer, group=group_service)
        return str(self._json("CreateGroupContact", "POST", path, body=body))

    def update_group_contact(
        self,
        customer: str,
        group_service: str,
        phone: str,
        contact: Union[models.GroupContactFields, Mapping[str, Any]],
    ) -> bool:
        """UpdateGroupContact: replace the fields of the contact with this phone."""
        fields = contact.model_dump(exclude={"phone"}) if isinstance(contact, BaseModel) else dict(contact)
        fields.pop("phone", None)
        body = self._model("UpdateGroupContact", models.GroupContactFields, fields)
        path = _path("/groupcontact/{customer}/{group}/{phone}", customer=customer, group=group_service, phone=phone)
        return bool(self._json("UpdateGroupContact", "PUT", path, body=body))

    def delete_group_contact(self, customer: str, group_service: str, phone: str) -> bool:
        """DeleteGroupContact: remove the contact with this phone."""
        path = _path("/groupcontact/{customer}/{group}/{phone}", customer=customer, group=group_service, phone=phone)
        return bool(self._json("DeleteGroupContact", "DELETE", path))

    def delete_all_group_contacts(self, customer: str, group_service: str) -> bool:
        """DeleteAllGroupContacts: remove every contact of the group service."""
        path = _path("/groupcontact/{customer}/{group}", customer=customer, group=group_service)
        return bool(self._json("DeleteAllGroupContacts", "DELETE", path))

    # --- webhook -------------------------------------------------------------------------------------

    def new_message_webhook(self, customer: str, service: str, endpoint_url: str) -> models.WebhookRegistration:
        """NewMessage: register `endpoint_url` for the inbound messages of a two-way service.

        Not repeated on an unknown outcome: the caller reconciles (a second registration would
        deliver every message twice).
        """
        body = self._model(
            "NewMessage", models.NewMessageWebhookRequest, {"options": {"endpoint_url": endpoint_url}}
        )
        path = _path("/service/{service}/pipelines/actions", service=service)
        response = self._call("NewMessage", "POST", path, headers={"Customer": customer}, body=body)
        action_id = str((self._decode("NewMessage", response) or {}).get("id", ""))
        location = response.headers.get("Location", "")
        match = _LOCATION.search(location)
        if not match:
            raise ApiError("NewMessage", "answer has no Location naming the pipeline action", response.status_code, location)
        return models.WebhookRegistration(action_id=action_id or match.group(2), pipeline_id=match.group(1), location=location)

    def delete_trigger(self, pipeline_id: str, action_id: str) -> None:
        """DeleteTrigger: remove a webhook by the ids of its registration's Location."""
        path = _path("/pipelines/{pipeline}/actions/{action}", pipeline=pipeline_id, action=action_id)
        self._call("DeleteTrigger", "DELETE", path)

    # --- plumbing ------------------------------------------------------------------------------------

    @staticmethod
    def _send_headers(customer_id: str, service_id: str) -> dict[str, str]:
        return {"Customer-Id": customer_id, "Service-Id": service_id}

    @staticmethod
    def _check(operation: str, adapter: TypeAdapter[Any], value: Any) -> None:
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            raise RequestInvalid(operation, _describe(exc)) from None

    @staticmethod
    def _model(operation: str, kind: type[M], value: Union[M, Mapping[str, Any]]) -> M:
        """Validate a request body (again, if it is a model already: assignment may have changed it)."""
        data = value.model_dump() if isinstance(value, BaseModel) else value
        try:
            return kind.model_validate(data)
        except ValidationError as exc:
            raise RequestInvalid(operation, _describe(exc)) from None

    def _parse(self, operation: str, kind: Any, body: Any) -> Any:
        try:
            return TypeAdapter(kind).validate_python(body)
        except ValidationError as exc:
            raise ApiError(operation, "unexpected answer", None, _describe(exc)) from None

    def _json(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        return self._decode(operation, self._call(operation, method, path, **kwargs))

    @staticmethod
    def _decode(operation: str, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(operation, "answer is not JSON", response.status_code, response.text[:DETAIL_MAX]) from None

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        headers: Optional[dict[str, str]] = None,
        params: Optional[dict[str, str]] = None,
        body: Optional[BaseModel] = None,
        safe_to_repeat: Optional[bool] = None,
    ) -> httpx.Response:
        """Send one operation through the limiter and the retry policy; return the 2xx response."""
        repeatable = method in ("GET", "PUT", "DELETE") if safe_to_repeat is None else safe_to_repeat
        wire = body.to_wire() if body is not None else None  # type: ignore[attr-defined]
        policy = self.retry
        try:
            for attempt in stamina.retry_context(
                on=self._backoff,
                attempts=policy.attempts,
                timeout=None,
                wait_initial=policy.wait_initial,
                wait_max=policy.wait_max,
                wait_jitter=policy.wait_jitter,
            ):
                with attempt:
                    if attempt.num > 1:
                        self.stats.retries += 1
                    return self._attempt(_Request(operation, method, path, headers, params, wire, repeatable))
        except RetryableFailure as failure:
            raise failure.final from None
        raise AssertionError("unreachable: the retry loop returns or raises")

    def _backoff(self, exc: Exception) -> Union[bool, float]:
        """stamina's hook: whether to retry, and Retry-After's delay when the service gave one."""
        if not isinstance(exc, RetryableFailure):
            return False
        if exc.retry_after is None:
            return True
        if exc.retry_after > self.retry.max_retry_after:
            return False
        if self.on_wait is not None:
            self.on_wait(exc.retry_after, "Retry-After")
        self.stats.waited_seconds += exc.retry_after
        return exc.retry_after

    def _attempt(self, request: _Request) -> httpx.Response:
        renewed = False
        while True:
            response = self._send(request)
            refused = response.request.headers.get("Authorization", "").removeprefix("Bearer ")
            if response.status_code == 401 and not renewed and self._tokens.renew(refused):
                renewed = True
                continue
            return self._judge(request.operation, response, request.repeatable)

    def _send(self, request: _Request) -> httpx.Response:
        operation, method, path, headers, params, wire, repeatable = request
        request_headers = {"Authorization": f"Bearer {self._tokens.bearer()}", **(headers or {})}
        url = self.settings.base_url + path
        try:
            with self.limiter.slot(self.on_wait) as waited:
                self.stats.waited_seconds += waited
                self.stats.calls += 1
                response = self._http.request(method, url, headers=request_headers, params=params, json=wire)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            if isinstance(exc, httpx.ConnectError) and is_loopback_url(self.settings.base_url):
                raise TransportError(operation, _nothing_listening(self.settings.base_url)) from None
            raise RetryableFailure(TransportError(operation, f"cannot connect to {self.settings.base_url} ({type(exc).__name__})"))
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            unknown = OutcomeUnknown(
                operation,
                f"{type(exc).__name__} after the request was sent; it may have been processed"
                + (" (repeat it with the same RequestId)" if method == "POST" and repeatable else ""),
            )
            if repeatable:
                raise RetryableFailure(unknown if method == "POST" else TransportError(operation, str(unknown).split(": ", 1)[1]))
            raise unknown from None
        log.debug("%s %s %s -> %s", operation, method, path, response.status_code)
        return response

    def _judge(self, operation: str, response: httpx.Response, repeatable: bool) -> httpx.Response:
        status = response.status_code
        if status < 400:
            return response
        detail = self._detail(response)
        if status == 429:
            self.stats.throttled += 1
            raise RetryableFailure(
                RateLimited(operation, "rate limited", status, detail), parse_retry_after(response.headers.get("Retry-After"))
            )
        if status in RETRY_STATUSES:
            if repeatable:
                final: SmartDialogError = ServerError(operation, "server error", status, detail)
                if response.request.method == "POST":
                    final = OutcomeUnknown(operation, "server error; repeat it with the same RequestId", status, detail)
                raise RetryableFailure(final)
            raise OutcomeUnknown(operation, "server error on a request that is not safe to repeat; it may have been processed", status, detail)
        raise error_for_status(operation, status, detail)

    def _detail(self, response: httpx.Response) -> str:
        """What the server said, shortened, with any secret of ours blanked out."""
        text = response.text[:DETAIL_MAX]
        for secret in (self.settings.access_token, self.settings.client_secret, self.settings.refresh_token):
            if secret is not None:
                text = text.replace(secret.reveal(), "***")
        return text


def _describe(exc: ValidationError) -> str:
    """A short human message from a pydantic ValidationError."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _nothing_listening(base_url: str) -> str:
    """What to do when a loopback base URL refuses the connection (nothing listens there: retrying is no use)."""
    if base_url == EMULATOR_BASE_URL:
        return (f"no emulator is running at {EMULATOR_BASE_URL}: start one with `sdsync emulator`, "
                "or set SMARTDIALOG__BASE_URL to the service")
    port = urlsplit(base_url).port or 80
    return (f"nothing is listening at {base_url} (connection refused): start the emulator there with "
            f"`sdsync emulator --port {port}`, or correct --base-url / SMARTDIALOG__BASE_URL")
