"""`sdsync`: the smartdialog-sync command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer

from smartdialog_sync.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, SdsyncError
from smartdialog_sync.logs import LOG_FORMATS

from .commands import api as api_commands
from .commands import auth as auth_commands
from .commands import contacts as contacts_commands
from .commands import demo as demo_command
from .commands import doctor as doctor_command
from .commands import emulator as emulator_command
from .commands import init as init_command
from .commands import journal as journal_commands
from .commands import links as links_commands
from .commands import pull as pull_command
from .commands import report as report_command
from .commands import send as send_commands
from .commands import serve as serve_command
from .commands import state as state_commands
from .commands import status as status_command
from .commands import syncs as syncs_commands
from .runtime import Overrides, configure_logging, console, fit_consoles, stdout

app = typer.Typer(
    name="sdsync",
    help="Connect your data to SmartDialog: pull messages and reports, sync contacts, send campaigns.",
    no_args_is_help=True,
    rich_markup_mode=None,  # help is plain text: `[campaigns]` stays literal, flags show no `<bool>`
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _log_format(value: Optional[str]) -> Optional[str]:
    if value is not None and value not in LOG_FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(LOG_FORMATS)}")
    return value


def _print_version(value: bool) -> None:
    if value:
        from smartdialog_sync import __version__

        stdout.print(f"sdsync {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    base_url: Optional[str] = typer.Option(
        None, help="API base URL; default the local emulator, see the README for production [env SMARTDIALOG__BASE_URL]"
    ),
    access_token: Optional[str] = typer.Option(
        None, help="Static bearer token. Prefer SMARTDIALOG__ACCESS_TOKEN: flags show up in process lists."
    ),
    rate_limit: Optional[str] = typer.Option(
        None, help="Calls/seconds allowed per connection, default 100/60 [env SMARTDIALOG__RATE_LIMIT]"
    ),
    data_dir: Optional[Path] = typer.Option(
        None, help="Folder for local state: limiter window, DuckDB files, journals [env SMARTDIALOG__DATA_DIR]"
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every API call."),
    log_format: Optional[str] = typer.Option(
        None, "--log-format", metavar="text|json", callback=_log_format,
        help="Log records as one line each, plain text or JSON (default: rich on a terminal, text otherwise)."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the sdsync version and exit."),
) -> None:
    """Connection options apply to every command; the environment and .dlt/ config fill the rest."""
    fit_consoles()
    configure_logging(verbose, log_format)
    ctx.obj = Overrides(
        {"base_url": base_url, "access_token": access_token, "rate_limit": rate_limit, "data_dir": data_dir}
    )


# Short help: the one line each command gets in `sdsync --help`, whole at 80 columns.
app.command("init", short_help="Write the example .dlt/ config and a private secrets file.")(init_command.init)
app.command("demo", short_help="Every flow on the emulator and DuckDB, in seconds.")(demo_command.demo)
app.add_typer(api_commands.app, name="api")
app.add_typer(auth_commands.app, name="auth", short_help="Sign in (OAuth2 in the browser), see or drop the token.")
app.add_typer(contacts_commands.app, name="contacts", short_help="Sync CRM contacts into group services.")
app.command("emulator", short_help="Run the SmartDialog emulator (API, OAuth2, admin).")(emulator_command.emulator)
app.add_typer(send_commands.app)
app.command("serve", short_help="Receive webhooks and delivery reports into a journal.")(serve_command.serve)
app.add_typer(journal_commands.app, name="journal")
app.add_typer(links_commands.app, name="links")
app.command("report", short_help="Traffic, delivery funnel, reply and opt-out rates.")(report_command.report)
app.command("pull", short_help="Load messages, reports and account data with dlt.")(pull_command.pull)
app.command("status", short_help="What the local stores say, without any API call.")(status_command.status)
app.add_typer(state_commands.app, name="state")
app.add_typer(syncs_commands.app, name="syncs", short_help="List and check the syncs declared in .dlt/config.toml.")
app.command("run", short_help="Run one declared sync ([syncs.NAME]) and record it.")(syncs_commands.run)
app.command("doctor", short_help="Check settings, credentials, stores and versions.")(doctor_command.doctor)


def main() -> None:
    """Console entry point: run the app; every error of ours ends as one line and its exit code.

    This is the one place where errors become exit codes: 1 when the job failed, 2 for bad usage,
    input or configuration (`SdsyncError.exit_code`). Our messages may quote servers and CRMs, so they
    are printed as plain text, never as markup.
    """
    click_exceptions = _click_exceptions()
    try:
        code = app(standalone_mode=False, prog_name="sdsync")
    except SdsyncError as exc:
        _error_line(exc.exit_code, str(exc))
    except click_exceptions.NoArgsIsHelpError as exc:
        exc.show()  # `sdsync api` alone: the group's help, exit 2 as for any usage error
        sys.exit(exc.exit_code)
    except click_exceptions.UsageError as exc:
        hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        _error_line(EXIT_USAGE, exc.format_message().rstrip(".") + hint)
    except click_exceptions.ClickException as exc:
        _error_line(exc.exit_code, exc.format_message())
    except typer.Abort:
        _error_line(EXIT_FAILURE, "aborted")
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _error_line(exit_code: int, message: str) -> NoReturn:
    """Print `error: ...` (usage, exit 2) or `failed: ...` as one plain-text line and exit with the code."""
    label = "error" if exit_code == EXIT_USAGE else "failed"
    console.print(f"[red]{label}:[/red] ", end="")
    console.print(" ".join(message.split()), markup=False, highlight=False, soft_wrap=True)  # one line, however long
    sys.exit(exit_code)


def _click_exceptions() -> Any:
    """Click's exception module: vendored inside Typer from 0.2x on, the `click` package before."""
    try:
        from typer._click import exceptions
    except ImportError:  # typer < 0.20 depends on click itself
        from click import exceptions
    return exceptions


if __name__ == "__main__":
    main()
