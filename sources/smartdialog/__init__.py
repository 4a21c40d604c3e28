"""The `smartdialog` dlt source: what SmartDialog lets you read, plus what the receiver journaled.

SmartDialog has no operation that lists messages: inbound messages and delivery reports come from the
webhook receiver's journal (`sdsync serve`), incrementally by its sequence number. Account data
(customers, services, templates, identities, categories, regions) is read through the API client and
replaced on every run. Group contacts can only be read one phone at a time: the stalest phones are read
first within a call budget. Sent messages come from the campaign ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, Optional

import dlt
from dlt.common.configuration import get_fun_spec, known_sections, resolve_configuration
from dlt.common.libs.pydantic import pydantic_to_table_schema_columns
from dlt.common.libs.pyarrow import py_arrow_to_table_schema_columns
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource
from pydantic import BaseModel

from smartdialog_sync.api import ClientSettings, SmartDialogClient, models
from smartdialog_sync.api.config import check_credentials, settings_from_config
from smartdialog_sync.api.config_spec import SHARED_SECTIONS, SmartDialogCredentials, resolve_credentials
from smartdialog_sync.errors import UsageError
from smartdialog_sync.journal import open_journal
from .helpers import (
    DLR_SCHEMA,
    SEQUENCE_COLUMN,
    ContactTarget,
    read_delivery_reports,
    read_inbound,
    read_link_rows,
    read_sent_messages,
    stalest_first,
    targets_from_contact_state,
    targets_from_phones,
    targets_from_query,
    utc_now,
)

SECTION = "smartdialog"  # config: [sources.smartdialog], env SOURCES__SMARTDIALOG__KEY
SOURCE_SECTIONS = (known_sections.SOURCES, SECTION, "smartdialog")  # where dlt looks for the source's arguments
CREDENTIALS_SECTIONS = (known_sections.SOURCES, SECTION, "credentials")  # the dlt way: [sources.smartdialog.credentials]
JOURNAL_PAGE_SIZE = 100_000
DEFAULT_MAX_CALLS = 50
ATTACHMENTS_TABLE = "inbound_messages__attachments"


def _columns(**types: str) -> dict[str, dict[str, Any]]:
    """Column hints from names and short types: text, key (non-null text), seq, bigint, ts, bool, json.

    Every column gets a dict of its own: dlt writes into the hints it is given.
    """
    shapes = {
        "text": {"data_type": "text"},
        "key": {"data_type": "text", "nullable": False},
        "seq": {"data_type": "bigint", "nullable": False},
        "bigint": {"data_type": "bigint"},
        "ts": {"data_type": "timestamp", "timezone": True, "precision": 6},
        "bool": {"data_type": "bool"},
        "json": {"data_type": "json"},
    }
    return {name: {"name": name, **shapes[kind]} for name, kind in types.items()}


def _model_columns(model: type[BaseModel], exclude: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """Column hints of an API model's fields, named in snake_case as `model_dump()` names them."""
    by_alias = pydantic_to_table_schema_columns(model)
    return {
        name: {**by_alias[field.alias or name], "name": name}
        for name, field in model.model_fields.items()
        if name not in exclude
    }


