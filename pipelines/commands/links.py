"""`sdsync links`: tracked links of campaigns (`{{link:URL}}` in `sdsync send`), served by `sdsync serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from smartdialog_sync.errors import UsageError

from ..runtime import console, state_from
from .journal import JOURNAL_HELP

app = typer.Typer(help="Tracked links of campaigns: expire them.", no_args_is_help=True)


@app.command("expire", short_help="Expire a campaign's tracked links: answered 410 from now on.")
def expire(
    ctx: typer.Context,
    campaign: str = typer.Option(..., "--campaign", help="Campaign id whose links to expire."),
    journal: Optional[str] = typer.Option(None, help=JOURNAL_HELP),
) -> None:
    """Expire every tracked link of a campaign: every receiver sharing the journal answers them 410 Gone
    (a fixed page without a link) from now on. The links and their clicks stay in the journal."""
    from smartdialog_sync.destinations.campaigns.links import expire_links
    from smartdialog_sync.destinations.campaigns.suppression import (
        configured_journal_url,
    )

    target = state_from(ctx).journal(journal or configured_journal_url())
    if isinstance(target, Path) and not target.exists():
        raise UsageError(f"no journal at {target} (give --journal, --data-dir or state_url)")
    expired, total = expire_links(target, campaign)
    if not total:
        raise UsageError(f"campaign {campaign} has no tracked links in the journal")
    console.print(f"expired {expired:,} link(s) of campaign {campaign} ({total - expired:,} were expired already)",
                  markup=False, highlight=False)
