"""`sdsync report` on datasets loaded by the real source: numbers, empty data, the HTML page."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from smartdialog_sync.api import ClientSettings

from .dataset import DatasetBuilder, fill_campaigns, from_now, phone
from .output import console_rows, html_rows, run_report

FUNNEL, REPLIES, FAILED, TRAFFIC, SCHEDULED = (
    "Delivery funnel per campaign", "Replies and opt-outs per campaign", "Contacts with failed messages",
    "Message traffic per day", "Scheduled, not yet delivered",
)


def name(campaign: str) -> str:
    """How the report names a campaign of the test datasets (sent today, SMS, content "hello")."""
    return f'{campaign} · {datetime.now(timezone.utc).date().isoformat()} · SMS · "hello"'


def builder_for(emulator, tmp_path: Path) -> DatasetBuilder:
    """A dataset builder in `tmp_path` whose client talks to `emulator`."""
    settings = ClientSettings().with_overrides(
        base_url=emulator.base_url, access_token=emulator.token, rate_limit="1000/1", data_dir=tmp_path
    )
    return DatasetBuilder(tmp_path, settings)


@pytest.fixture(scope="module")
def campaigns_dataset(_session_emulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The campaigns of `fill_campaigns`, pulled into DuckDB."""
    _session_emulator.reset()
    data = builder_for(_session_emulator, tmp_path_factory.mktemp("campaigns"))
    fill_campaigns(data)
    return data.load()


def test_numbers_on_the_console_and_in_the_html_page(campaigns_dataset: Path, tmp_path: Path) -> None:
    page_path = tmp_path / "report.html"
    result = run_report("--duckdb", str(campaigns_dataset), "--html", str(page_path))
    assert result.returncode == 0, result.stderr

    funnel = [[name("winter"), "4", "3", "1", "0", "75.0"], [name("spring"), "10", "8", "1", "1", "80.0"]]
    replies = [[name("winter"), "4", "1", "1", "25.0", "25.0"], [name("spring"), "10", "2", "1", "20.0", "10.0"]]
    assert console_rows(result.stdout, FUNNEL) == funnel
    assert console_rows(result.stdout, REPLIES) == replies
    failed = console_rows(result.stdout, FAILED)
    assert [row[:3] + [row[4], row[6]] for row in failed] == [
        [phone(7), "1", "UNDELIVERABLE", "spring", "—"],
        [phone(8), "1", "UNDELIVERABLE", "spring", "Maija Meikäläinen"],
        [phone(23), "1", "EXPIRED", "winter", "—"],
    ]
    traffic = console_rows(result.stdout, TRAFFIC)
    totals = {direction: sum(int(row[4]) for row in traffic if row[1] == direction) for direction in ("inbound", "outbound")}
    assert totals == {"inbound": 5, "outbound": 14}
    assert {row[2] for row in traffic if row[1] == "inbound"} == {"SMS"}

    page = page_path.read_text(encoding="utf-8")
    tables = html_rows(page)
    assert tables["delivery_funnel"] == funnel
    assert tables["reply_rates"] == replies
    assert len(tables["failed_contacts"]) == 3
    assert f"{name('spring')} delivered: 8 of 10" in html.unescape(page)
    assert f"{name('spring')} pending: 1 of 10" in html.unescape(page)
    assert f"{name('winter')} opt-out rate: 25 %" in html.unescape(page)


def test_limit_caps_the_rows_of_each_section(campaigns_dataset: Path) -> None:
    result = run_report("--duckdb", str(campaigns_dataset), "--limit", "1")
    assert result.returncode == 0, result.stderr
    assert console_rows(result.stdout, FUNNEL) == [[name("winter"), "4", "3", "1", "0", "75.0"]]  # the newest campaign
    assert len(console_rows(result.stdout, FAILED)) == 1
    assert "showing the first 1 of 3 rows" in result.stdout


def test_html_page_is_self_contained(campaigns_dataset: Path, tmp_path: Path) -> None:
    page_path = tmp_path / "report.html"
    assert run_report("--duckdb", str(campaigns_dataset), "--html", str(page_path)).returncode == 0
    page = page_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"<script|<link|@import|url\(", page, re.IGNORECASE)
    assert page.count("<svg") == 3  # traffic, funnel, rates
    assert "<style>" in page


