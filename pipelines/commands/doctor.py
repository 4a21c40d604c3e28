"""`sdsync doctor`: check the set-up end to end and say what to fix."""

from __future__ import annotations

import json
from typing import Optional

import typer

from smartdialog_sync.errors import SdsyncError

from ..runtime import Overrides, stdout
from .journal import JOURNAL_HELP


def doctor(
    ctx: typer.Context,
    offline: bool = typer.Option(False, "--offline", help="Make no API call (skips the credentials check)."),
    crm: Optional[list[str]] = typer.Option(None, "--crm", help="A CRM database URL to try opening (repeatable)."),
    journal: Optional[str] = typer.Option(None, help=JOURNAL_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Check settings (and where each comes from), credentials, stores, databases, data folder privacy, versions.

    The credentials check spends one API call of the rate-limit budget (GetCustomers); --offline skips it.

    Exits 1 when a check fails, 0 when all pass.
    """
    from smartdialog_sync.pipelines.operations.doctor import DoctorOptions, run_doctor
    from smartdialog_sync.pipelines.operations.render import doctor_lines, print_lines

    overrides = ctx.find_object(Overrides)
    checks = run_doctor(DoctorOptions(overrides=dict(overrides.values) if overrides else {}, offline=offline,
                                      crm_urls=list(crm or []), journal=journal))
    if as_json:
        typer.echo(json.dumps([check.as_dict() for check in checks], indent=2))
    else:
        print_lines(stdout, doctor_lines(checks))
    failed = [check.name for check in checks if check.outcome == "fail"]
    if failed:
        raise SdsyncError(f"{len(failed)} check(s) failed: {', '.join(failed)}")
