"""Output at 80 and 160 columns: ids, names and paths are never cut or broken mid-word.

`sdsync journal marks` and `sdsync api templates` run as subprocesses at a fixed width (COLUMNS); the status
screen of a real report is drawn on a terminal console of a fixed width.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from smartdialog_sync.journal import open_journal
from smartdialog_sync.pipelines.operations.render import print_lines, status_lines
from tests.support.cli import Sdsync

WIDTHS = [80, 160]
PIPELINE = "smartdialog_pull_duckdb_smartdialog_848a444e"


def _words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("width", WIDTHS)
def test_journal_marks_show_whole_pipeline_names(tmp_path: Path, width: int) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    store = open_journal(data / "journal.sqlite")
    store.save_pull_mark(PIPELINE, "inbound", 12_345, int(time.time() * 1e6))
    store.save_pull_mark(PIPELINE, "delivery_reports", 6, int(time.time() * 1e6))
    store.close()
    done = Sdsync(tmp_path, "--data-dir", str(data), env={"COLUMNS": str(width)}).run("journal", "marks")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sum(PIPELINE in line for line in lines) >= 1, done.stdout
    assert "…" not in done.stdout and "..." not in done.stdout
    assert max(len(line) for line in lines) <= width, done.stdout
    for word in ("inbound", "delivery_reports", "12,345"):
        assert word in _words(done.stdout), done.stdout


@pytest.mark.parametrize("width", WIDTHS)
def test_api_tables_show_whole_ids(emulator: Any, tmp_path: Path, width: int) -> None:
    sdsync = Sdsync(tmp_path, "--base-url", emulator.base_url, "--data-dir", str(tmp_path / "data"),
                    env={"COLUMNS": str(width)})
    templates = json.loads(sdsync.run("api", "templates", "--customer", "demo-customer", "--json").stdout)
    assert templates, "the seed has templates"
    done = sdsync.run("api", "templates", "--customer", "demo-customer")
    assert done.returncode == 0, done.stderr
    for template in templates:
        for key in ("id", "name"):
            if template.get(key):
                assert any(str(template[key]) in line for line in done.stdout.splitlines()), (template[key], done.stdout)
    assert "…" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= width, done.stdout


@pytest.mark.parametrize("width", WIDTHS)
def test_the_status_screen_wraps_between_words(tmp_path: Path, width: int) -> None:
    data = tmp_path / "a_data_folder_with_a_rather_long_name_for_a_test" / "and_another_long_folder_name"
    data.mkdir(parents=True, mode=0o700)
    store = open_journal(data / "journal.sqlite")
    store.save_pull_mark(PIPELINE, "inbound", 0, int(time.time() * 1e6))
    store.close()
    done = Sdsync(tmp_path, "--data-dir", str(data)).run("status", "--json")
    report = json.loads(done.stdout)
    lines = list(status_lines(report))
    screen = io.StringIO()
    print_lines(Console(file=screen, width=width, force_terminal=True, color_system=None), lines)
    shown = screen.getvalue().splitlines()
    assert _words(screen.getvalue()) == [word for line in lines for word in _words(line.plain)], "no word broken or lost"
    for line in shown:
        assert len(line) <= width or len(_words(line)) == 1, f"{line!r} is wider than {width} and could wrap"
    assert any(str(data) in line for line in shown), "the data dir's path whole"
    assert max(len(line.plain) for line in lines) > 80, "a line to wrap at 80 columns"
