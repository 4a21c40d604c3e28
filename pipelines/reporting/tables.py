"""The report's sections as rich tables for the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .cells import cell_text, column_label, is_numeric_column
from .dataset import ReportDataset
from .sections import SectionResult


def print_report(console: Console, report: ReportDataset, results: list[SectionResult], limit: int) -> None:
    """Print the dataset notes, then each section as a table of at most `limit` rows."""
    console.print(f"[bold]SmartDialog report[/bold]: dataset {escape(report.dataset)} in {escape(report.location)}")
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    for result in results:
        console.print()
        rows, more = result.shown(limit)
        table = Table(title=result.section.title, caption=result.section.question, title_justify="left")
        for index, column in enumerate(result.columns):
            numeric = is_numeric_column([row[index] for row in rows])
            table.add_column(column_label(column), justify="right" if numeric else "left")
        for row in rows:
            table.add_row(*(escape(cell_text(value)) for value in row))
        console.print(table)
        for note in result.notes + ([more] if more else []):
            console.print(f"  [yellow]note:[/yellow] {escape(note)}")
