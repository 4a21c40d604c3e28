"""Campaigns in each recipient's local time, with quiet hours: zones, DST, scheduling, exactly once under SIGKILL."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import pytest

from smartdialog_sync.destinations.campaigns.errors import CampaignInputError
from smartdialog_sync.destinations.campaigns.schedule import QuietHours, Timing, parse_clock
from smartdialog_sync.destinations.campaigns.timezones import (
    SOURCE_AMBIGUOUS, SOURCE_COLUMN, SOURCE_PHONE, SOURCE_REGION, SOURCE_UTC, zone_of,
)
from tests.campaigns.helpers import SEND, ledger_rows, run_until_killed, sent_batches
from tests.support.cli import emulator_env, run_sdsync

FI, SE, EE = "+358401000001", "+46700000001", "+3725123456"
US_MANY_ZONES = "+18005550100"  # toll-free: every zone of the NANP
NO_ZONE = "+80012345678"  # international freephone: no zone, no country
UTC = timezone.utc


def _crm(path: Path, rows: list[tuple[str, str | None, str | None]]) -> str:
    """A CRM of (phone, region, tz) rows with a first name each."""
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE people (id INTEGER, phone TEXT, first_name TEXT, region TEXT, tz TEXT)")
    connection.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?)",
                           [(i, p, f"N{i}", region, tz) for i, (p, region, tz) in enumerate(rows)])
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


def _send_times(emulator: Any) -> dict[str, datetime]:
    """The SendDateTime the emulator received per recipient (each recipient exactly once)."""
    messages = emulator.messages()
    assert max(Counter(m["address"] for m in messages).values()) == 1
    return {m["address"]: datetime.fromisoformat(m["send_at"]).astimezone(UTC) for m in messages}


def test_zones_come_from_the_column_the_number_the_region_or_utc() -> None:
    assert zone_of(FI) == zone_of(FI, None, "SE")
    assert (zone_of(FI).zone, zone_of(FI).source) == ("Europe/Helsinki", SOURCE_PHONE)
    assert zone_of(SE).zone == "Europe/Stockholm"
    assert zone_of(EE).zone == "Europe/Tallinn"  # phonenumbers names Bucharest for +372: the country's own zone wins
    assert (zone_of(US_MANY_ZONES).zone, zone_of(US_MANY_ZONES).source) == ("America/New_York", SOURCE_AMBIGUOUS)
    assert (zone_of(NO_ZONE).zone, zone_of(NO_ZONE).source) == ("UTC", SOURCE_UTC)
    assert (zone_of(NO_ZONE, None, "se").zone, zone_of(NO_ZONE, None, "se").source) == ("Europe/Stockholm", SOURCE_REGION)
    assert (zone_of(FI, "Asia/Tokyo").zone, zone_of(FI, "Asia/Tokyo").source) == ("Asia/Tokyo", SOURCE_COLUMN)
    with pytest.raises(CampaignInputError, match="unknown time zone 'Mars/Base'"):
        zone_of(FI, "Mars/Base")


def test_quiet_hours_spanning_midnight() -> None:
    quiet = QuietHours.parse("21:00-08:00")
    assert [quiet.contains(time(h, m)) for h, m in [(20, 59), (21, 0), (23, 30), (2, 0), (7, 59), (8, 0)]] == [
        False, True, True, True, True, False]
    helsinki = ZoneInfo("Europe/Helsinki")
    late = datetime(2027, 1, 15, 23, 30, tzinfo=helsinki)
    assert quiet.release(late) == datetime(2027, 1, 16, 8, 0, tzinfo=helsinki)
    early = datetime(2027, 1, 16, 2, 0, tzinfo=helsinki)
    assert quiet.release(early) == datetime(2027, 1, 16, 8, 0, tzinfo=helsinki)
    assert quiet.release(datetime(2027, 1, 16, 12, 0, tzinfo=helsinki)).hour == 12
    for bad in ("21:00", "25:00-08:00", "08:00-08:00"):
        with pytest.raises(CampaignInputError):
            QuietHours.parse(bad)
    with pytest.raises(CampaignInputError, match="--local-time"):
        parse_clock("9am", "--local-time")


def test_local_time_follows_each_zones_dst() -> None:
    nine = Timing(at=datetime(2027, 3, 27, tzinfo=UTC), local_time=time(9, 0))
    now = datetime(2027, 1, 1, tzinfo=UTC)
    assert nine.send_time("Europe/Helsinki", now) == datetime(2027, 3, 27, 7, 0, tzinfo=UTC)  # EET, +2
    after = Timing(at=datetime(2027, 3, 28, tzinfo=UTC), local_time=time(9, 0))
    assert after.send_time("Europe/Helsinki", now) == datetime(2027, 3, 28, 6, 0, tzinfo=UTC)  # EEST, +3
    assert after.send_time("America/New_York", now) == datetime(2027, 3, 28, 13, 0, tzinfo=UTC)  # EDT since 14 March
    gap = Timing(at=datetime(2027, 3, 28, tzinfo=UTC), local_time=time(3, 30))  # 03:30 does not exist in Helsinki
    assert gap.send_time("Europe/Helsinki", now) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 04:30 EEST
    next_one = Timing(local_time=time(9, 0))
    assert next_one.send_time("Europe/Helsinki", datetime(2027, 1, 15, 8, 0, tzinfo=UTC)) == datetime(2027, 1, 16, 7, 0, tzinfo=UTC)
    assert next_one.send_time("America/New_York", datetime(2027, 1, 15, 8, 0, tzinfo=UTC)) == datetime(2027, 1, 15, 14, 0, tzinfo=UTC)


def test_a_local_time_campaign_in_several_zones(sdsync: Callable[..., Any], emulator: Any, tmp_path: Path) -> None:
    crm = _crm(tmp_path / "crm.sqlite", [(FI, "FI", None), (SE, "SE", None), (EE, "EE", None),
                                         (US_MANY_ZONES, "US", None), (NO_ZONE, None, None), ("+358401000002", "FI", "Asia/Tokyo")])
    args = [*SEND, "--source", crm, "--query", "SELECT phone, first_name, region, tz FROM people", "--content", "Hei {{first_name}}",
            "--timezone-column", "tz", "--at", "2027-01-15", "--local-time", "09:00"]
    dry = sdsync(*args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert (f"time zones from: {SOURCE_PHONE} 3, {SOURCE_AMBIGUOUS} 1, {SOURCE_UTC} 1, {SOURCE_COLUMN} 1") in dry.output
    assert "API calls: 5 " in dry.output  # FI and EE share 07:00 UTC
    assert "Scheduled sends" in dry.output and "2027-01-15 09:00 EET (Europe/Helsinki, Europe/Tallinn)" in dry.output
    assert "2027-01-15T07:00:00+00:00" in dry.output
    result = sdsync(*args, "--yes")
    assert result.exit_code == 0, result.output
    assert _send_times(emulator) == {
        FI: datetime(2027, 1, 15, 7, 0, tzinfo=UTC), EE: datetime(2027, 1, 15, 7, 0, tzinfo=UTC),
        SE: datetime(2027, 1, 15, 8, 0, tzinfo=UTC), US_MANY_ZONES: datetime(2027, 1, 15, 14, 0, tzinfo=UTC),
        NO_ZONE: datetime(2027, 1, 15, 9, 0, tzinfo=UTC), "+358401000002": datetime(2027, 1, 15, 0, 0, tzinfo=UTC),
    }


def test_quiet_hours_across_midnight_and_a_dst_change(sdsync: Callable[..., Any], emulator: Any, tmp_path: Path) -> None:
    crm = _crm(tmp_path / "crm.sqlite", [(FI, None, None), (SE, None, None), ("+12122220001", None, None)])
    # 22:30 in Helsinki on the night clocks go forward (28 March 2027, 03:00 EET -> 04:00 EEST)
    result = sdsync(*SEND, "--source", crm, "--query", "SELECT phone FROM people", "--content", "Sale",
                    "--at", "2027-03-27T22:30:00+02:00", "--quiet-hours", "21:00-08:00", "--yes")
    assert result.exit_code == 0, result.output
    assert _send_times(emulator) == {
        FI: datetime(2027, 3, 28, 5, 0, tzinfo=UTC),  # 08:00 EEST
        SE: datetime(2027, 3, 28, 6, 0, tzinfo=UTC),  # 21:30 CET is quiet: 08:00 CEST
        "+12122220001": datetime(2027, 3, 27, 20, 30, tzinfo=UTC),  # 16:30 EDT: not quiet
    }


def test_quiet_hours_from_the_config_and_a_passed_time_goes_out_at_once(
    sdsync: Callable[..., Any], emulator: Any, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    quiet = f"{(now - timedelta(hours=1)).hour:02d}:00-{(now + timedelta(hours=2)).hour:02d}:00"  # now, in UTC
    crm = _crm(tmp_path / "crm.sqlite", [(FI, None, None), (NO_ZONE, None, None)])
    yesterday = (now - timedelta(days=1)).date().isoformat()
    helsinki_now = now.astimezone(ZoneInfo("Europe/Helsinki")).time().replace(tzinfo=None)
    if QuietHours.parse(quiet).contains(helsinki_now):
        pytest.skip("the UTC quiet window covers Helsinki's time too right now")
    result = sdsync(*SEND, "--source", crm, "--query", "SELECT phone FROM people", "--content", "Hi",
                    "--at", yesterday, "--local-time", "12:00", "--yes", CAMPAIGNS__QUIET_HOURS=quiet)
    assert result.exit_code == 0, result.output
    assert "sent at once" in result.output and "would fall in quiet hours" in result.output
    assert "(passed: at once)" in result.output  # the plan said so before sending
    messages = {m["address"]: m for m in emulator.messages()}
    assert messages[FI]["scheduled"] is False
    end = datetime.fromisoformat(messages[NO_ZONE]["send_at"]).astimezone(UTC)
    assert messages[NO_ZONE]["scheduled"] is True and end > now and (end.hour, end.minute) == ((now + timedelta(hours=2)).hour, 0)


def test_sigkill_between_scheduled_batches_sends_each_recipient_once_at_its_time(start_emulator: Any, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit="50/1")
    rows = ([(f"+3584010{i:05d}", None, None) for i in range(1200)] + [(f"+4670{i:07d}", None, None) for i in range(600)]
            + [(f"+1212222{i:04d}", None, None) for i in range(600)])
    crm = _crm(tmp_path / "crm.sqlite", rows)
    env = emulator_env(emulator, tmp_path / "data", rate_limit="50/1")
    ledger, campaign = tmp_path / "data" / "campaigns.sqlite", "local-kill"
    args = [*SEND, "--source", crm, "--query", "SELECT phone FROM people ORDER BY id", "--content", "Hi", "--campaign", campaign,
            "--at", "2027-06-01", "--local-time", "10:00", "--quiet-hours", "22:00-07:00", "--batch-size", "100", "--yes"]
    for kill_after_sent in (3, 11, 17):
        assert run_until_killed(args, env, ledger, campaign, kill_after_sent, None) is None
    assert 0 < sent_batches(ledger, campaign) < 24
    final = run_sdsync(env, *args)
    assert final.returncode == 0, final.stderr + final.stdout
    times = _send_times(emulator)
    assert len(times) == 2400
    expected = {"+358": datetime(2027, 6, 1, 7, 0, tzinfo=UTC), "+46": datetime(2027, 6, 1, 8, 0, tzinfo=UTC),
                "+1": datetime(2027, 6, 1, 14, 0, tzinfo=UTC)}
    assert all(times[address] == next(t for prefix, t in expected.items() if address.startswith(prefix)) for address in times)
    batches = ledger_rows(ledger, "SELECT DISTINCT status FROM campaign_batches WHERE campaign_id = ?", campaign)
    assert batches == [("sent",)]
    per_time = ledger_rows(ledger, "SELECT send_date_time, count(*) FROM campaign_batches GROUP BY send_date_time ORDER BY 1")
    assert per_time == [("2027-06-01T07:00:00+00:00", 12), ("2027-06-01T08:00:00+00:00", 6), ("2027-06-01T14:00:00+00:00", 6)]


def test_a_past_at_is_refused_unless_it_only_gives_the_date(sdsync: Callable[..., Any], emulator: Any, tmp_path: Path) -> None:
    crm = _crm(tmp_path / "crm.sqlite", [(FI, None, None)])
    refused = sdsync(*SEND, "--source", crm, "--query", "SELECT phone FROM people", "--content", "Hi",
                     "--at", "2020-01-01T10:00:00Z", "--quiet-hours", "21:00-08:00", "--yes")
    assert refused.exit_code == 2 and "in the past" in refused.output
    assert emulator.messages() == []


def test_whatsapp_campaigns_take_the_local_time_too(sdsync: Callable[..., Any], emulator: Any, tmp_path: Path) -> None:
    crm = _crm(tmp_path / "crm.sqlite", [(FI, None, None), (SE, None, None), ("+358401000002", None, None)])
    result = sdsync("send-whatsapp", "--customer", "demo-customer", "--service", "sms-oneway", "--source", crm,
                    "--query", "SELECT phone, first_name FROM people", "--template", "order_ready", "--body-params", "first_name",
                    "--at", "2027-01-15", "--local-time", "09:00", "--yes")
    assert result.exit_code == 0, result.output
    assert _send_times(emulator) == {FI: datetime(2027, 1, 15, 7, 0, tzinfo=UTC), "+358401000002": datetime(2027, 1, 15, 7, 0, tzinfo=UTC),
                                     SE: datetime(2027, 1, 15, 8, 0, tzinfo=UTC)}
    assert emulator.stats()["calls_by_operation"]["SendWhatsappTemplateMessage"] == 3  # a parameter set per name
