"""`sdsync journal`: the receiver's journal: dead letters (list, replay), pull marks and pruning."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

import typer

from smartdialog_sync.errors import UsageError

from ..runtime import console, state_from, stdout
from ..tables import print_table

if TYPE_CHECKING:
    from smartdialog_sync.journal import JournalStore

app = typer.Typer(help="The receiver's journal: dead letters, pull marks, pruning.", no_args_is_help=True)

JOURNAL_HELP = ("The receiver's journal: a SQLite path or sqlite:/// URL, or postgresql://... (default the state's: "
                "state_url, else <data-dir>/journal.sqlite)")
_AGE = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
PREVIEW_CHARS = 60


def parse_age(text: str) -> int:
    """An age like `30d`, `12h`, `90m`, `2w` or `45s` in seconds; UsageError otherwise."""
    match = _AGE.fullmatch(text.strip().lower())
    if match is None:
        raise UsageError(f"--older-than: not an age like 30d, 12h or 90m: {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@contextmanager
def _journal(ctx: typer.Context, journal: Optional[str]) -> Iterator[JournalStore]:
    from smartdialog_sync.journal import open_journal

    target = state_from(ctx).journal(journal)
    if isinstance(target, Path) and not target.exists():
        raise UsageError(f"no journal at {target} (give --journal, --data-dir or state_url)")
    store = open_journal(target)
    try:
        yield store
    finally:
        store.close()


def _time(us: Optional[int]) -> str:
    if us is None:
        return ""
    return datetime.fromtimestamp(us / 1_000_000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _preview(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    shown = text[:PREVIEW_CHARS].encode("unicode_escape").decode("ascii")
    return shown + ("…" if len(text) > PREVIEW_CHARS else "")


@app.command("dead-letters", short_help="List, replay or discard the payloads the receiver refused.")
def dead_letters(
    ctx: typer.Context,
    ids: Optional[list[int]] = typer.Argument(None, metavar="ID", help="With --discard: the dead letters to discard."),
    journal: Optional[str] = typer.Option(None, help=JOURNAL_HELP),
    replay: bool = typer.Option(False, "--replay", help="Validate them again; journal and mark those that pass now."),
    discard: bool = typer.Option(False, "--discard", help="Discard the waiting dead letters ID... (or --all) that will "
                                 "never validate; each is kept in the audit table journal_discarded_letters."),
    include_all: bool = typer.Option(False, "--all", help="List replayed ones too; with --discard, every waiting one."),
) -> None:
    """List the payloads the receiver refused (kept with their raw body and the reason), replay or discard them.

    A replay validates each dead letter not replayed yet with this version's rules; those that pass are
    journaled (keeping their first receive time) and marked replayed, so the next pull loads them.
    `--discard ID...` (or `--discard --all`) gives up on dead letters that will never validate: each moves
    to the audit table journal_discarded_letters, and `sdsync status` stops counting it.
    """
    from smartdialog_sync.receiver.dead_letters import replay_dead_letters

    if ids and not discard:
        raise UsageError("dead letter ids are taken only with --discard")
    if discard and replay:
        raise UsageError("--discard and --replay do not go together")
    if discard and bool(ids) == include_all:
        raise UsageError("--discard takes the ids of the dead letters to discard, or --all (not both)")
    with _journal(ctx, journal) as store:
        if discard:
            discarded = store.discard_dead_letters(None if include_all else ids, time.time_ns() // 1000)
            missing = sorted(set(ids or ()) - set(discarded))
            console.print(f"discarded {len(discarded)} dead letter(s)" + (f" (#{', #'.join(map(str, discarded))})" if discarded else "")
                          + "; kept in journal_discarded_letters")
            if missing:
                raise UsageError(f"no waiting dead letter #{', #'.join(map(str, missing))} (see `sdsync journal dead-letters`)")
            return
        if replay:
            result = replay_dead_letters(store)
            console.print(f"replayed {len(result.replayed)}, still refused {len(result.refused)}")
            for letter_id, reason in result.refused:
                console.print(f"  #{letter_id}: {reason}", markup=False, highlight=False)
            return
        letters = store.list_dead_letters(include_all)
    if not letters:
        stdout.print("no dead letters" + ("" if include_all else " waiting for a replay"))
        return
    rows = []
    for letter in letters:
        size = f"{letter.body_size:,}" + ("" if len(letter.body) == letter.body_size else f" (kept {len(letter.body):,})")
        replayed = _time(letter.replayed_at_us) or (f"refused again: {letter.replay_error}" if letter.replay_error else "")
        rows.append([str(letter.id), letter.kind, _time(letter.received_at_us), str(letter.status_code), letter.reason,
                     size, _preview(letter.body), replayed])
    print_table(stdout, "Dead letters", ("id", "kind", "received (UTC)", "status", "reason", "bytes", "body", "replayed (UTC)"),
                rows, right=("id", "status", "bytes"))


@app.command("marks", short_help="How far each pull pipeline has loaded the journal.")
def marks(
    ctx: typer.Context,
    journal: Optional[str] = typer.Option(None, help=JOURNAL_HELP),
    forget: Optional[str] = typer.Option(
        None, metavar="NAME", help="Forget a pipeline's marks (it no longer holds back pruning nor needs attention): "
        "the name `sdsync status` prints (PIPELINE@HOST:DIR), or the pipeline name `sdsync pull` prints."),
) -> None:
    """Show how far each pull pipeline has loaded the journal (pruning stays below the lowest mark)."""
    from ..journal_marks import marks_named

    with _journal(ctx, journal) as store:
        if forget:
            for name in marks_named(forget, (mark.pipeline for mark in store.list_pull_marks())):
                removed = store.delete_pull_marks(name)
                console.print(f"forgot {removed} mark(s) of {name}", markup=False, highlight=False)
            return
        pull_marks = store.list_pull_marks()
    if not pull_marks:
        stdout.print("no pull has recorded a mark yet: prune removes nothing")
        return
    rows = [[mark.pipeline, mark.table_name, f"{mark.seq:,}", _time(mark.updated_at_us)] for mark in pull_marks]
    print_table(stdout, "Pull marks", ("pipeline", "table", "loaded up to seq", "updated (UTC)"), rows)


@app.command("prune", short_help="Delete old journal rows that every pull has loaded.")
def prune(
    ctx: typer.Context,
    older_than: str = typer.Option(..., help="Age of the rows to delete: 30d, 12h, 90m, 2w, ..."),
    journal: Optional[str] = typer.Option(None, help=JOURNAL_HELP),
) -> None:
    """Delete journal rows older than an age that every pull pipeline has loaded already.

    Only rows at or below the lowest pull mark (`sdsync journal marks`) go: nothing unpulled is ever
    removed, and nothing at all before a pull has recorded a mark. Link clicks follow the same rule (the
    links themselves stay until expired). Dead letters go only once replayed.
    """
    cutoff_us = time.time_ns() // 1000 - parse_age(older_than) * 1_000_000
    with _journal(ctx, journal) as store:
        removed = store.prune(cutoff_us)
    console.print(
        f"removed {removed.inbound:,} inbound message(s), {removed.dlr:,} delivery report(s), "
        f"{removed.link_clicks:,} link click(s), {removed.dead_letters:,} replayed dead letter(s) received before "
        f"{_time(cutoff_us)} UTC"
    )
