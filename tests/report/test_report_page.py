"""The report as a reader sees it: headline figures first, campaigns by name, an 80-column terminal, a chart
for a few days, and the HTML file's permissions inside and outside the data dir."""

from __future__ import annotations

import html
import json
import os
import re
import stat
from datetime import datetime, timezone
from pathlib import Path

from .dataset import phone
from .output import run_report
from .test_report import campaigns_dataset, name  # noqa: F401  (module fixture)


def test_headline_figures_come_first(campaigns_dataset: Path, tmp_path: Path) -> None:  # noqa: F811
    page_path = tmp_path / "report.html"
    result = run_report("--duckdb", str(campaigns_dataset), "--html", str(page_path))
    assert result.returncode == 0, result.stderr
    headline = "recipients 14 · delivered 78.6 % · failed 2 · replies 3 · opt-outs 2"
    first_section = result.stdout.index("Message traffic per day")
    assert headline in " ".join(result.stdout[:first_section].split())
    page = page_path.read_text(encoding="utf-8")
    cards = re.findall(r"<li><b>([^<]*)</b><span>([^<]*)</span></li>", page)
    assert cards == [("14", "recipients"), ("78.6 %", "delivered"), ("2", "failed"), ("3", "replies"), ("2", "opt-outs")]
    assert page.index('class="headline"') < page.index('<section id="traffic_per_day"')
    document = json.loads(run_report("--duckdb", str(campaigns_dataset), "--json").stdout)
    assert document["headline"] | {"first_day": None, "last_day": None} == {
        "recipients": 14, "delivered": 11, "delivered_pct": 78.6, "failed": 2, "replied": 3, "opted_out": 2,
        "first_day": None, "last_day": None}
    assert document["campaigns"] == {"spring": name("spring"), "winter": name("winter")}


def test_an_80_column_terminal_shows_every_value_whole(campaigns_dataset: Path) -> None:  # noqa: F811
    result = run_report("--duckdb", str(campaigns_dataset), columns=80)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.stdout.replace(name("spring"), "").replace(name("winter"), "")
    text = " ".join(result.stdout.split())
    for address in (phone(7), phone(8), phone(23)):
        assert address in text, f"{address} is shown whole"
    assert "UNDELIVERABLE" in text and "Maija Meikäläinen" in text


def test_a_few_days_of_traffic_read_as_bars_with_full_dates(campaigns_dataset: Path, tmp_path: Path) -> None:  # noqa: F811
    page_path = tmp_path / "report.html"
    assert run_report("--duckdb", str(campaigns_dataset), "--html", str(page_path)).returncode == 0
    page = page_path.read_text(encoding="utf-8")
    traffic = page[page.index('<section id="traffic_per_day"'):page.index('<section id="delivery_funnel"')]
    today = datetime.now(timezone.utc).date().isoformat()
    assert f">{today}</text>" in traffic, "the day is labelled with its year"
    assert f"{today} outbound: 14" in html.unescape(traffic)
    assert "--limit" not in page


def test_a_page_outside_the_data_dir_is_readable_by_a_web_server(campaigns_dataset: Path, tmp_path: Path) -> None:  # noqa: F811
    data_dir, www = tmp_path / "data", tmp_path / "www"
    www.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SMARTDIALOG__", "CAMPAIGNS__"))}
    env["SMARTDIALOG__DATA_DIR"] = str(data_dir)
    for page_path in (www / "report.html", data_dir / "report.html"):
        result = run_report("--duckdb", str(campaigns_dataset), "--html", str(page_path), env=env)
        assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((www / "report.html").stat().st_mode) == 0o644
    assert stat.S_IMODE((data_dir / "report.html").stat().st_mode) == 0o600
