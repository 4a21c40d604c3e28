"""Request and response models of the SmartDialog API, written from its OpenAPI definition.

Python attributes are snake_case; each model serialises to the definition's casing: PascalCase for
the send bodies, camelCase for group contacts and webhooks. Requests are validated before they leave.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, Optional

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel, to_pascal

from ..constants import CUSTOMER_DATA_MAX, REQUEST_ID_MAX, TEMPLATE_DISPLAY_NAME_MAX

ButtonType = Literal["Call", "QuickReply", "Url"]
Gender = Literal["Male", "Female", "Other"]
ServiceType = Literal["OneWay", "TwoWay", "Group"]


class _Request(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", validate_assignment=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body as the definition spells it, without unset fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class _PascalRequest(_Request):
    model_config = ConfigDict(alias_generator=to_pascal)


class _CamelRequest(_Request):
    model_config = ConfigDict(alias_generator=to_camel)


def _utc_iso(value: Optional[datetime]) -> Optional[datetime]:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


# --- sends -----------------------------------------------------------------------------------------


class Recipient(_PascalRequest):
    """One recipient of a SendMessage call, with its placeholder values."""

    address: str = Field(min_length=1)
    personalization: Optional[dict[str, str]] = None


class SendMessageRequest(_PascalRequest):
    """Body of SendMessage and SendReplyMessage."""

    sender: str = Field(min_length=1)
    content: str = Field(min_length=1)
    recipients: list[Recipient] = Field(min_length=1)
    protocol: Literal["SMS"] = "SMS"
    send_date_time: Optional[datetime] = None
    attachment_uri: Optional[str] = None
    customer_data: Optional[str] = Field(default=None, max_length=CUSTOMER_DATA_MAX)
    ad_message: Optional[bool] = None
    dlr_url: Optional[str] = None
    request_id: Optional[str] = Field(default=None, min_length=1, max_length=REQUEST_ID_MAX)

    _utc = field_validator("send_date_time")(_utc_iso)


class DiscussionReplyRequest(_PascalRequest):
    """Body of SendDiscussionReplyMessage."""

    thread_id: str = Field(min_length=1)
    content: str = Field(min_length=1)
    customer_data: Optional[str] = Field(default=None, max_length=CUSTOMER_DATA_MAX)


class WhatsAppRecipient(_PascalRequest):
    """One recipient of a WhatsApp template send."""

    address: str = Field(min_length=1)


class SendButton(_PascalRequest):
    """A button value of a WhatsApp template send."""

    type: ButtonType
    data: str


class WhatsAppTemplateSendRequest(_PascalRequest):
    """Body of SendWhatsappTemplateMessage: one parameter set for every recipient of the call."""

    template_name: str = Field(min_length=1)
    recipients: list[WhatsAppRecipient] = Field(min_length=1)
    body_parameters: Optional[list[str]] = None
    header_parameters: Optional[list[str]] = None
    buttons: Optional[list[SendButton]] = None
    send_date_time: Optional[datetime] = None
    attachment_uri: Optional[str] = None
    use_sms_fallback: Optional[bool] = None
    dlr_url: Optional[str] = None
    customer_data: Optional[str] = Field(default=None, max_length=CUSTOMER_DATA_MAX)
    request_id: Optional[str] = Field(default=None, min_length=1, max_length=REQUEST_ID_MAX)

    _utc = field_validator("send_date_time")(_utc_iso)


class TemplateButton(_PascalRequest):
    """A button of a WhatsApp template being created."""

    type: ButtonType
    label: str
    data: str


class CreateWhatsAppTemplateRequest(_PascalRequest):
    """Body of CreateWhatsappTemplate."""

    display_name: str = Field(min_length=1, max_length=TEMPLATE_DISPLAY_NAME_MAX)
    raw_content: str = Field(min_length=1)
    category: str = Field(min_length=1)
    language: str = Field(pattern=r"^[A-Za-z]{2}$")
    buttons: Optional[list[TemplateButton]] = None
    attachment_url: Optional[str] = None


# --- group contacts ----------------------------------------------------------------------------------


class CustomContactProperty(_CamelRequest):
    """A custom property of a group contact."""

    name: str
    value: str


class GroupContactFields(_CamelRequest):
    """The contact fields UpdateGroupContact takes (the phone is in the path)."""

    active: Optional[bool] = None
    email: Optional[str] = None
    first_name: Optional[str] = None
    last_name: Optional[str] = None
    gender: Optional[Gender] = None
    birth_year: Optional[int] = Field(default=None, ge=-(2**31), le=2**31 - 1)
    street_address: Optional[str] = None
    zip_code: Optional[str] = None
    city: Optional[str] = None
    country_code: Optional[str] = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    custom_contact_properties: Optional[list[CustomContactProperty]] = None
    phone_number_regions: Optional[list[str]] = None


class GroupContact(GroupContactFields):
    """Body of CreateGroupContact: the fields plus the required phone."""

    phone: str = Field(min_length=1)


class _Response(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", alias_generator=to_camel)


class GroupContactRecord(_Response):
    """A contact as GetGroupContact answers it."""

    phone: Optional[str] = None
    email: Optional[str] = None
    first_name: Optional[str] = None
    last_name: Optional[str] = None
    gender: Optional[str] = None
    birth_year: Optional[int] = None
    street_address: Optional[str] = None
    zip_code: Optional[str] = None
    city: Optional[str] = None
    country_code: Optional[str] = None
    failed_messages: Optional[int] = None
    active: Optional[bool] = None
    custom_contact_properties: Optional[list[CustomContactProperty]] = None


# --- webhook -------------------------------------------------------------------------------------------


class NewMessageWebhookRequest(_CamelRequest):
    """Body of NewMessage (the webhook registration)."""

    name: str = "smartdialog-sync webhook"
    action_type: str = "HttpRequest"
    description: str = "Created by smartdialog-sync. Removed by `sdsync serve --unregister`."
    options: "WebhookOptions"


class WebhookOptions(_CamelRequest):
    """Where and how the service calls the webhook."""

    endpoint_url: str = Field(min_length=1)
    http_verb: str = "POST"


NewMessageWebhookRequest.model_rebuild()


@dataclass(frozen=True)
class WebhookRegistration:
    """A registered NewMessage webhook: DeleteTrigger takes its pipeline id and action id."""

    action_id: str
    pipeline_id: str
    location: str


# --- responses ----------------------------------------------------------------------------------------


class Customer(_Response):
    """A customer the signed-in user may act for."""

    customer_id: str
    customer_name: Optional[str] = None


class Service(_Response):
    """A service of a customer."""

    id: str
    name: Optional[str] = None


class WhatsAppTemplate(_Response):
    """A WhatsApp template of a customer; `id` is the template name used for sending."""

    id: str
    display_name: Optional[str] = None
    raw_content: Optional[str] = None

    @model_validator(mode="before")
    @classmethod
    def _lift_raw_content(cls, data: Any) -> Any:
        """The definition nests the content as extensionParameters.rawContent."""
        if isinstance(data, dict) and isinstance(data.get("extensionParameters"), dict):
            data = {**data, "rawContent": data["extensionParameters"].get("rawContent")}
        return data


class PhoneNumberRegion(_Response):
    """A region SmartDialog can parse phone numbers for."""

    value: str
    name: Optional[str] = None


class RecipientResult(BaseModel):
    """The id the service gave one recipient of a send (used by delivery reports)."""

    model_config = ConfigDict(extra="ignore")

    address: Optional[str] = Field(default=None, validation_alias=AliasChoices("Address", "address"))
    id: Optional[str] = Field(default=None, validation_alias=AliasChoices("Id", "id"))


class SendResult(BaseModel):
    """What a send answered: PascalCase for SMS sends, camelCase for WhatsApp template sends."""

    model_config = ConfigDict(extra="ignore")

    message_id: Optional[str] = Field(default=None, validation_alias=AliasChoices("MessageId", "messageId"))
    message_part_count: Optional[int] = Field(
        default=None, validation_alias=AliasChoices("MessagePartCount", "messagePartCount")
    )
    recipients: list[RecipientResult] = Field(
        default_factory=list, validation_alias=AliasChoices("Recipients", "recipients")
    )
    thread_id: Optional[str] = Field(default=None, validation_alias=AliasChoices("ThreadId", "threadId"))


@dataclass
class CallStats:
    """Counters of one client: API calls made, retries, 429s seen and seconds spent waiting."""

    calls: int = 0
    retries: int = 0
    throttled: int = 0
    waited_seconds: float = 0.0
