"""Tracked links end to end: `sdsync send` with {{link:URL}} on the emulator, a real `sdsync serve` redirecting
the codes (clicks, previews, unknown and expired codes), the clicks in the journal, the pull and the report."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from smartdialog_sync.destinations.campaigns.links import CODE_LENGTH, LinkCoder, LinkTracking, track_content
from smartdialog_sync.pipelines.reporting import build_report

from tests.browser import chromium  # noqa: F401
from tests.campaigns.helpers import SEND, ledger_rows, make_crm, phone
from tests.receiver.harness import receiver_factory  # noqa: F401

QUERY = "SELECT phone, first_name FROM customers ORDER BY id"
TARGET = "https://shop.example.com/sale?x=1&utm_source=sms"
CONTENT = "Hei {{first_name}}! Ale: {{link:" + TARGET + "}}"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def _codes(emulator: Any, base: str) -> dict[str, str]:
    """{address: code} of the links in the messages the emulator received."""
    pattern = re.compile(re.escape(base) + r"/l/([0-9A-Za-z]+)")
    return {row["address"]: pattern.search(row["content"]).group(1) for row in emulator.messages()
            if pattern.search(row["content"] or "")}


def _clicks(journal: Path) -> list[tuple[Any, ...]]:
    return ledger_rows(journal, "SELECT code, kind, agent FROM journal_link_clicks ORDER BY seq")


@pytest.fixture
def served(sdsync: Callable[..., Any], emulator: Any, crm: str, tmp_path: Path, receiver_factory: Any) -> Any:  # noqa: F811
    """A receiver on the send's data dir, and a 250-recipient campaign with a tracked link sent through it."""
    receiver = receiver_factory(data_dir=tmp_path / "data").start()
    result = sdsync(*SEND, "--source", crm, "--query", QUERY, "--content", CONTENT, "--campaign", "sale-1",
                    "--link-base-url", receiver.root_url + "/", "--yes")
    assert result.exit_code == 0, result.output
    return receiver


def test_every_recipient_gets_its_own_link_and_a_click_redirects_to_the_target(
    served: Any, emulator: Any, tmp_path: Path, sdsync: Callable[..., Any]
) -> None:
    codes = _codes(emulator, served.root_url)
    assert len(codes) == 250 and len(set(codes.values())) == 250
    assert all(len(code) == CODE_LENGTH for code in codes.values())
    code = codes[phone(1)]
    secret_file = tmp_path / "data" / "link_secret"  # a re-planned run makes the same codes from it
    assert secret_file.stat().st_mode & 0o777 == 0o600
    coder = LinkCoder(secret_file.read_text().strip().encode(), LinkTracking(served.root_url), "sale-1")
    assert coder.code(None, phone(1), TARGET) == code
    with httpx.Client(base_url=served.root_url, follow_redirects=False) as client:
        answer = client.get(f"/l/{code}", headers={"user-agent": BROWSER})
        assert answer.status_code == 302 and answer.headers["location"] == TARGET
        assert client.head(f"/l/{code}").status_code == 302  # a HEAD is a preview
        preview = client.get(f"/l/{code}", headers={"user-agent": "WhatsApp/2.23.20.0 A"})
        assert preview.status_code == 302
        unknown = "A" * CODE_LENGTH
        missing = client.get(f"/l/{unknown}")
        assert missing.status_code == 404 and unknown not in missing.text and "href" not in missing.text
        assert client.get("/l/javascript:alert(1)").status_code == 404
        metrics = client.get("/metrics").text
    for outcome, count in (("click", 1), ("preview", 2), ("not_found", 2)):
        assert f'sdsync_receiver_link_requests_total{{outcome="{outcome}"}} {count}.0' in metrics
    journal = tmp_path / "data" / "journal.sqlite"
    assert _clicks(journal) == [(code, "click", "mobile"), (code, "preview", "other"), (code, "preview", "preview")]
    with sqlite3.connect(journal) as db:
        assert db.execute("SELECT campaign_id, variant, recipient, target FROM journal_links WHERE code = ?",
                          (code,)).fetchall() == [("sale-1", None, phone(1), TARGET)]
        columns = [row[1] for row in db.execute("PRAGMA table_info(journal_link_clicks)")]
    assert columns == ["seq", "click_id", "code", "kind", "agent", "clicked_at_us"]  # no IP, no user agent

    pulled = sdsync("pull", "--resources", "tracked_links,link_clicks,sent_messages")
    assert pulled.exit_code == 0, pulled.output
    out = io.StringIO()  # the report of where the pull loaded, as `sdsync report --json` prints it
    build_report(tmp_path / "data", None, None, None, ("STOP",), out=Console(file=out, width=250), as_json=True)
    [row] = json.loads(out.getvalue())["sections"]["link_clicks"]["rows"]
    assert (row["recipients_with_link"], row["unique_clickers"], row["clicks"], row["previews"]) == (250, 1, 1, 2)
    assert row["click_through_pct"] == 0.4
    with sqlite3.connect(journal) as db:
        assert db.execute("SELECT table_name FROM journal_pull_marks").fetchall() == [("link_clicks",)]

    expired = sdsync("links", "expire", "--campaign", "sale-1")
    assert expired.exit_code == 0 and "expired 250 link(s)" in expired.output, expired.output
    gone = httpx.get(f"{served.root_url}/l/{code}", follow_redirects=False)
    assert gone.status_code == 410 and code not in gone.text and "href" not in gone.text
    assert len(_clicks(journal)) == 3  # an expired link's request is no click
    assert sdsync("links", "expire", "--campaign", "nope").exit_code == 2


