"""The text screens of `sdsync status` and `sdsync doctor`.

Every value read from a store or a setting goes into a rich `Text` as plain text: it is never parsed as
markup, whatever a CRM, a campaign id or a server put in it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from rich.console import Console
from rich.text import Text

from .timefmt import human_age

NOT_PRESENT = "not present (nothing run yet)"


def _line(*parts: str | tuple[str, str], indent: int = 2) -> Text:
    return Text.assemble(" " * indent, *parts)


def _header(title: str, detail: str = "") -> Text:
    return Text.assemble((title, "bold"), ("  " + detail if detail else "", "dim"))


def _size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def _ago(seconds: float | None) -> str:
    return "?" if seconds is None else f"{human_age(seconds)} ago"


def _store(title: str, section: dict[str, Any], body: Callable[[dict[str, Any]], Iterator[Text]],
           size: str = "") -> Iterator[Text]:
    """A store's header (its location and `size`), then `body(section)`; one line instead when the store
    cannot be read or is not there yet."""
    yield _header(title, str(section.get("location") or "") + size)
    if section.get("error"):
        yield _line(("cannot read: ", "red"), section["error"])
    elif not section.get("present"):
        yield _line(NOT_PRESENT)
    else:
        yield from body(section)


def status_lines(report: dict[str, Any]) -> Iterable[Text]:
    """The status screen, line by line."""
    yield _header("Status of " + report["data_dir"]) + Text(f"  {report['generated_at']}", style="dim")
    yield _line("state: ", report["state"])
    if report["nothing_run_yet"]:
        yield _line("nothing run yet: no limiter window, journal, pull, contact sync or campaign ledger here")
    yield from _store("Rate limiter", report["limiter"], _limiter)
    journal = report["journal"]
    yield from _store("Journal", journal, _journal, f", {_size(journal['size_bytes'])}" if "size_bytes" in journal else "")
    yield from _pulls(report["pulls"])
    yield from _store("Contact sync", report["contacts"], _contacts)
    yield from _store("Campaigns", report["campaigns"], _campaigns)
    yield from _webhooks(report["webhooks"], report["journal"])
    if report["attention"]:
        yield _header("Needs attention")
        for reason in report["attention"]:
            yield _line(("! ", "red"), reason)
    else:
        yield _header("All is well")


def _limiter(section: dict[str, Any]) -> Iterator[Text]:
    if not section["connections"]:
        yield _line(f"no call in the last {section['window_s']:g} s")
    for entry in section["connections"]:
        label = " (this connection)" if entry["this_connection"] else ""
        yield _line(f"connection {entry['connection']}{label}: {entry['calls_in_window']} of {entry['limit']} calls "
                    f"in the last {section['window_s']:g} s, oldest slot {human_age(entry['oldest_slot_age_s'])} old")


def _journal(section: dict[str, Any]) -> Iterator[Text]:
    yield _line(f"{section['inbound']:,} inbound messages, {section['delivery_reports']:,} delivery reports; "
                f"{section['dead_letters']:,} dead letters waiting for a replay")
    for entry in section["not_pulled"]:
        who = f"by {entry['pipeline']}" if entry["pipeline"] else "(no pull has run)"
        oldest = f", the oldest received {_ago(entry['oldest_age_s'])}" if entry["oldest_age_s"] is not None else ""
        yield _line(f"not yet pulled {who}: {entry['inbound']:,} inbound, {entry['delivery_reports']:,} delivery reports"
                    f"{oldest}")


def _pulls(pulls: list[dict[str, Any]]) -> Iterator[Text]:
    yield _header("Pulls")
    if not pulls:
        yield _line(NOT_PRESENT)
    for pull in pulls:
        if pull.get("error"):
            yield _line(f"{pull.get('pipeline', '?')}: ", ("cannot read: ", "red"), pull["error"])
            continue
        run = pull["last_run"]
        where = f"{pull['destination'] or '?'}, dataset {pull['dataset'] or '?'}"
        if run is None:
            outcome = "no run recorded"
        elif run["outcome"] == "failed":
            outcome = f"FAILED at step {run['failed_step']} (started {run['started_at']}): {run['error']}"
        else:
            outcome = f"completed {run['finished_at']}"
        yield _line(f"{pull['pipeline']} ({where}): {outcome}")
        if run is not None:
            rows = ", ".join(f"{table} {count:,}" for table, count in run["rows"].items()) or "nothing new"
            yield _line(f"rows: {rows}", indent=4)
        if pull["pending_packages"]:
            yield _line(f"{pull['pending_packages']} load package(s) pending: the next pull loads them first", indent=4)
        yield _line(("more: ", "dim"), pull["info_command"], indent=4)


def _contacts(section: dict[str, Any]) -> Iterator[Text]:
    if section["busy"]:
        yield _line("a sync is running now (it holds the state file): try again when it ends")
    for entry in section["groups"]:
        run = entry["last_run"]
        head = f"{entry['customer']}/{entry['group_service']}: "
        if run is None:
            yield _line(head + "no run recorded")
        else:
            when = run["finished_at"] or run["started_at"]
            figures = ", ".join(f"{name} {run[name]}" for name in (
                "source_rows", "creates", "updates", "deletes", "unchanged", "applied", "rejected", "failed", "calls")
                if run.get(name) is not None)
            dry = " (dry run)" if run["dry_run"] else ""
            yield _line(head + f"run {run['run_id']}{dry} {run['status']} at {when}: {figures or 'no figures'}")
            if run.get("error"):
                yield _line("error: ", run["error"], indent=4)
        ops = entry["open_ops"]
        yield _line(f"open ops: {ops['inflight']} in flight, {ops['interrupted']} interrupted, {ops['planned']} planned "
                    f"(about {entry['calls_left']} calls left to finish); {entry['contacts_known']:,} contacts known; "
                    f"{entry['rejected_rows']} rejected rows, {entry['server_rejections']} refused by the service, "
                    f"{entry['field_warnings']} field warnings",
                    indent=4)


def _campaigns(section: dict[str, Any]) -> Iterator[Text]:
    if not section["campaigns"]:
        yield _line("no campaign in the ledger")
    for entry in section["campaigns"]:
        parts = ", ".join(f"{name.replace('_', ' ')} {entry[name]['batches']} ({entry[name]['recipients']:,} recipients)"
                          for name in ("sent", "in_flight", "unsent"))
        yield _line(f"{entry['campaign_id']} ({entry['kind']}, {entry['customer']}/{entry['service']}, created "
                    f"{_ago(entry['age_s'])}): batches {parts}")
        later = entry.get("scheduled_at_service")
        if later:
            yield _line(f"{later['batches']} sent batch(es) ({later['recipients']:,} recipients) are scheduled at "
                        f"SmartDialog, the first for {later['first_at']}", indent=4)
        if entry["oldest_in_flight_age_s"] is not None:
            yield _line(f"oldest batch in flight since {entry['oldest_in_flight_at']} "
                        f"({_ago(entry['oldest_in_flight_age_s'])}; RequestIds are remembered 7 days)", indent=4)


def _webhooks(webhooks: list[dict[str, Any]], journal: dict[str, Any]) -> Iterator[Text]:
    yield _header("Webhook registrations")
    if not webhooks:
        yield _line("none" if journal.get("present") else NOT_PRESENT)
    for hook in webhooks:
        yield _line(f"{hook['customer']}/{hook['service']} -> {hook['endpoint']} (pipeline {hook['pipeline_id']}, "
                    f"action {hook['action_id']}, registered {hook['registered_at']})")


def print_lines(console: Console, lines: Iterable[Text]) -> None:
    """Print prepared lines without markup or highlighting.

    On a terminal a line longer than the width is wrapped between words, continuing indented under its
    start; a word (an id, a name, a path) is never broken, even when it is wider than the terminal.
    Elsewhere (a pipe, a file) each line is printed whole.
    """
    for line in lines:
        if not console.is_terminal or line.cell_len <= console.width:
            console.print(line, highlight=False, soft_wrap=True)
            continue
        indent = len(line.plain) - len(line.plain.lstrip(" "))
        for number, part in enumerate(_wrap_words(line[indent:], max(console.width - indent - 2, 20))):
            console.print(Text(" " * (indent if number == 0 else indent + 2)) + part, highlight=False, soft_wrap=True)


def _wrap_words(text: Text, width: int) -> list[Text]:
    """`text` in lines of at most `width` cells, broken only at spaces (a longer word gets a line of its own)."""
    lines: list[Text] = []
    for word in text.split(" ", allow_blank=True):
        if lines and lines[-1].cell_len + 1 + word.cell_len <= width:
            lines[-1].append(" ")
            lines[-1].append_text(word)
        else:
            lines.append(word.copy())
    return lines


DOCTOR_STYLES = {"ok": "green", "fail": "bold red", "skip": "yellow", "info": "cyan"}


def doctor_lines(checks: Iterable[Any]) -> Iterable[Text]:
    """One line per check (and its fix when it failed)."""
    for check in checks:
        line = Text.assemble((f"{check.outcome:<5}", DOCTOR_STYLES.get(check.outcome, "")), f" {check.name}: {check.detail}")
        if check.fix:
            line.append("  fix: ", style="bold")
            line.append(check.fix)
        yield line
