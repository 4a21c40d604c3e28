"""`sdsync reply` as a library job: a reply is sent at most once, whatever is rerun or killed.

SendDiscussionReplyMessage carries no RequestId, so the service cannot cancel a repeat, and SendReplyMessage's
RequestId is remembered only 7 days ("no guarantee in high throughput"). So every reply has an id (its
`--request-id`, else a digest of the reply) and a row in the state's `reply_records` (a local SQLite file in
the data dir, or the shared PostgreSQL): `in_flight` is committed before the call, `sent` (with the MessageId)
or `failed` (refused or never reached the service: nothing sent) after it. A rerun of a sent reply sends
nothing. A reply left `in_flight` (a dropped connection, a 5xx, a kill between the record and the answer) is
*uncertain*: it is never sent again under that id (ReplyUncertain, exit 1, says how to settle it).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from smartdialog_sync.api import ClientSettings, SmartDialogClient, errors, models
from smartdialog_sync.errors import EXIT_FAILURE, SdsyncError, UsageError
from smartdialog_sync.phones import InvalidPhoneNumber, normalize_phone
from smartdialog_sync.sqlfiles import read_named_sql
from smartdialog_sync.state.location import hide_password
from smartdialog_sync.state.migration import StateConflict, StoreMigration

from .ledger import utc_now
from .request import check_common_fields
from .results import duplicate_of
from .sender import REFUSED_AS_IS

REPLY = "SendReplyMessage"
DISCUSSION_REPLY = "SendDiscussionReplyMessage"
COLUMNS = ("reply_id", "operation", "customer_id", "fingerprint", "status", "message_id", "error", "attempted_at",
           "updated_at")


class ReplyUncertain(SdsyncError):
    """A reply's call got no answer (or its run was killed): it may have been sent, so it is not sent again."""

    exit_code = EXIT_FAILURE


class ReplyNotSent(SdsyncError):
    """The service refused the reply, or it never reached the service: nothing was sent."""

    exit_code = EXIT_FAILURE


def _digest(values: Sequence[object]) -> str:
    return hashlib.sha256(json.dumps(list(values), ensure_ascii=False).encode()).hexdigest()


def reply_request_id(*values: object) -> str:
    """An id derived from the reply itself, so running the same reply twice sends it once."""
    return "sdsync:reply:" + _digest(values)[:32]


@dataclass(frozen=True)
class Reply:
    """One reply: into a discussion thread (`thread_id`), or to a message (`parent_message_id` with its service,
    sender and E.164 `addresses`). `request_id` is the reply's id (derived from the reply when None)."""

    customer_id: str
    content: str
    thread_id: str | None = None
    parent_message_id: str | None = None
    service_id: str | None = None
    sender: str | None = None
    addresses: tuple[str, ...] = ()
    customer_data: str | None = None
    request_id: str | None = None

    @classmethod
    def of_options(cls, customer_id: str, content: str, *, parent_message_id: str | None = None,
                   service_id: str | None = None, sender: str | None = None, to: Sequence[str] = (),
                   thread_id: str | None = None, customer_data: str | None = None,
                   request_id: str | None = None) -> Reply:
        """The reply of `sdsync reply`'s options: exactly one of `thread_id` and `parent_message_id` (which needs
        the service, the sender and at least one number, normalised to E.164); UsageError (exit 2) otherwise."""
        check_common_fields(customer_data, None)
        if bool(parent_message_id) == bool(thread_id):
            raise UsageError("give exactly one of --parent-message-id and --thread-id")
        if thread_id:
            if service_id or sender or to:
                raise UsageError("--service, --sender and --to go with --parent-message-id, not --thread-id")
            return cls(customer_id, content, thread_id=thread_id, customer_data=customer_data, request_id=request_id)
        if not (service_id and sender and to):
            raise UsageError("--parent-message-id needs --service, --sender and at least one --to")
        try:
            addresses = tuple(normalize_phone(number) for number in to)
        except InvalidPhoneNumber as exc:
            raise UsageError(f"--to: {exc}") from None
        return cls(customer_id, content, parent_message_id=parent_message_id, service_id=service_id, sender=sender,
                   addresses=addresses, customer_data=customer_data, request_id=request_id)

    @property
    def operation(self) -> str:
        """The API operation sending it."""
        return DISCUSSION_REPLY if self.thread_id else REPLY

    def _identity(self) -> list[object]:
        if self.thread_id:
            return ["discussion", self.customer_id, self.thread_id, self.content, self.customer_data]
        return [self.parent_message_id, self.customer_id, self.service_id, self.sender, self.content,
                sorted(set(self.addresses))]

    def reply_id(self) -> str:
        """`request_id`, else a digest of the reply (what the reply record is keyed on, the RequestId sent)."""
        return self.request_id or reply_request_id(*self._identity())

    def fingerprint(self) -> str:
        """A digest of everything sent: one reply id stands for one reply."""
        return _digest([*self._identity(), self.customer_data])

    def request(self) -> models.DiscussionReplyRequest | models.SendMessageRequest:
        """The request body, validated (UsageError naming the field otherwise)."""
        try:
            if self.thread_id:
                return models.DiscussionReplyRequest(thread_id=self.thread_id, content=self.content,
                                                     customer_data=self.customer_data)
            return models.SendMessageRequest(
                sender=self.sender or "", content=self.content, customer_data=self.customer_data,
                recipients=[models.Recipient(address=a) for a in dict.fromkeys(self.addresses)],
                request_id=self.reply_id(),
            )
        except ValidationError as exc:
            raise UsageError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None


