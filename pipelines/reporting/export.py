"""The report as JSON: every section's rows, for monitoring, notebooks and tests."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from .dataset import ReportDataset
from .sections import SectionResult


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def report_json(report: ReportDataset, results: list[SectionResult]) -> str:
    """`{"dataset", "location", "notes", "sections": {key: {"title", "columns", "rows": [{column: value}], "notes"}}}`."""
    document = {
        "dataset": report.dataset,
        "location": report.location,
        "notes": report.notes,
        "sections": {
            result.section.key: {
                "title": result.section.title,
                "columns": result.columns,
                "rows": [{column: _value(value) for column, value in zip(result.columns, row)} for row in result.rows],
                "notes": result.notes,
            }
            for result in results
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
