"""`sdsync state`: where the state lives, and moving the local stores into a shared PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from smartdialog_sync.errors import UsageError

from ..runtime import stdout, unchecked_settings

if TYPE_CHECKING:
    from smartdialog_sync.state.migration import StoreMigration

app = typer.Typer(help="Where the state lives (local files or a shared PostgreSQL) and moving it.",
                  short_help="Where the state lives; move it into PostgreSQL.", no_args_is_help=True)


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Say where each store lives.

    The data dir's files, or the PostgreSQL of state_url, store by store.
    """
    from smartdialog_sync.state.location import hide_password


    settings = unchecked_settings(ctx)
    state = settings.state
    stdout.print(f"state: {state.describe()}", markup=False, highlight=False)
    stores = {
        "campaign ledger": state.ledger(),
        "reply record": state.replies(),
        "contact-sync state": state.contact_state(),
        "OAuth tokens": state.tokens(),
        "receiver journal": state.journal(),
        "limiter window": state.limiter(settings.limiter_url),
        "declared-sync runs": state.sync_runs(),
        "open alert incidents": state.alerts(),
    }
    for name, target in stores.items():
        stdout.print(f"  {name}: {hide_password(str(target))}", markup=False, highlight=False)


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", help="The shared PostgreSQL, a postgresql:// URL (a password-less URL "
                                              "uses ~/.pgpass or PGPASSWORD)."),
) -> None:
    """Copy the local stores into PostgreSQL.

    The data dir's ledger, reply record, contact state, tokens and journal (with the receiver's secret).

    Idempotent: a rerun copies nothing twice. Refused (exit 2, naming the conflict) when the target
    already holds different data under the same key. Afterwards set `[smartdialog] state_url` to the
    same URL on every machine.
    """
    from smartdialog_sync.pipelines.state_migration import migrate_state

    from smartdialog_sync.state.location import hide_password

    settings = unchecked_settings(ctx)
    if settings.state.shared:
        raise UsageError("state_url is set already: migrate copies a data dir's local files; unset state_url "
                         "for this command")

    def report(result: StoreMigration) -> None:
        stdout.print(result.describe(), markup=False, highlight=False)

    copied = migrate_state(settings.data_dir, to, on_store=report)
    if not copied:
        stdout.print(f"nothing to migrate: no local store in {settings.data_dir}", markup=False, highlight=False)
        return
    stdout.print(f"done: set state_url = \"{hide_password(to)}\" (SMARTDIALOG__STATE_URL) on every machine",
                 markup=False, highlight=False)
