"""Skips caused by a missing test service fail under CI and are counted locally (a pytest plugin).

A test skipped because PostgreSQL (SDSYNC_TEST_POSTGRES_URL) or the official API definition
(../shared/reference/smartdialog/) is missing fails instead when the `CI` environment variable is set,
so a CI run never passes without the checks that need them. Locally such skips stay skips, counted in one
line at the end of the run. tests/conftest.py installs these hooks.
"""

from __future__ import annotations

import os
from typing import Any, Generator, Literal

import pytest


# A skip whose reason contains one of these texts means a service the suite needs is missing.
REQUIRED_SERVICES = {
    "SDSYNC_TEST_POSTGRES_URL": "PostgreSQL (SDSYNC_TEST_POSTGRES_URL is not set)",
    "API definition not found": "the official API definition (../shared/reference/smartdialog/)",
    "dbt is not installed": "dbt (the [dbt] extra)",
}


def _missing_service(report: pytest.TestReport | pytest.CollectReport) -> str | None:
    """The service a skipped report says is missing, or None for an ordinary skip."""
    if not report.skipped or not isinstance(report.longrepr, tuple):
        return None
    reason = report.longrepr[2]
    return next((service for text, service in REQUIRED_SERVICES.items() if text in reason), None)


def _fail_under_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Under CI, turn a skip for a missing service into a failure naming it."""
    service = _missing_service(report)
    if service and os.environ.get("CI"):
        outcome: Literal["failed"] = "failed"
        report.outcome = outcome
        report.longrepr = f"CI is set but {service} is missing: this test would have been skipped ({report.longrepr[2]})"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _fail_under_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
        collector: pytest.Collector) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _fail_under_ci(report)
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: Any) -> Generator[None, None, None]:
    """One line, after pytest's own summary, counting the skips caused by a missing service."""
    yield
    counts: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        service = _missing_service(report)
        if service:
            counts[service] = counts.get(service, 0) + 1
    if counts:
        missing = "; ".join(f"{count} for {service}" for service, count in counts.items())
        terminalreporter.write_line(f"SKIPPED because a test service is missing: {missing} "
                                    "(scripts/test.sh starts PostgreSQL; CI=1 makes these failures)", yellow=True)
