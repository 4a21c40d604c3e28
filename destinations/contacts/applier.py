"""The apply side of the contact reverse sync: the operation journal, replayed through the one API client.

Why not dlt's `@dlt.destination` sink: dlt re-delivers a whole failed batch (at-least-once), retries it
5 times a second apart regardless of Retry-After, and a pending package blocks new extraction. None of
that buys anything here: the plan already lives in the state (DuckDB or PostgreSQL), and the API client already has the one
limiter and the one retry policy. So the apply side is a plain loop over the journal (`contact_ops`):

* the plan is committed before the first call;
* ops are applied in groups: a group is committed `inflight` in one transaction before any of its calls,
  its calls run on a few worker threads (the limiter keeps them inside the rate limit), and the group's
  outcomes (`done` with each contact's new hash in `contact_state`, `rejected`, ...) are committed in one
  transaction after the last answer. A crash in between leaves the group `inflight`;
* an op found `inflight` on a later run has an unknown outcome: `reconcile_inflight` GETs the contact
  and records what is really there, then the fresh plan does only what is still missing;
* creates are never repeated blindly: a create whose outcome is unknown (`OutcomeUnknown`: a 5xx or a
  dropped answer) is settled in the run by reading the contact back, then creating or updating it,
  repeated with the retry policy's backoff while outcomes stay unknown. Only when that budget is spent is
  the op left in flight for the next run. The service keys contacts by E.164 phone, so a create of an
  existing phone answers 409 and becomes an update. PUT and DELETE are idempotent and may be repeated.
* the modes narrow that: in create-only a create that finds the contact there leaves it as it is (its
  content stays unknown to the state, so a later upsert updates it); in update-only an update that finds
  no contact (404) creates none: the op is rejected with reason no_contact.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any, Callable, Iterable

import stamina

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

from .state import NO_CONTACT, ContactStateStore, Operation, Outcome

# Fields GetGroupContact does not echo back; they are left out when comparing a stored contact.
_NOT_ECHOED = ("phone", "phoneNumberRegions")
DEFAULT_WORKERS = 4
DEFAULT_GROUP_SIZE = 64
LEFT_AS_IS = "existed: left as is (create-only)"


class _NoContact(Exception):
    """update-only: the group holds no contact with the op's phone (and none is created)."""


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


def _stop_message(outcome: Outcome) -> str:
    text = f"{outcome.op.op} {outcome.op.phone}: {outcome.error}"
    return text + " (left in flight, reconciled on the next run)" if outcome.status == "inflight" else text


class ContactApplier:
    """Applies journal ops to one group service, exactly once per op, `workers` calls at a time."""

    def __init__(self, api: SmartDialogClient, store: ContactStateStore, customer: str, group_service: str,
                 workers: int = DEFAULT_WORKERS, group_size: int = DEFAULT_GROUP_SIZE, mode: str = "upsert") -> None:
        self.api = api
        self.creates = mode != "update-only"
        self.updates_existing = mode != "create-only"
        self.store = store
        self.customer = customer
        self.group_service = group_service
        self.workers = max(1, workers)
        self.group_size = max(1, group_size)

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
        """Apply `ops` in order until done or about `max_calls` API calls have been made; raise StopRun on failure.

        Pipelined: while a group's calls run, the next group is committed in flight and the previous group's
        outcomes are committed, so the state's transactions do not hold the calls up.
        """
        tally = ApplyTally()
        first_call = self.api.stats.calls
        pending = iter(ops)
        started = 0

        def next_group(size: int) -> list[Operation]:
            nonlocal started
            if max_calls is not None:
                size = min(size, max_calls - max(started, self.api.stats.calls - first_call))
                if size <= 0:
                    tally.call_budget_reached = tally.call_budget_reached or next(pending, None) is not None
                    return []
            group = list(islice(pending, size))
            started += len(group)
            self.store.mark_inflight(group)
            return group

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="contacts-apply") as pool:
            group = next_group(1)  # the first op goes alone: a wrong group service or refused credentials cost one call
            running = [pool.submit(self._outcome, op) for op in group]
            while group:
                upcoming = next_group(self.group_size)
                outcomes = [future.result() for future in running]
                stop = next((outcome for outcome in outcomes if outcome.status not in ("done", "rejected")), None)
                if stop is None:
                    running = [pool.submit(self._outcome, op) for op in upcoming]
                self.store.record_outcomes(self.customer, self.group_service, outcomes)
                self._tally(outcomes, tally, on_op)
                if stop is not None:
                    self.store.mark_planned(upcoming)  # none of their calls was started
                    raise StopRun(_stop_message(stop))
                group = upcoming
        return tally

    @staticmethod
    def _tally(outcomes: list[Outcome], tally: ApplyTally, on_op: OpCallback | None) -> None:
        for outcome in outcomes:
            if outcome.status in ("done", "rejected"):
                tally.done += outcome.status == "done"
                tally.rejected += outcome.status == "rejected"
                tally.results[outcome.result or outcome.status] += 1
                if on_op:
                    on_op(outcome.op, outcome.result or outcome.status)

    def _outcome(self, op: Operation) -> Outcome:
        """Apply one op (on a worker thread) and say how it ended; the store is written by the caller."""
        try:
            result = self._apply_one(op)
        except _NoContact:
            return Outcome(op, "rejected", NO_CONTACT, NO_CONTACT)
        except OutcomeUnknown as exc:
            return Outcome(op, "inflight", error=str(exc))
        except SmartDialogError as exc:
            if _is_rejection(exc):
                return Outcome(op, "rejected", "rejected", exc.detail or str(exc))
            return Outcome(op, "interrupted", error=str(exc))
        if result == LEFT_AS_IS:  # the contact is there with content of its own: unknown to the state
            return Outcome(replace(op, hash=None, raw_hash=None), "done", result)
        return Outcome(op, "done", result)

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
            return self._existed(op)
        except BadRequest:
            if self._get(op.phone) is None:
                raise
            return self._existed(op)
        except OutcomeUnknown:
            if not settle_unknown:
                raise
            return self._settle_unknown_create(op)

    def _settle_unknown_create(self, op: Operation) -> str:
        """A create whose outcome is unknown: read the contact back, then create or update it; repeated with
        the retry policy's backoff while outcomes stay unknown.

        Raises OutcomeUnknown (the op stays in flight for the next run) once that budget is spent, or when the
        service stays unavailable for a read or an update beyond the client's own retries.
        """
        assert op.payload is not None
        policy = self.api.retry
        try:
            for attempt in stamina.retry_context(on=OutcomeUnknown, attempts=policy.attempts, timeout=None,
                                                 wait_initial=policy.wait_initial, wait_max=policy.wait_max,
                                                 wait_jitter=policy.wait_jitter):
                with attempt:
                    record = self._get(op.phone)
                    if record is None:
                        return self._create(op, settle_unknown=False)
                    if matches(record, op.payload):
                        return "created (confirmed by read)"
                    return self._existed(op)
        except SmartDialogError as exc:
            if isinstance(exc, OutcomeUnknown) or _is_rejection(exc):
                raise
            raise OutcomeUnknown(exc.operation, f"settling an unknown create failed: {exc}") from None
        raise AssertionError("unreachable: the retry loop returns or raises")

    def _existed(self, op: Operation) -> str:
        """A create found the contact there: update it, or (create-only) leave it as it is."""
        if not self.updates_existing:
            return LEFT_AS_IS
        self._put(op)
        return "existed: updated"

    def _update(self, op: Operation) -> str:
        try:
            if self._put(op):
                return "updated"
        except NotFound:
            pass
        if not self.creates:
            raise _NoContact()
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