@dataclass(frozen=True)
class ReplyRecord:
    """A row of reply_records."""

    reply_id: str
    operation: str
    customer_id: str
    fingerprint: str
    status: Literal["in_flight", "sent", "failed"]
    message_id: str | None
    error: str | None
    attempted_at: str
    updated_at: str


class ReplyRecords:
    """The reply record at a target from `StateLocation.replies()`: a SQLite file Path or a postgresql:// URL."""

    def __init__(self, target: str | Path) -> None:
        self.target = target
        self.dialect = "sqlite" if isinstance(target, Path) else "postgres"
        self._sql = read_named_sql(f"reply_records_{self.dialect}.sql")
        if isinstance(target, Path):
            self._sqlite = _open_sqlite(target, self._sql["schema"])
        else:
            self._engine = _open_postgres(target, self._sql["schema"])

    def _run(self, name: str, params: dict[str, Any] | None = None) -> tuple[int, list[tuple[Any, ...]]]:
        """Run one statement in a transaction of its own (committed durably): changed rows and result rows."""
        if self.dialect == "sqlite":
            with self._sqlite:  # one transaction, committed on exit
                cursor = self._sqlite.execute(self._sql[name], params or {})
                return cursor.rowcount, cursor.fetchall()
        import sqlalchemy as sa

        from smartdialog_sync.state.postgres import unavailable

        try:
            with self._engine.begin() as connection:
                result = connection.execute(sa.text(self._sql[name]), params or {})
                return result.rowcount, [tuple(row) for row in result] if result.returns_rows else []
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise unavailable(str(self.target), exc) from None

    def find(self, reply_id: str) -> ReplyRecord | None:
        """The record of `reply_id`, or None."""
        rows = self._run("find", {"reply_id": reply_id})[1]
        return ReplyRecord(*rows[0]) if rows else None

    def start(self, reply: Reply) -> bool:
        """Record the reply `in_flight` before its call; False when it is already in flight or sent (or differs)."""
        changed, _ = self._run("start", {"reply_id": reply.reply_id(), "operation": reply.operation,
                                         "customer_id": reply.customer_id, "fingerprint": reply.fingerprint(),
                                         "now": utc_now()})
        return changed == 1

    def finish(self, reply_id: str, status: Literal["sent", "failed"], message_id: str | None = None,
               error: str | None = None) -> None:
        """Record the call's outcome after it."""
        self._run("finish", {"reply_id": reply_id, "status": status, "message_id": message_id, "error": error,
                             "now": utc_now()})

    def export(self) -> list[tuple[Any, ...]]:
        """Every row, in COLUMNS order (for `sdsync state migrate`)."""
        return self._run("export")[1]

    def close(self) -> None:
        """Close the connection."""
        if self.dialect == "sqlite":
            self._sqlite.close()
        else:
            self._engine.dispose()


