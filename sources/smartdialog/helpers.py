"""Helpers of the `smartdialog` dlt source: journal rows as Arrow tables, group-contact targets, the ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from smartdialog_sync.errors import UsageError
from smartdialog_sync.journal import LINK_CLICK_COLUMNS, LINK_COLUMNS, JournalStore

# --- the journal --------------------------------------------------------------------------------------

TIMESTAMP = pa.timestamp("us", tz="UTC")
SEQUENCE_COLUMN = "journal_seq"

INBOUND_SCHEMA = pa.schema(
    [
        pa.field(SEQUENCE_COLUMN, pa.int64(), nullable=False),
        pa.field("message_id", pa.string(), nullable=False),
        ("sender", pa.string()),
        ("recipient", pa.string()),
        ("content", pa.string()),
        ("protocol", pa.string()),
        ("timestamp", TIMESTAMP),
        ("attachment_count", pa.int64()),
        ("received_at", TIMESTAMP),
    ]
)
ATTACHMENT_SCHEMA = pa.schema(
    [
        pa.field(SEQUENCE_COLUMN, pa.int64(), nullable=False),
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("position", pa.int64(), nullable=False),
        ("name", pa.string()),
        ("mime_type", pa.string()),
        ("resource_location", pa.string()),
    ]
)
DLR_SCHEMA = pa.schema(
    [
        pa.field(SEQUENCE_COLUMN, pa.int64(), nullable=False),
        pa.field("dlr_key", pa.string(), nullable=False),
        pa.field("message_id", pa.string(), nullable=False),
        ("recipient_id", pa.string()),
        ("address", pa.string()),
        ("status", pa.string()),
        ("status_time", TIMESTAMP),
        ("error_code", pa.string()),
        ("query", pa.string()),
        ("received_at", TIMESTAMP),
    ]
)


def _timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column.cast(pa.int64()).cast(TIMESTAMP)


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column.cast(pa.string())


def inbound_tables(raw: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Journal inbound rows (Arrow, journal column names) as (messages, attachments) Arrow tables."""
    attachments_json = raw.column("attachments").cast(pa.string())
    with_attachments = pc.indices_nonzero(pc.is_valid(attachments_json))
    counts = np.zeros(raw.num_rows, dtype=np.int64)
    attachment_rows: dict[str, list[Any]] = {name: [] for name in ATTACHMENT_SCHEMA.names}
    for index, row_seq, row_id, text in zip(
        with_attachments.to_pylist(),
        raw.column("seq").take(with_attachments).to_pylist(),
        raw.column("message_id").take(with_attachments).to_pylist(),
        attachments_json.take(with_attachments).to_pylist(),
    ):
        items = json.loads(text)
        counts[index] = len(items)
        for position, item in enumerate(items):
            values = (row_seq, row_id, position, item.get("name"), item.get("mimeType"), item.get("resourceLocation"))
            for name, value in zip(ATTACHMENT_SCHEMA.names, values):
                attachment_rows[name].append(value)
    messages = pa.Table.from_arrays(
        [
            raw.column("seq").cast(pa.int64()),
            _text(raw.column("message_id")),
            _text(raw.column("sender")),
            _text(raw.column("recipient")),
            _text(raw.column("content")),
            _text(raw.column("protocol")),
            _timestamps(raw.column("sent_at_us")),
            pa.array(counts),
            _timestamps(raw.column("received_at_us")),
        ],
        schema=INBOUND_SCHEMA,
    )
    return messages, pa.Table.from_pydict(attachment_rows, schema=ATTACHMENT_SCHEMA)


def dlr_table(raw: pa.Table) -> pa.Table:
    """Journal delivery report rows (Arrow, journal column names) as an Arrow table."""
    arrays = [
        _timestamps(raw.column(source)) if field.type == TIMESTAMP else raw.column(source).cast(field.type)
        for field, source in zip(DLR_SCHEMA, raw.column_names)
    ]
    return pa.Table.from_arrays(arrays, schema=DLR_SCHEMA)


def keyset_pages(read: Callable[[int, int], Any], after: int, page_size: int, last_key: Callable[[Any], int]) -> Iterator[Any]:
    """Pages from `read(after, limit)` until a short page; `last_key(page)` is the next `after`."""
    while True:
        page = read(after, page_size)
        if not len(page):
            return
        yield page
        if len(page) < page_size:
            return
        after = last_key(page)


def _last_seq(table: pa.Table) -> int:
    return int(table.column("seq")[-1].as_py())


def read_inbound(store: JournalStore, after_seq: int, page_size: int) -> Iterator[tuple[pa.Table, pa.Table]]:
    """(messages, attachments) Arrow tables of the inbound messages journaled after `after_seq`."""
    read = partial(store.read_arrow, "inbound")
    for raw in keyset_pages(read, after_seq, page_size, _last_seq):
        yield inbound_tables(raw)


