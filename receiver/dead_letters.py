"""Replaying the journal's dead letters: payloads the receiver refused, validated again by today's code."""

from __future__ import annotations

from dataclasses import dataclass, field

from smartdialog_sync.journal import DlrRow, InboundRow, JournalStore, StoredDeadLetter

from .payloads import InvalidPayload, now_us, row_from_raw


@dataclass
class ReplayResult:
    """Ids of the dead letters journaled by a replay, and (id, reason) of those refused again."""

    replayed: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def replay_dead_letters(store: JournalStore) -> ReplayResult:
    """Validate every dead letter not replayed yet again; journal those that pass and mark them replayed.

    A replayed row keeps the time it was first received. A body that was cut at the dead-letter bound is
    never replayed. Running it twice is harmless: journaling a row twice stores it once.
    """
    result = ReplayResult()
    for letter in store.list_dead_letters():
        try:
            row = _row(letter)
            store.write_batch(*_split(row))
        except (InvalidPayload, *store.row_errors) as exc:
            reason = str(exc) if isinstance(exc, InvalidPayload) else f"the journal cannot store it ({type(exc).__name__})"
            store.set_replay_error(letter.id, reason)
            result.refused.append((letter.id, reason))
            continue
        store.mark_replayed(letter.id, now_us())
        result.replayed.append(letter.id)
    return result


def _row(letter: StoredDeadLetter) -> InboundRow | DlrRow:
    if len(letter.body) < letter.body_size:
        raise InvalidPayload(f"only the first {len(letter.body)} of {letter.body_size} bytes were kept")
    return row_from_raw(letter.kind, letter.body, letter.received_at_us)


def _split(row: InboundRow | DlrRow) -> tuple[list[InboundRow], list[DlrRow]]:
    return ([row], []) if isinstance(row, InboundRow) else ([], [row])