def _open_sqlite(path: Path, schema: str) -> sqlite3.Connection:
    """The record file: WAL, synchronous=FULL (a commit survives kill -9 and power loss), private (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        path.touch(mode=0o600, exist_ok=True)
        db = sqlite3.connect(path, timeout=30, isolation_level="DEFERRED")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(schema)
        return db
    except (OSError, sqlite3.DatabaseError) as exc:
        raise SdsyncError(f"cannot open the reply record {path}: {exc}") from None


def _open_postgres(url: str, schema: str) -> Any:
    import sqlalchemy as sa

    from smartdialog_sync.state.postgres import ensure_schema, state_engine, unavailable

    engine = state_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            ensure_schema(connection, schema)
    except sa.exc.SQLAlchemyError as exc:  # the driver's error: one line naming the database
        engine.dispose()
        raise unavailable(url, exc) from None
    return engine


@dataclass(frozen=True)
class ReplyOutcome:
    """What `send_reply` did: `sent` now, or `already_sent` (by an earlier run, or recognised by the service)."""

    reply_id: str
    status: Literal["sent", "already_sent"]
    message_id: str | None
    result: models.SendResult | None = None


def _uncertain(reply_id: str, since: str, why: str) -> ReplyUncertain:
    return ReplyUncertain(
        f"reply {reply_id} is uncertain: its call at {since} {why}, so it may have been sent and is never sent "
        "again under this id. Check the thread in SmartDialog; only if the reply is not there, send it with a new "
        "--request-id"
    )


def _already(record: ReplyRecord, reply: Reply) -> ReplyOutcome:
    """A rerun of a recorded reply: sent → nothing to do; in flight → uncertain; a different reply → refused."""
    if record.fingerprint != reply.fingerprint():
        raise UsageError(f"reply id {record.reply_id} was used on {record.attempted_at} for a different reply; "
                         "give a new --request-id")
    if record.status == "sent":
        return ReplyOutcome(record.reply_id, "already_sent", record.message_id)
    raise _uncertain(record.reply_id, record.attempted_at, "got no answer (or its run was stopped)")


def send_reply(client_settings: ClientSettings, reply: Reply) -> ReplyOutcome:
    """Send `reply` at most once: recorded in the state before the call and after it.

    Raises UsageError (exit 2) for a bad reply or a reply id reused for a different reply, ReplyUncertain
    (exit 1, nothing sent) for a reply whose earlier call may have been sent, ReplyNotSent (exit 1) when the
    service refused it or could not be reached (the message says whether a rerun can succeed).
    """
    request = reply.request()
    reply_id = reply.reply_id()
    records = ReplyRecords(client_settings.state.replies())
    try:
        existing = records.find(reply_id)
        if existing is not None and existing.status != "failed":
            return _already(existing, reply)
        # the client is made before the reply is recorded in flight: one that cannot start (credentials, the
        # limiter's store) has sent nothing, and must not leave the reply uncertain
        with SmartDialogClient(client_settings) as api:
            if not records.start(reply):  # a different reply under this id, or another run got here first
                return _already(records.find(reply_id), reply)  # type: ignore[arg-type]
            return _call(api, reply, request, records)
    finally:
        records.close()


def _call(api: SmartDialogClient, reply: Reply, request: Any, records: ReplyRecords) -> ReplyOutcome:
    """Make the reply's one call and record its outcome."""
    reply_id = reply.reply_id()
    try:
        if reply.thread_id:
            result = api.send_discussion_reply_message(reply.customer_id, request)
        else:
            result = api.send_reply_message(reply.parent_message_id or "", reply.customer_id,
                                            reply.service_id or "", request)
    except errors.RequestInvalid as exc:  # the client refused the body before sending it: nothing sent
        records.finish(reply_id, "failed", error=str(exc))
        raise
    except (errors.OutcomeUnknown, errors.ServerError) as exc:
        raise _uncertain(reply_id, utc_now(), f"ended without a confirmed outcome ({exc})") from None
    except (errors.RateLimited, errors.TransportError) as exc:
        records.finish(reply_id, "failed", error=str(exc))
        raise ReplyNotSent(f"{exc}. The reply was not sent: run the same command again later") from None
    except errors.ApiError as exc:
        duplicate = duplicate_of(exc) if reply.parent_message_id else None
        if duplicate is not None:
            records.finish(reply_id, "sent", duplicate.message_id)
            return ReplyOutcome(reply_id, "already_sent", duplicate.message_id)
        records.finish(reply_id, "failed", error=str(exc))
        if exc.status in REFUSED_AS_IS:
            raise ReplyNotSent(f"{exc}. The reply was not sent: the service refuses it as it is, fix it first") from None
        raise ReplyNotSent(f"{exc}. The reply was not sent: fix the cause, then run the same command again") from None
    records.finish(reply_id, "sent", result.message_id)
    return ReplyOutcome(reply_id, "sent", result.message_id, result)


def migrate_replies(source: Path, target_url: str) -> StoreMigration:
    """Copy the local reply record into the shared state's, in one transaction (`sdsync state migrate`).

    Idempotent: a row there with equal values is skipped; one there with different values raises
    StateConflict naming it, and nothing is written.
    """
    import sqlalchemy as sa

    label = str(source)
    local, shared = ReplyRecords(source), ReplyRecords(target_url)
    copied = there = 0
    try:
        rows = local.export()
        with shared._engine.begin() as connection:
            for row in rows:
                values = dict(zip(COLUMNS, row))
                found = connection.execute(sa.text(shared._sql["find"]), {"reply_id": values["reply_id"]}).fetchall()
                if found and tuple(found[0]) != tuple(row):
                    raise StateConflict(f"reply {values['reply_id']}: the target holds a different record under this "
                                        f"id ({hide_password(target_url)}); nothing of the reply record was copied")
                if found:
                    there += 1
                    continue
                connection.execute(sa.text(shared._sql["import"]), values)
                copied += 1
    finally:
        local.close()
        shared.close()
    return StoreMigration("reply record", label, {"reply_records": copied} if copied else {},
                          {"reply_records": there} if there else {})
