"""`sdsync status`: one report of the local stores, read-only, costing no API call.

`collect_status` returns a JSON-ready dict with one section per store (each says `present: false` when
nothing was run yet) and `attention`: one line per thing an operator should act on.
"""

from __future__ import annotations

import shlex
from typing import Any

from .options import StatusOptions
from .sections_pull import journal_status, limiter_status, pull_status
from .sections_sync import campaigns_status, contacts_status
from .stores import guarded
from .timefmt import human_age, iso

REQUEST_ID_MEMORY_DAYS = 7  # how long SmartDialog remembers a RequestId


def collect_status(options: StatusOptions) -> dict[str, Any]:
    """Read every store (read-only) and return the report, with its `attention` lines."""
    pulls = guarded(pull_status, options, on_error=lambda error: [{"pipeline": None, "error": error}])
    journal, webhooks = guarded(journal_status, options, on_error=lambda error: (_unreadable(error), []))
    report: dict[str, Any] = {
        "data_dir": str(options.data_dir),
        "state": options.state.describe(),
        "generated_at": iso(options.now),
        "limiter": guarded(limiter_status, options, on_error=_unreadable),
        "journal": journal,
        "pulls": pulls,
        "contacts": guarded(contacts_status, options, on_error=_unreadable),
        "campaigns": guarded(campaigns_status, options, on_error=_unreadable),
        "webhooks": webhooks,
    }
    sections = (report["limiter"], report["journal"], report["contacts"], report["campaigns"])
    report["nothing_run_yet"] = not pulls and not any(section.get("present") for section in sections)
    report["attention"] = attention(report, options)
    return report


def _unreadable(error: str) -> dict[str, Any]:
    return {"present": True, "error": error}


# --- what needs attention --------------------------------------------------------------------------------


def attention(report: dict[str, Any], options: StatusOptions) -> list[str]:
    """One line per thing to act on; empty when all is well."""
    lines: list[str] = []
    for name in ("limiter", "journal", "contacts", "campaigns"):
        if report[name].get("error"):
            lines.append(f"{name}: cannot read the store: {report[name]['error']} (`sdsync doctor` checks it)")
    lines += _journal_attention(report["journal"], options)
    for pull in report["pulls"]:
        if pull.get("error") and pull.get("working_dir"):
            lines.append(f"pull {pull['pipeline']}: cannot read its state: {pull['error']}: remove its folder "
                         f"(`rm -r {shlex.quote(pull['working_dir'])}`) and its next pull restores the state from "
                         "its destination")
        elif pull.get("error"):
            lines.append(f"pull: cannot read the pipelines' folder: {pull['error']} (`sdsync doctor` checks it)")
        elif (pull.get("last_run") or {}).get("outcome") == "failed":
            run = pull["last_run"]
            lines.append(f"pull {pull['pipeline']}: the last run failed at step {run['failed_step']}: {run['error']}"
                         f" (see `{pull['info_command']}`): run the same `sdsync pull` once the cause is fixed, "
                         "its good run supersedes this one")
    for entry in report["contacts"].get("groups") or []:
        if entry["interrupted"]:
            ops = entry["open_ops"]
            run = entry["last_run"] or {}
            lines.append(
                f"contacts {entry['customer']}/{entry['group_service']}: run {run.get('run_id')} was interrupted "
                f"({run.get('status')}; {ops['inflight']} ops in flight, {ops['interrupted']} interrupted, "
                f"{ops['planned']} planned): run the same `sdsync contacts sync` again to finish it, or "
                f"`{forget_group_command(entry['customer'], entry['group_service'])}` if the group is abandoned"
            )
    for entry in report["campaigns"].get("campaigns") or []:
        lines += _campaign_attention(entry, options)
    return lines


def forget_group_command(customer: str, group_service: str) -> str:
    """The command that forgets an abandoned contact group's sync state."""
    return shlex.join(["sdsync", "contacts", "forget", "--customer", customer, "--group-service", group_service])


def _journal_attention(journal: dict[str, Any], options: StatusOptions) -> list[str]:
    lines = []
    if journal.get("dead_letters"):
        lines.append(f"journal: {journal['dead_letters']} dead letter(s) waiting: see `sdsync journal dead-letters`, "
                     "replay them with --replay once the cause is fixed, or discard those that will never validate "
                     "with --discard ID... (or --discard --all)")
    for entry in journal.get("not_pulled") or []:
        age = entry.get("oldest_age_s")
        if age is not None and age > options.backlog_hours * 3600:
            rows = entry["inbound"] + entry["delivery_reports"]
            if entry["pipeline"]:
                lines.append(f"journal: {rows} row(s) not yet pulled by {entry['pipeline']}, the oldest for "
                             f"{human_age(age)} (more than {options.backlog_hours:g} h): run its `sdsync pull`, or "
                             f"`sdsync journal marks --forget {shlex.quote(entry['pipeline'])}` if it is gone for good")
            else:
                lines.append(f"journal: {rows} row(s) not yet pulled by any pull (none has run), the oldest for "
                             f"{human_age(age)} (more than {options.backlog_hours:g} h): run `sdsync pull`")
    return lines


def _campaign_attention(entry: dict[str, Any], options: StatusOptions) -> list[str]:
    from smartdialog_sync.destinations.campaigns.settle import settle_command

    lines = []
    unsent = entry["unsent"]["batches"] + entry["in_flight"]["batches"]
    if unsent and (entry["age_s"] or 0) > options.campaign_hours * 3600:
        lines.append(f"campaign {entry['campaign_id']}: {unsent} batch(es) not confirmed sent, created "
                     f"{human_age(entry['age_s'])} ago: rerun the same `sdsync send` to finish it")
    in_flight_age = entry.get("oldest_in_flight_age_s")
    if in_flight_age is not None and in_flight_age > REQUEST_ID_MEMORY_DAYS * 86400:
        lines.append(f"campaign {entry['campaign_id']}: a batch has been in flight for {human_age(in_flight_age)}: "
                     f"SmartDialog remembers RequestIds for {REQUEST_ID_MEMORY_DAYS} days, so a resend may duplicate it: "
                     f"check its delivery reports, then `{settle_command(entry['campaign_id'])}`")
    return lines