def test_the_plan_counts_parts_with_the_real_link_length(sdsync: Callable[..., Any], emulator: Any, crm: str,
                                                         tmp_path: Path) -> None:
    # 132 characters of text + a 40-character short link: 2 parts; the {{link:...}} text itself would be 1 part
    content = "x" * 132 + "{{link:https://a.example/}}"
    result = sdsync(*SEND, "--source", crm, "--query", QUERY, "--content", content,
                    "--link-base-url", "https://hooks.example.com", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "per recipient: 2 part(s) × 250" in result.output
    assert not (tmp_path / "data" / "link_secret").exists(), "a dry run writes nothing"


def test_each_variant_tracks_its_own_links_and_records_its_label(sdsync: Callable[..., Any], emulator: Any, crm: str,
                                                                   tmp_path: Path) -> None:
    base = "https://hooks.example.com"
    result = sdsync(*SEND, "--source", crm, "--query", QUERY, "--campaign", "ab-links", "--link-base-url", base,
                    "--variant", "A=Hei {{first_name}}: {{link:https://a.example/sale}}",
                    "--variant", "B={{first_name}}, koodi: {{link:https://b.example/code}}", "--holdout", "10%", "--yes")
    assert result.exit_code == 0, result.output
    assert "tracked links:" in result.output and "to 2 target(s)" in result.output
    with sqlite3.connect(tmp_path / "data" / "journal.sqlite") as db:
        links = {recipient: (code, variant, target)
                 for code, variant, recipient, target in db.execute("SELECT code, variant, recipient, target FROM journal_links")}
    with sqlite3.connect(tmp_path / "data" / "campaigns.sqlite") as db:
        arms = dict(db.execute("SELECT address, variant FROM campaign_assignments WHERE NOT held_out"))
    codes = _codes(emulator, base)
    assert set(links) == set(arms) == set(codes) and 180 < len(arms) < 250  # the held out get no link
    for address, (code, variant, target) in links.items():
        assert variant == arms[address] and codes[address] == code
        assert target == {"A": "https://a.example/sale", "B": "https://b.example/code"}[variant]
    assert not any("{{" in (row["content"] or "") for row in emulator.messages())


@pytest.mark.parametrize("content", ["{{link:javascript:alert(1)}}", "{{link:data:text/html,hi}}", "{{link:/sale}}",
                                     "{{link:https://a.example/ä}}"])
def test_a_target_that_is_no_http_url_is_refused_before_anything(
    sdsync: Callable[..., Any], emulator: Any, crm: str, tmp_path: Path, content: str
) -> None:
    result = sdsync(*SEND, "--source", crm, "--query", QUERY, "--content", content,
                    "--link-base-url", "https://hooks.example.com", "--yes")
    assert result.exit_code == 2 and "tracked link" in result.output
    assert not (tmp_path / "data" / "campaigns.sqlite").exists()


def test_links_need_a_public_url(sdsync: Callable[..., Any], emulator: Any, crm: str) -> None:
    result = sdsync(*SEND, "--source", crm, "--query", QUERY, "--content", CONTENT, "--yes")
    assert result.exit_code == 2 and "[receiver] public_url" in result.output


def test_codes_are_stable_and_track_links_finds_bare_urls() -> None:
    tracked = track_content("See https://a.example/x?y=1. Or {{link:https://b.example}}!", track_all=True)
    assert tracked.content == "See {{sdsync_link_2}}. Or {{sdsync_link_1}}!"
    assert tracked.targets == ("https://b.example", "https://a.example/x?y=1")
    coder = LinkCoder(b"k" * 32, LinkTracking("https://h.example"), "c1")
    first = coder.render(tracked, "+358401000001")
    assert coder.render(tracked, "+358401000001") == first
    assert LinkCoder(b"j" * 32, LinkTracking("https://h.example"), "c1").render(tracked, "+358401000001") != first


def test_a_click_in_a_real_browser_lands_on_the_target(sdsync: Callable[..., Any], emulator: Any, tmp_path: Path,
                                                      receiver_factory: Any, chromium: Any) -> None:  # noqa: F811
    crm = make_crm(tmp_path / "small.sqlite", 3)
    receiver = receiver_factory(data_dir=tmp_path / "data").start()
    target = receiver.root_url + "/healthz?from=sms"  # a page this machine serves
    result = sdsync(*SEND, "--source", crm, "--query", QUERY, "--content", "Open " + target, "--track-links",
                    "--link-base-url", receiver.root_url, "--campaign", "browser-1", "--yes")
    assert result.exit_code == 0, result.output
    code = _codes(emulator, receiver.root_url)[phone(2)]
    # headless Chromium calls itself HeadlessChrome, which counts as a crawler (a preview): look like Chromium
    chromium.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": "Mozilla/5.0 (X11; Linux x86_64) "
                             "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"})
    chromium.get(f"{receiver.root_url}/l/{code}")
    assert chromium.current_url == target
    assert "alive" in chromium.page_source
    assert _clicks(tmp_path / "data" / "journal.sqlite") == [(code, "click", "desktop")]