def read_delivery_reports(store: JournalStore, after_seq: int, page_size: int) -> Iterator[pa.Table]:
    """Arrow tables of the delivery reports journaled after `after_seq`."""
    for raw in keyset_pages(partial(store.read_arrow, "dlr"), after_seq, page_size, _last_seq):
        yield dlr_table(raw)


def read_link_rows(store: JournalStore, table: str, after_seq: int, page_size: int) -> Iterator[list[dict[str, Any]]]:
    """Pages of the journal's tracked links (`table` "links") or their clicks ("link_clicks") after `after_seq`,
    as rows with `journal_seq` and UTC times (`created_at`, `clicked_at`)."""
    names = [SEQUENCE_COLUMN if name == "seq" else name.removesuffix("_us")
             for name in (LINK_CLICK_COLUMNS if table == "link_clicks" else LINK_COLUMNS)]

    def read(after: int, limit: int) -> list[dict[str, Any]]:
        rows = [dict(zip(names, row)) for row in store.read_link_rows(table, after, limit)]
        for row in rows:
            for name in ("created_at", "clicked_at"):
                if name in row:
                    row[name] = datetime.fromtimestamp(row[name] / 1_000_000, timezone.utc)
        return rows

    yield from keyset_pages(read, after_seq, page_size, lambda rows: rows[-1][SEQUENCE_COLUMN])


# --- group contacts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactTarget:
    """A phone to read with GetGroupContact."""

    customer: str
    group_service: str
    phone: str

    @property
    def key(self) -> str:
        """The key of its last-read time in the resource state."""
        return f"{self.customer}/{self.group_service}/{self.phone}"


def targets_from_phones(phones: Sequence[str], customer: str | None, group_service: str | None) -> list[ContactTarget]:
    """Targets for an explicit list of phones (all in one customer's group service)."""
    if phones and not (customer and group_service):
        raise UsageError("a list of phones needs the customer and the group service")
    return [ContactTarget(customer, group_service, phone) for phone in phones]  # type: ignore[arg-type]


def targets_from_query(url: str, query: str, customer: str | None, group_service: str | None) -> list[ContactTarget]:
    """Targets from the user's read-only SQL query over a SQLAlchemy URL (see smartdialog_sync.crm_query).

    The query returns a `phone` column, plus `customer` and `group_service` columns unless both are given.
    """
    from smartdialog_sync.crm_query import read_crm_rows

    columns, rows = read_crm_rows(url, query, what="the phones query")
    lowered = [column.lower() for column in columns]
    targets = []
    for row in rows:
        values = dict(zip(lowered, row))
        row_customer = values.get("customer") or customer
        row_group = values.get("group_service") or group_service
        if not (values.get("phone") and row_customer and row_group):
            raise ValueError("the phone query must return phone (and customer, group_service unless given)")
        targets.append(ContactTarget(str(row_customer), str(row_group), str(values["phone"])))
    return targets


def targets_from_contact_state(state: Path | str, customer: str | None,
                               group_service: str | None) -> list[ContactTarget]:
    """The phones that `sdsync contacts sync` manages, read from its state wherever it is (a DuckDB file or
    the shared PostgreSQL); none when there is no state yet."""
    from smartdialog_sync.destinations.contacts.state import managed_phones

    rows = managed_phones(state)
    return [
        ContactTarget(*row)
        for row in rows
        if (customer is None or row[0] == customer) and (group_service is None or row[1] == group_service)
    ]


def stalest_first(targets: Sequence[ContactTarget], last_read: dict[str, str], budget: int | None) -> list[ContactTarget]:
    """Never-read targets first, then by oldest read; at most `budget` of them (all when None)."""
    unique = list(dict.fromkeys(targets))
    ordered = sorted(unique, key=lambda target: last_read.get(target.key, ""))
    return ordered if budget is None else ordered[: max(budget, 0)]


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(timezone.utc)


# --- the campaign ledger ------------------------------------------------------------------------------

def read_sent_messages(ledger: str | Path, after_rowid: int, page_size: int) -> Iterator[list[dict[str, Any]]]:
    """Pages of the campaign ledger's sent_messages rows after `after_rowid`, read-only, wherever the ledger is
    (a SQLite file or the shared PostgreSQL); nothing when there is no ledger there yet."""
    from smartdialog_sync.destinations.campaigns.ledger import sent_messages_reader

    with sent_messages_reader(ledger) as read:
        if read is not None:
            yield from keyset_pages(read, after_rowid, page_size, lambda rows: rows[-1]["ledger_rowid"])
