"""Settling batches left in flight, by hand.

A batch whose call got no answer stays `in_flight` and is repeated with its RequestId; after about 7 days the
service may have forgotten that RequestId, so repeating it could send twice and the run refuses. The operator
then checks the delivery reports and says what happened: `sent` (the batch is recorded as sent, its recipients
in sent_messages) or `not-sent` (it is planned again, and the next run sends it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from smartdialog_sync.api import ClientSettings
from smartdialog_sync.state.runner_lock import runner_lock

from .errors import CampaignInputError
from .ledger import Ledger, lock_state

OUTCOMES = ("sent", "not-sent")


def settle_command(campaign_id: str) -> str:
    """The command that settles a campaign's batches in flight (what the run and `sdsync status` suggest)."""
    return f"sdsync settle-batch --campaign {campaign_id} --as sent|not-sent"


def settle_in_flight(client_settings: ClientSettings, campaign_id: str, outcome: str, batches: Sequence[int] = (),
                     ledger: str | None = None) -> list[int]:
    """Settle the campaign's in-flight batches (`batches`, or all) as `outcome`; their numbers, in order.

    Holds the campaign's runner lock, so no run sends it meanwhile. CampaignInputError (exit 2) for an unknown
    outcome, ledger or campaign, or when no such batch is in flight.
    """
    if outcome not in OUTCOMES:
        raise CampaignInputError(f"--as {outcome!r}: use sent (the batch was delivered) or not-sent (it was not)")
    target = client_settings.state.ledger(ledger)
    if isinstance(target, Path) and not target.exists():
        raise CampaignInputError(f"no campaign ledger at {target}: nothing to settle")
    with runner_lock(lock_state(target), f"campaign:{campaign_id}", f"campaign {campaign_id}"):
        opened = Ledger.open(target)
        try:
            if opened.campaign(campaign_id) is None:
                raise CampaignInputError(f"the ledger has no campaign {campaign_id!r}")
            settled = opened.settle_in_flight(campaign_id, outcome, batches)
        finally:
            opened.close()
    if not settled:
        which = f"batch {', '.join(map(str, batches))} of " if batches else ""
        raise CampaignInputError(f"{which}campaign {campaign_id!r}: no batch in flight to settle")
    return settled
