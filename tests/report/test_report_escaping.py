"""Hostile names from the CRM/service in `sdsync report`: escaped in the HTML page, never markup on the console."""

from __future__ import annotations

from pathlib import Path

from .dataset import from_now, phone
from .output import console_rows, html_rows, run_report
from .test_report import FAILED, builder_for

FIRST = '<script>alert("x")</script><img src=x onerror=alert(1)>'
LAST = "[bold red]O'Brien[/bold red] & <b>Co</b>"


def test_a_hostile_contact_name_is_text_in_the_page_and_on_the_console(emulator, tmp_path: Path) -> None:
    data = builder_for(emulator, tmp_path)
    [recipient_id] = data.send("autumn", [phone(1)], "msg-autumn")
    data.report("msg-autumn", recipient_id, phone(1), "Failed", from_now(5), "UNDELIVERABLE")
    data.group_contact(phone(1), FIRST, LAST)
    page_path = tmp_path / "report.html"
    result = run_report("--duckdb", str(data.load()), "--html", str(page_path))
    assert result.returncode == 0, result.stderr

    page = page_path.read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page and "<b>Co" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    [row] = html_rows(page)["failed_contacts"]
    assert f"{FIRST} {LAST}" in row, "the parsed page shows the name exactly as given"

    [console_row] = console_rows(result.stdout, FAILED)
    assert "[bold red]O'Brien[/bold red]" in " ".join(console_row), "rich markup in a name is printed, not applied"
