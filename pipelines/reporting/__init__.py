"""Analytics over the pulled dataset: the report's sections (SQL in sql/report_*.sql), console, JSON and HTML output."""

from .dataset import DatasetError, ReportDataset, open_dataset
from .job import build_report
from .sections import SECTIONS, Section, SectionResult, run_sections

__all__ = [
    "SECTIONS",
    "DatasetError",
    "ReportDataset",
    "Section",
    "SectionResult",
    "build_report",
    "open_dataset",
    "run_sections",
]
