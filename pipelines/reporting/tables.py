"""The report on the terminal: the headline, then each section as a table that fits the terminal's width.

A table wider than the terminal shows the section's narrow columns instead; when even those do not fit,
each row is printed as stacked `column: value` lines, so that no value is cut (`+3584…`).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from .cells import cell_text, column_label, is_numeric_column
from .dataset import ReportDataset
from .sections import SectionResult
from .summary import ReportContent

UNBOUNDED = 100_000


def print_report(console: Console, report: ReportDataset, content: ReportContent, limit: int) -> None:
    """Print the dataset, its notes, the headline figures, then each section (at most `limit` rows)."""
    console.print(f"[bold]SmartDialog report[/bold]: dataset {escape(report.dataset)} in {escape(report.location)}")
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    headline = content.headline
    figures = " · ".join(f"{escape(label)} [bold]{escape(value)}[/bold]" for label, value in headline.figures())
    console.print(f"{escape(headline.period())}: {figures}")
    for result in content.results:
        console.print()
        _print_section(console, result, content, limit)


def _print_section(console: Console, result: SectionResult, content: ReportContent, limit: int) -> None:
    section = result.section
    rows, more = result.shown(limit)
    if not rows:
        console.print(f"[bold]{escape(section.title)}[/bold]")
        console.print("  no data yet")
    else:
        records = [{column: content.shown_value(column, value) for column, value in zip(result.columns, row)} for row in rows]
        table = _table(section.title, section.question, result.columns, records)
        if _width(console, table, "maximum") > console.width:
            table = _table(section.title, section.question, list(section.narrow), records)
            if _width(console, table, "minimum") > console.width:
                table = None
        if table is not None:
            console.print(table)
        else:
            _print_stacked(console, section.title, result.columns, records)
    for note in result.notes + ([f"{more} (--limit)"] if more else []):
        console.print(f"  [yellow]note:[/yellow] {escape(note)}")


def _table(title: str, caption: str, columns: list[str], records: list[dict[str, Any]]) -> Table:
    table = Table(title=title, caption=caption, title_justify="left")
    for column in columns:
        numeric = is_numeric_column([record[column] for record in records])
        table.add_column(column_label(column), justify="right" if numeric else "left", no_wrap=numeric)
    for record in records:
        table.add_row(*(escape(cell_text(record[column])) for column in columns))
    return table


def _width(console: Console, table: Table, which: str) -> int:
    """The table's `maximum` (every cell on one line) or `minimum` (words wrapped) width, however wide the terminal."""
    unbounded = console.options.update(width=UNBOUNDED, max_width=UNBOUNDED)
    return getattr(Measurement.get(console, unbounded, table), which)


def _print_stacked(console: Console, title: str, columns: list[str], records: list[dict[str, Any]]) -> None:
    """Each row as `column: value` lines (for terminals too narrow for even the narrow columns)."""
    console.print(f"[bold]{escape(title)}[/bold]")
    width = max(len(column_label(column)) for column in columns)
    for record in records:
        console.print()
        for column in columns:
            console.print(f"  {escape(column_label(column)).ljust(width)}  {escape(cell_text(record[column]))}")
