"""The report as one self-contained HTML page: inline CSS and inline SVG charts, no scripts, no links out."""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from typing import Any, Callable

from .cells import cell_text, column_label, is_numeric_column
from .charts import funnel_chart, rates_chart, traffic_chart
from .dataset import ReportDataset
from .sections import SectionResult
from .summary import ReportContent

CHARTS: dict[str, Callable[[list[dict]], str]] = {
    "traffic_per_day": traffic_chart,
    "delivery_funnel": funnel_chart,
    "reply_rates": rates_chart,
}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px;
       padding: 0 1rem; color: #222; background: #fafbfc; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; margin: 0 0 0.3rem; }
header p, .question { color: #555; margin: 0.2rem 0 0.8rem; }
section { background: #fff; border: 1px solid #e3e6ea; border-radius: 8px; padding: 1rem 1.2rem; margin: 1.2rem 0; }
.notes { background: #fff8e1; border-left: 4px solid #f0b429; padding: 0.4rem 0.8rem; margin: 0.6rem 0; list-style: none; }
.notes li { margin: 0.1rem 0; }
.chart { margin: 0.6rem 0 1rem; }
.chart svg { max-width: 100%; height: auto; }
.headline { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 0.8rem 0; padding: 0; list-style: none; }
.headline li { background: #fff; border: 1px solid #e3e6ea; border-radius: 8px; padding: 0.6rem 1rem; min-width: 7rem; }
.headline b { display: block; font-size: 1.6rem; font-variant-numeric: tabular-nums; }
.headline span { color: #555; font-size: 0.9rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #eceef1; text-align: left; overflow-wrap: anywhere; }
th { background: #f3f5f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: #777; font-style: italic; }
"""


def render_page(report: ReportDataset, content: ReportContent, limit: int) -> str:
    """The whole report as an HTML document: the headline figures first, then each section (its table and
    chart show at most `limit` rows)."""
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>SmartDialog report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<header><h1>SmartDialog report</h1>",
        f"<p>Dataset <code>{escape(report.dataset)}</code> in <code>{escape(report.location)}</code>, "
        f"generated {generated}.</p>",
        _notes(report.notes),
        _headline(content),
        "</header>",
    ]
    parts += [_section(result, content, limit) for result in content.results]
    parts.append("</body></html>")
    return "\n".join(parts)


def _notes(notes: list[str]) -> str:
    if not notes:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{escape(note)}</li>" for note in notes) + "</ul>"


def _headline(content: ReportContent) -> str:
    headline = content.headline
    items = "".join(f"<li><b>{escape(value)}</b><span>{escape(label)}</span></li>" for label, value in headline.figures())
    return f'<p>Period {escape(headline.period())} (UTC):</p><ul class="headline">{items}</ul>'


def _section(result: SectionResult, content: ReportContent, limit: int) -> str:
    section = result.section
    chart = CHARTS.get(section.key)
    shown, more = result.shown(limit)
    rows = [tuple(content.shown_value(column, value) for column, value in zip(result.columns, row)) for row in shown]
    parts = [
        f'<section id="{section.key}"><h2>{escape(section.title)}</h2>',
        f'<p class="question">{escape(section.question)}</p>',
        _notes(result.notes + ([more] if more else [])),
    ]
    if rows and chart:
        parts.append(f'<div class="chart">{chart([dict(zip(result.columns, row)) for row in rows])}</div>')
    parts.append(_table(result.columns, rows) if rows else '<p class="empty">No data yet.</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    numeric = [is_numeric_column([row[i] for row in rows]) for i in range(len(columns))]
    head = "".join(
        f'<th{" class=num" if is_num else ""}>{escape(column_label(column))}</th>'
        for column, is_num in zip(columns, numeric)
    )
    body = "".join(
        "<tr>" + "".join(
            f'<td{" class=num" if is_num else ""}>{escape(cell_text(value))}</td>' for value, is_num in zip(row, numeric)
        ) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