def test_empty_dataset_gives_a_clean_report(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    page_path = tmp_path / "empty.html"
    result = run_report("--duckdb", str(empty), "--html", str(page_path))
    assert result.returncode == 0, result.stderr
    assert "has no tables" in result.stdout
    assert result.stdout.count("no data yet") == 8 and "no rows" not in result.stdout
    assert console_rows(result.stdout, FUNNEL) == []
    page = page_path.read_text(encoding="utf-8")
    assert page.count("No data yet.") == 8 and "no rows" not in page and "<svg" not in page
    assert all(rows == [] for rows in html_rows(page).values())


def test_dataset_with_only_inbound_messages(emulator, tmp_path: Path) -> None:
    data = builder_for(emulator, tmp_path)
    data.reply(phone(1), "hello", from_now(0), "in-1")
    data.reply(phone(2), "STOP", from_now(0), "in-2")
    result = run_report("--duckdb", str(data.load()))
    assert result.returncode == 0, result.stderr
    assert [row[1:] for row in console_rows(result.stdout, TRAFFIC)] == [["inbound", "SMS", "+358401000001", "2", "2"]]
    assert "not in the dataset yet: sent_messages, delivery_reports" in result.stdout
    assert console_rows(result.stdout, REPLIES) == []


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run_report("--duckdb", str(tmp_path / "nothing.duckdb"))
    assert result.returncode == 2
    assert "no DuckDB file" in result.stderr


def test_unreadable_file_fails_with_a_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.duckdb"
    broken.write_text("not a database")
    result = run_report("--duckdb", str(broken), "--html", str(tmp_path / "out.html"))
    assert result.returncode == 1
    assert "cannot read" in result.stderr
    assert not (tmp_path / "out.html").exists()


def test_scheduled_sends_without_a_final_report_are_listed(_session_emulator, tmp_path: Path) -> None:
    _session_emulator.reset()
    data = builder_for(_session_emulator, tmp_path / "data")
    ahead = [phone(i) for i in range(30, 33)]
    ids = data.send("local-ahead", ahead, "msg-ahead", send_at="2099-01-15T07:00:00+00:00")
    data.report("msg-ahead", ids[0], ahead[0], "Delivered", from_now(5))  # delivered already: not listed
    data.report("msg-ahead", ids[1], ahead[1], "Scheduled", from_now(5))  # not final: still listed
    passed = [phone(40)]
    data.send("local-passed", passed, "msg-passed", send_at="2020-05-01T06:30:00+00:00")
    data.send("at-once", [phone(50)], "msg-now")  # no SendDateTime: not a scheduled send
    dataset = data.load()
    page_path = tmp_path / "report.html"
    result = run_report("--duckdb", str(dataset), "--html", str(page_path))
    assert result.returncode == 0, result.stderr
    expected = [[name("local-passed"), "2020-05-01 06:30", "1", "passed, no final report"],
                [name("local-ahead"), "2099-01-15 07:00", "2", "ahead"]]
    assert console_rows(result.stdout, SCHEDULED) == expected
    assert html_rows(page_path.read_text(encoding="utf-8"))["scheduled"] == expected


def test_tracked_links_per_campaign_and_clicks_over_time(campaigns_dataset: Path) -> None:
    import json

    result = run_report("--duckdb", str(campaigns_dataset), "--json")
    assert result.returncode == 0, result.stderr
    sections = json.loads(result.stdout)["sections"]
    [spring] = sections["link_clicks"]["rows"]
    assert {key: spring[key] for key in ("variant", "recipients_with_link", "unique_clickers", "click_through_pct",
                                         "clicks", "previews")} == {
        "variant": "", "recipients_with_link": 10, "unique_clickers": 3, "click_through_pct": 30.0, "clicks": 4,
        "previews": 1}
    over_time = [(row["after_send"], row["clicks"], row["clickers"]) for row in sections["clicks_after_send"]["rows"]]
    assert over_time == [("within 1 h", 2, 2), ("1-6 h", 1, 1), ("1-7 days", 1, 1)]
