"""The report as JSON: every section's rows, for monitoring, notebooks and tests."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from .dataset import ReportDataset
from .summary import ReportContent


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def report_json(report: ReportDataset, content: ReportContent) -> str:
    """`{"dataset", "location", "notes", "headline", "campaigns": {id: name},
    "sections": {key: {"title", "columns", "rows": [{column: value}], "notes"}}}`; every row of every section."""
    document = {
        "dataset": report.dataset,
        "location": report.location,
        "notes": report.notes,
        "headline": content.headline.as_dict(),
        "campaigns": content.labels,
        "sections": {
            result.section.key: {
                "title": result.section.title,
                "columns": result.columns,
                "rows": [{column: _value(value) for column, value in zip(result.columns, row)} for row in result.rows],
                "notes": result.notes,
            }
            for result in content.results
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
