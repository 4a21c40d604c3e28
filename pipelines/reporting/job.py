"""The report job behind `sdsync report`: choose the dataset, run the sections, print and write the page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from rich.console import Console

from smartdialog_sync.errors import UsageError

from ..last_pull import chosen_target
from .dataset import open_dataset
from .sections import run_sections
from .summary import summarise

PUBLIC_FILE_MODE = 0o644  # a page for a web server (outside the data dir); files inside stay private (0600)


def build_report(
    data_dir: Path,
    destination: Optional[str],
    credentials: Optional[str],
    dataset: Optional[str],
    stop_keywords: tuple[str, ...],
    out: Console,
    as_json: bool = False,
    html: Optional[Path] = None,
    limit: int = 100,
) -> Optional[Path]:
    """Run the report on the dataset the options (or the last pull) name; print tables or JSON to `out`,
    write the HTML page when `html` is given (whole or not at all) and return its path."""
    from smartdialog_sync.state.files import PIPELINES_DIR
    from .export import report_json
    from .page import render_page
    from .tables import print_report

    if html is not None and not html.parent.is_dir():
        raise UsageError(f"no folder {html.parent} for the HTML file")
    target = chosen_target(data_dir / PIPELINES_DIR, destination, credentials, dataset)
    with open_dataset(target, data_dir) as opened:
        content = summarise(opened, run_sections(opened, stop_keywords))
        page = render_page(opened, content, limit) if html is not None else None
        if as_json:
            out.file.write(report_json(opened, content) + "\n")
        else:
            print_report(out, opened, content, limit)
    if html is None or page is None:
        return None
    temporary = html.with_name(html.name + ".tmp")
    temporary.write_text(page, encoding="utf-8")
    if not html.resolve().is_relative_to(data_dir.resolve()):
        os.chmod(temporary, PUBLIC_FILE_MODE)
    temporary.replace(html)
    return html