class _QueryIsJsonOnPurpose(logging.Filter):
    """Drops dlt's warning that a hint overrides an Arrow type, for delivery_reports only: its `query` is JSON
    text in the Arrow tables and declared JSON on purpose; every other hint is the Arrow type itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("In resource: delivery_reports, when merging arrow schema")


logging.getLogger("dlt").addFilter(_QueryIsJsonOnPurpose())


@dlt.source(name="smartdialog", section=SECTION, max_table_nesting=1)
def smartdialog(
    credentials: SmartDialogCredentials = dlt.secrets.value,
    journal_url: Optional[TSecretStrValue] = dlt.secrets.value,
    customers: Optional[list[str]] = None,
    group_phones: Optional[list[str]] = None,
    group_phones_query: Optional[str] = None,
    group_phones_url: Optional[TSecretStrValue] = None,
    group_customer: Optional[str] = None,
    group_service: Optional[str] = None,
    contact_state_path: Optional[str] = None,
    max_calls: int = DEFAULT_MAX_CALLS,
    ledger_path: Optional[str] = None,
    page_size: int = JOURNAL_PAGE_SIZE,
    settings: Optional[ClientSettings] = None,
    on_wait: Optional[Callable[[float, str], None]] = None,
) -> list[DltResource]:
    """SmartDialog data for dlt.

    Every argument is also read the dlt way from `[sources.smartdialog]` (`.dlt/config.toml`,
    `.dlt/secrets.toml`, env `SOURCES__SMARTDIALOG__JOURNAL_URL`, ...). The connection's credentials are
    checked only when an API resource runs: the journal and ledger resources need no credentials.

    Args:
        credentials: the API connection and where its state lives (the keys of [smartdialog]: base_url,
            access_token, client_id, ..., data_dir, state_url); each key not given here is read from
            `[sources.smartdialog.credentials]`, then `[sources.smartdialog]` (SOURCES__SMARTDIALOG__KEY), then
            the shared `[smartdialog]` section the CLI uses (SMARTDIALOG__KEY). A mapping of some keys will do.
        journal_url: the receiver's journal (SQLite path or postgresql:// URL); default the state's journal
            (state_url, else <data_dir>/journal.sqlite).
        customers: customer ids to read account data for; all the user's customers when left out.
        group_phones / group_phones_query + group_phones_url: the phones whose group contacts to read
            (with group_customer and group_service); by default the phones the contact sync manages, from
            its state: contact_state_path (a DuckDB file or a postgresql:// URL), else the state's (state_url,
            else <data_dir>/contacts_state.duckdb).
        max_calls: most GetGroupContact calls in this run (each spends one of the rate limit's calls).
        ledger_path: the campaign ledger: a SQLite path, sqlite:/// or postgresql:// URL; default the state's
            (state_url, else <data_dir>/campaigns.sqlite).
        page_size: journal rows per Arrow table.
        settings: ready client settings; they replace `credentials`.
        on_wait: told (seconds, reason) whenever the API client waits for the rate limit or a Retry-After.
    """
    if group_phones_query and group_phones_url:
        from smartdialog_sync.crm_query import check_crm_query

        check_crm_query(group_phones_url, group_phones_query, "the phones query")  # refused before any run
    local = settings or _settings(credentials)
    journal = str(local.state.journal(journal_url))  # the same as configured_journal()

    def client() -> SmartDialogClient:
        return SmartDialogClient(settings or check_credentials(local), on_wait=on_wait)

    def targets() -> list[ContactTarget]:
        if group_phones:
            return targets_from_phones(group_phones, group_customer, group_service)
        if group_phones_query:
            if not group_phones_url:
                raise UsageError("group_phones_query needs group_phones_url (a SQLAlchemy URL)")
            return targets_from_query(group_phones_url, group_phones_query, group_customer, group_service)
        return targets_from_contact_state(local.state.contact_state(contact_state_path), group_customer, group_service)

    customer_list = customers_resource(client, customers)
    return [
        inbound_messages(journal, page_size),
        delivery_reports(journal, page_size),
        link_clicks(journal, page_size),
        tracked_links(journal, page_size),
        customer_list,
        customer_list | services(client),
        customer_list | whatsapp_templates(client),
        customer_list | whatsapp_identities(client),
        template_categories(client),
        phone_number_regions(client),
        group_contacts(client, targets, max_calls),
        sent_messages(local.state.ledger(ledger_path), page_size),
        campaigns(local.state.ledger(ledger_path)),
        campaign_assignments(local.state.ledger(ledger_path)),
    ]


def _settings(credentials: SmartDialogCredentials) -> ClientSettings:
    """The connection settings of the source, credentials unchecked: the keys dlt resolved for `credentials`
    (given, or found in [sources.smartdialog.credentials]), then [sources.smartdialog.credentials] (again: dlt
    does not count a key set to its default), [sources.smartdialog], [smartdialog]."""
    found = {name: credentials[name] for name in credentials.__resolved_fields_set__}
    layered = resolve_credentials(SHARED_SECTIONS, SOURCE_SECTIONS, CREDENTIALS_SECTIONS)
    return settings_from_config(layered, **found)


def _configured(**explicit: Any) -> Any:
    spec = get_fun_spec(smartdialog)
    given = {name: value for name, value in explicit.items() if value is not None}
    return resolve_configuration(spec(), sections=SOURCE_SECTIONS, explicit_value=given)


def configured_settings(credentials: Mapping[str, Any]) -> ClientSettings:
    """The connection settings the source resolves, credentials unchecked: the non-None `credentials` values,
    then [sources.smartdialog.credentials], [sources.smartdialog] and [smartdialog]."""
    return _settings(_configured(credentials=_given(credentials)).credentials)


def configured_journal(settings: Optional[ClientSettings] = None, journal_url: Optional[str] = None,
                       credentials: Optional[Mapping[str, Any]] = None) -> str | Path:
    """The journal the source reads (see its `journal_url`): a `postgresql://` URL or a SQLite file.

    `settings`, when given, are the source's ready settings (their state decides the default journal)."""
    config = _configured(journal_url=journal_url, credentials=_given(credentials or {}))
    local = settings or _settings(config.credentials)
    return local.state.journal(config.journal_url)


def _given(credentials: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """The non-None `credentials` values as the source's explicit argument (None when there are none)."""
    return {name: value for name, value in credentials.items() if value is not None} or None


# --- from the journal ---------------------------------------------------------------------------------


@dlt.resource(name="inbound_messages", write_disposition="merge", primary_key="message_id")
def inbound_messages(
    journal_url: str,
    page_size: int = JOURNAL_PAGE_SIZE,
    cursor: dlt.sources.incremental[int] = dlt.sources.incremental(SEQUENCE_COLUMN, initial_value=0, range_start="open"),
) -> Iterator[Any]:
    """Inbound messages (NewMessage webhooks); attachments go to inbound_messages__attachments.

    Column types come from the Arrow schemas (helpers.INBOUND_SCHEMA, ATTACHMENT_SCHEMA): resource-level
    column hints would also be applied to the attachments table.
    """
    attachment_hints = dlt.mark.make_hints(
        table_name=ATTACHMENTS_TABLE,
        write_disposition="merge",
        primary_key=["message_id", "position"],
    )
    with closing(open_journal(journal_url)) as store:
        for messages, attachments in read_inbound(store, cursor.last_value or 0, page_size):
            yield messages
            if attachments.num_rows:
                yield dlt.mark.with_hints(attachments, attachment_hints, create_table_variant=True)


@dlt.resource(
    name="delivery_reports",
    write_disposition="merge",
    primary_key="dlr_key",
    columns={**py_arrow_to_table_schema_columns(DLR_SCHEMA), **_columns(query="json")},
)
def delivery_reports(
    journal_url: str,
    page_size: int = JOURNAL_PAGE_SIZE,
    cursor: dlt.sources.incremental[int] = dlt.sources.incremental(SEQUENCE_COLUMN, initial_value=0, range_start="open"),
) -> Iterator[Any]:
    """Delivery reports (GET callbacks on a send's DlrUrl), keyed by (messageId, recipientId, status).

    Column types come from helpers.DLR_SCHEMA; `query` holds every query parameter as JSON.
    """
    with closing(open_journal(journal_url)) as store:
        yield from read_delivery_reports(store, cursor.last_value or 0, page_size)


@dlt.resource(
    name="link_clicks",
    write_disposition="merge",
    primary_key="click_id",
    columns=_columns(journal_seq="seq", click_id="key", code="text", campaign_id="text", variant="text",
                     recipient="text", target="text", kind="text", agent="text", clicked_at="ts"),
)
def link_clicks(
    journal_url: str,
    page_size: int = JOURNAL_PAGE_SIZE,
    cursor: dlt.sources.incremental[int] = dlt.sources.incremental(SEQUENCE_COLUMN, initial_value=0, range_start="open"),
) -> Iterator[Any]:
    """Requests of tracked links (`sdsync serve`'s /l/CODE): kind `click` or `preview` (HEAD, preview bots,
    crawlers), a coarse user-agent class, the time, and the link's campaign, variant, recipient and target."""
    with closing(open_journal(journal_url)) as store:
        yield from read_link_rows(store, "link_clicks", cursor.last_value or 0, page_size)


@dlt.resource(
    name="tracked_links",
    write_disposition="merge",
    primary_key="code",
    columns=_columns(journal_seq="seq", code="key", campaign_id="text", variant="text", recipient="text",
                     target="text", created_at="ts"),
)
def tracked_links(
    journal_url: str,
    page_size: int = JOURNAL_PAGE_SIZE,
    cursor: dlt.sources.incremental[int] = dlt.sources.incremental(SEQUENCE_COLUMN, initial_value=0, range_start="open"),
) -> Iterator[Any]:
    """The tracked links campaigns recorded: one per recipient and target (the recipients with a link)."""
    with closing(open_journal(journal_url)) as store:
        yield from read_link_rows(store, "links", cursor.last_value or 0, page_size)


# --- through the API ----------------------------------------------------------------------------------


def customers_resource(client: Any, only: Sequence[str] | None) -> DltResource:
    """The customers resource (the parent of the per-customer resources)."""

    @dlt.resource(
        name="customers",
        write_disposition="replace",
        primary_key="customer_id",
        columns=_model_columns(models.Customer),
    )
    def customers() -> Iterator[list[dict[str, Any]]]:
        """The customers the credentials may act for."""
        with client() as api:
            found = [customer.model_dump() for customer in api.get_user_customers()]
        if only:
            missing = set(only) - {row["customer_id"] for row in found}
            if missing:
                raise UsageError(f"unknown customer(s) for these credentials: {', '.join(sorted(missing))}")
            found = [row for row in found if row["customer_id"] in only]
        yield found

    return customers()


def _per_customer(client: Any, name: str, primary_key: list[str], columns: dict[str, dict[str, Any]],
                  rows_of: Callable[[SmartDialogClient, str], Iterable[dict[str, Any]]]) -> DltResource:
    """A transformer of the customers resource, replaced on every run: `rows_of(api, customer_id)` for each
    customer, every row with its `customer_id`."""

    @dlt.transformer(name=name, write_disposition="replace", primary_key=primary_key, columns=columns)
    def read(customer_rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        with client() as api:
            for customer in customer_rows:
                customer_id = customer["customer_id"]
                yield [{"customer_id": customer_id, **row} for row in rows_of(api, customer_id)]

    return read


def services(client: Any) -> DltResource:
    """Services of every type (OneWay, TwoWay, Group) of each customer."""
    return _per_customer(
        client, "services", ["customer_id", "service_type", "id"],
        _columns(customer_id="key", service_type="key") | _model_columns(models.Service),
        lambda api, customer_id: ({"service_type": kind, **service.model_dump()}
                                  for kind, service in api.get_customer_services_of_every_type(customer_id)),
    )


def whatsapp_templates(client: Any) -> DltResource:
    """The WhatsApp templates of each customer."""
    return _per_customer(
        client, "whatsapp_templates", ["customer_id", "id"],
        _columns(customer_id="key") | _model_columns(models.WhatsAppTemplate),
        lambda api, customer_id: (template.model_dump() for template in api.get_customer_whatsapp_templates(customer_id)),
    )


def whatsapp_identities(client: Any) -> DltResource:
    """The WhatsApp identity numbers of each customer."""
    return _per_customer(
        client, "whatsapp_identities", ["customer_id", "identity"], _columns(customer_id="key", identity="key"),
        lambda api, customer_id: ({"identity": number} for number in api.get_customer_whatsapp_identities(customer_id)),
    )


def template_categories(client: Any) -> DltResource:
    """The categories a WhatsApp template may have."""

    @dlt.resource(name="template_categories", write_disposition="replace", primary_key="category",
                  columns=_columns(category="key"))
    def read() -> Iterator[list[dict[str, Any]]]:
        with client() as api:
            yield [{"category": category} for category in api.get_whatsapp_template_categories()]

    return read()


def phone_number_regions(client: Any) -> DltResource:
    """The regions SmartDialog parses phone numbers in."""

    @dlt.resource(name="phone_number_regions", write_disposition="replace", primary_key="value",
                  columns=_model_columns(models.PhoneNumberRegion))
    def read() -> Iterator[list[dict[str, Any]]]:
        with client() as api:
            yield [region.model_dump() for region in api.get_phone_number_regions()]

    return read()


def group_contacts(client: Any, targets: Any, max_calls: int) -> DltResource:
    """Group contacts read back one phone at a time (GetGroupContact), stalest first, within `max_calls`.

    A phone the group no longer holds is written with `present` false. The last read time of each phone
    is kept in the resource state.
    """

    @dlt.resource(
        name="group_contacts",
        write_disposition="merge",
        primary_key=["customer", "group_service", "phone"],
        columns=_columns(customer="key", group_service="key", phone="key", present="bool", read_at="ts")
        | _model_columns(models.GroupContactRecord, exclude=["phone"]),
    )
    def read() -> Iterator[dict[str, Any]]:
        last_read: dict[str, str] = dlt.current.resource_state().setdefault("last_read_at", {})
        wanted = targets()
        for key in set(last_read) - {target.key for target in wanted}:
            del last_read[key]  # phones no longer managed
        chosen = stalest_first(wanted, last_read, max_calls)
        if not chosen:
            return
        with client() as api:
            for target in chosen:
                record = api.get_group_contact(target.customer, target.group_service, target.phone)
                read_at = utc_now()
                last_read[target.key] = read_at.isoformat()
                fields = record.model_dump(exclude={"phone"}) if record is not None else {}
                yield {
                    "customer": target.customer, "group_service": target.group_service, "phone": target.phone,
                    "present": record is not None, "read_at": read_at, **fields,
                }

    return read()


# --- from the campaign ledger -------------------------------------------------------------------------


def campaigns(ledger: str | Path) -> DltResource:
    """The ledger's campaigns with what names them for a person: channel, message start or template name."""

    @dlt.resource(
        name="campaigns",
        write_disposition="merge",
        primary_key="campaign_id",
        columns=_columns(
            campaign_id="key", protocol="text", customer_id="text", service_id="text", content_start="text",
            template_name="text", created_at="ts",
        ),
    )
    def read() -> Iterator[list[dict[str, Any]]]:
        from smartdialog_sync.destinations.campaigns.ledger import read_campaign_names

        rows = read_campaign_names(ledger)
        if rows:
            yield rows

    return read()


def sent_messages(ledger: str | Path, page_size: int = JOURNAL_PAGE_SIZE) -> DltResource:
    """What `sdsync send` sent: the ledger's sent_messages table, a file or in the shared state (empty when
    there is no ledger yet). Incremental on `ledger_rowid` (SQLite's rowid, PostgreSQL's seq: commit order)."""

    @dlt.resource(
        name="sent_messages",
        write_disposition="merge",
        primary_key=["campaign_id", "address"],
        columns=_columns(
            ledger_rowid="seq", campaign_id="key", address="key", batch_no="bigint", request_id="text",
            message_id="text", recipient_id="text", parts="bigint", sent_at="ts", protocol="text", service_id="text",
            scheduled_for="ts", variant="text",
        ),
    )
    def read(
        cursor: dlt.sources.incremental[int] = dlt.sources.incremental("ledger_rowid", initial_value=0, range_start="open"),
    ) -> Iterator[list[dict[str, Any]]]:
        yield from read_sent_messages(ledger, cursor.last_value or 0, page_size)

    return read()


def campaign_assignments(ledger: str | Path) -> DltResource:
    """Every eligible recipient of the campaigns with A/B variants or a holdout, with its arm (`variant`, `held_out`):
    the held-out recipients were never sent to, so only this table knows them. Each campaign is read once (its
    assignment is written in the commit that plans it); the resource state keeps the campaigns read."""

    @dlt.resource(
        name="campaign_assignments",
        write_disposition="merge",
        primary_key=["campaign_id", "address"],
        columns=_columns(campaign_id="key", address="key", variant="text", held_out="bool"),
    )
    def read() -> Iterator[list[dict[str, Any]]]:
        from smartdialog_sync.destinations.campaigns.ledger import assignments_reader

        state = dlt.current.resource_state()
        known: list[str] = state.setdefault("campaigns_read", [])
        with assignments_reader(ledger) as campaigns_of:
            if campaigns_of is None:
                return
            for campaign_id, rows in campaigns_of(set(known)):
                yield rows
                known.append(campaign_id)

    return read()
