"""The apply side of the contact reverse sync: the operation journal, replayed through the one API client.

Why not dlt's `@dlt.destination` sink: dlt re-delivers a whole failed batch (at-least-once), retries it
5 times a second apart regardless of Retry-After, and a pending package blocks new extraction. None of
that buys anything here: the plan already lives in DuckDB, and the API client already has the one
limiter and the one retry policy. So the apply side is a plain loop over the journal (`contact_ops`):

* the plan is committed before the first call;
* each op is committed `inflight` before its call and `done` after the 2xx, in the same transaction as
  the contact's new hash in `contact_state`;
* an op found `inflight` on a later run has an unknown outcome: `reconcile_inflight` GETs the contact
  and records what is really there, then the fresh plan does only what is still missing;
* creates are never repeated blindly: a create that may have happened (`OutcomeUnknown`) is settled with
  a GET, and the service keys contacts by E.164 phone, so a create of an existing phone answers 409 and
  becomes an update. PUT and DELETE are idempotent and may simply be repeated.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from smartdialog_sync.api import SmartDialogClient, models
from smartdialog_sync.errors import (
    ApiError,
    BadRequest,
    Conflict,
    NotFound,
    OutcomeUnknown,
    RequestInvalid,
    SmartDialogError,
)

from .state import ContactStateStore, Operation

# Fields GetGroupContact does not echo back; they are left out when comparing a stored contact.
_NOT_ECHOED = ("phone", "phoneNumberRegions")


class StopRun(RuntimeError):
    """The service cannot take more now (throttled, failing, unreachable, refusing credentials).

    Ops not yet done stay in the journal; the next run resumes them.
    """


@dataclass
class ApplyTally:
    """What an apply pass did."""

    done: int = 0
    rejected: int = 0
    results: Counter[str] = field(default_factory=Counter)
    call_budget_reached: bool = False


OpCallback = Callable[[Operation, str], None]


def _wire(payload: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in payload.items() if value is not None}


def matches(record: models.GroupContactRecord, payload: dict[str, Any]) -> bool:
    """Whether the contact the service holds carries every field `payload` sends."""
    stored = record.model_dump(mode="json", by_alias=True)
    return all(stored.get(name) == value for name, value in _wire(payload).items() if name not in _NOT_ECHOED)


def _is_rejection(exc: SmartDialogError) -> bool:
    """A refusal of this one contact (the run goes on), as opposed to a reason to stop the run.

    A 404 that survives the create/update fallbacks means the customer or group service is unknown:
    every other op would fail the same way, so it stops the run.
    """
    if isinstance(exc, (BadRequest, RequestInvalid)):
        return True
    return (isinstance(exc, ApiError) and exc.status is not None and 400 <= exc.status < 500
            and exc.status not in (401, 403, 404, 429))


class ContactApplier:
    """Applies journal ops to one group service, exactly once per op."""

    def __init__(self, api: SmartDialogClient, store: ContactStateStore, customer: str, group_service: str) -> None:
        self.api = api
        self.store = store
        self.customer = customer
        self.group_service = group_service

    # --- recovery --------------------------------------------------------------------------------------

    def reconcile_inflight(self, on_op: OpCallback | None = None) -> int:
        """Settle the ops an earlier run left in flight by reading the contact back; return how many."""
        ops = self.store.inflight_ops(self.customer, self.group_service)
        for op in ops:
            try:
                record = self._get(op.phone)
            except SmartDialogError as exc:
                raise StopRun(f"reconciling {op.op} {op.phone}: {exc}") from None
            if record is None:
                applied, content_hash = op.op == "delete", None
            elif op.payload is not None and matches(record, op.payload):
                applied, content_hash = True, op.hash
            else:
                applied, content_hash = False, None
            self.store.settle_inflight(op, self.customer, self.group_service, applied, record is not None, content_hash)
            if on_op:
                on_op(op, "reconciled")
        return len(ops)

    # --- the apply loop --------------------------------------------------------------------------------

    def apply(self, ops: Iterable[Operation], max_calls: int | None = None, on_op: OpCallback | None = None) -> ApplyTally:
        """Apply `ops` in order until done or `max_calls` API calls have been made; raise StopRun on failure."""
        tally = ApplyTally()
        first_call = self.api.stats.calls
        for op in ops:
            if max_calls is not None and self.api.stats.calls - first_call >= max_calls:
                tally.call_budget_reached = True
                break
            self.store.mark_inflight(op)
            try:
                result = self._apply_one(op)
            except OutcomeUnknown as exc:
                raise StopRun(f"{op.op} {op.phone}: {exc} (left in flight, reconciled on the next run)") from None
            except SmartDialogError as exc:
                if not _is_rejection(exc):
                    self.store.mark_interrupted(op, str(exc))
                    raise StopRun(f"{op.op} {op.phone}: {exc}") from None
                self.store.mark_rejected(op, self.customer, self.group_service, exc.detail or str(exc))
                tally.rejected += 1
                tally.results["rejected"] += 1
                if on_op:
                    on_op(op, "rejected")
                continue
            self.store.mark_done(op, self.customer, self.group_service, result)
            tally.done += 1
            tally.results[result] += 1
            if on_op:
                on_op(op, result)
        return tally

    def _apply_one(self, op: Operation) -> str:
        if op.op == "create":
            return self._create(op)
        if op.op == "update":
            return self._update(op)
        return self._delete(op)

    # --- one op each -----------------------------------------------------------------------------------

    def _create(self, op: Operation, settle_unknown: bool = True) -> str:
        assert op.payload is not None
        try:
            self.api.create_group_contact(self.customer, self.group_service, _wire(op.payload))
            return "created"
        except Conflict:
            self._put(op)
            return "existed: updated"
        except BadRequest:
            if self._get(op.phone) is None:
                raise
            self._put(op)
            return "existed: updated"
        except OutcomeUnknown:
            if not settle_unknown:
                raise
            return self._settle_unknown_create(op)

    def _settle_unknown_create(self, op: Operation) -> str:
        """A create whose outcome is unknown: read the contact back instead of creating it again blindly."""
        assert op.payload is not None
        record = self._get(op.phone)
        if record is None:
            return self._create(op, settle_unknown=False)
        if matches(record, op.payload):
            return "created (confirmed by read)"
        self._put(op)
        return "existed: updated"

    def _update(self, op: Operation) -> str:
        try:
            if self._put(op):
                return "updated"
        except NotFound:
            pass
        try:
            self.api.create_group_contact(self.customer, self.group_service, _wire(op.payload or {}))
            return "missing: created"
        except Conflict:
            self._put(op)
            return "updated"
        except OutcomeUnknown:
            return self._settle_unknown_create(op)

    def _delete(self, op: Operation) -> str:
        try:
            return "deleted" if self.api.delete_group_contact(self.customer, self.group_service, op.phone) else "already gone"
        except NotFound:
            return "already gone"

    def _put(self, op: Operation) -> bool:
        return self.api.update_group_contact(self.customer, self.group_service, op.phone, _wire(op.payload or {}))

    def _get(self, phone: str) -> models.GroupContactRecord | None:
        return self.api.get_group_contact(self.customer, self.group_service, phone)
