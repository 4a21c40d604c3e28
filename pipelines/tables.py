"""Tables that fit any terminal: a table when every value fits whole, else one block per row.

Ids, names and paths are never cut or broken mid-word: a rich table that does not fit would shrink its
columns and fold or ellipsize them, so when the widest values do not fit the console, each row is shown
as its first value followed by one `column: value` line per other column. Values are plain text.
"""

from __future__ import annotations

from typing import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

CELL_PADDING = 2  # rich's default: one space either side of a cell
BORDER = 1  # one vertical line per column, and one more


def table_fits(console: Console, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> bool:
    """Whether a boxed table of these values fits the console's width without shrinking a column."""
    widths = [max([len(column), *(len(row[index]) for row in rows)]) for index, column in enumerate(columns)]
    return sum(widths) + len(widths) * (CELL_PADDING + BORDER) + BORDER <= console.width


def print_table(console: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]],
                right: Sequence[str] = ()) -> None:
    """Print `rows` as a table titled `title` (`right`: columns aligned right), or as blocks when it does not fit."""
    if table_fits(console, columns, rows):
        table = Table(title=title)
        for column in columns:
            table.add_column(column, justify="right" if column in right else "left", no_wrap=True)
        for row in rows:
            table.add_row(*(Text(value) for value in row))
        console.print(table)
        return
    console.print(Text(title, style="italic"), soft_wrap=True)
    for row in rows:
        console.print(Text(row[0], style="bold"), soft_wrap=True)
        for column, value in zip(columns[1:], row[1:]):
            if value:
                console.print(Text(f"  {column}: {value}"), soft_wrap=True, highlight=False)
