"""`sdsync doctor`: check a set-up end to end, one result per check, each failure with what to fix."""

from __future__ import annotations

import os
import platform
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from smartdialog_sync.constants import EMULATOR_BASE_URL, PRODUCTION_BASE_URL
from smartdialog_sync.errors import SdsyncError
from smartdialog_sync.state.location import (
    StateLocation,
    hide_password,
    is_postgres_url,
)

from .config_sources import MASK, find
from .stores import postgres_readonly, sqlite_path, sqlite_readonly, sqlite_tables

SECRET_SETTINGS = ("access_token", "client_secret", "refresh_token")
URL_SETTINGS = ("limiter_url", "state_url")
DESTINATION_KEYS = (("destination", "postgres"), ("destination", "duckdb"))


@dataclass(frozen=True)
class Check:
    """One check: `outcome` is ok, fail, skip or info; a failure says what to `fix`."""

    name: str
    outcome: str
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        """The check as JSON-ready data."""
        return asdict(self)


@dataclass
class DoctorOptions:
    """What to check: command-line overrides of [smartdialog], databases, and whether to call the API."""

    overrides: dict[str, Any] = field(default_factory=dict)
    offline: bool = False
    crm_urls: list[str] = field(default_factory=list)
    journal: Optional[str] = None


def run_doctor(options: DoctorOptions) -> list[Check]:
    """Run every check and return the results in order."""
    from smartdialog_sync.api.config import check_credentials
    from smartdialog_sync.api.resolve import read_settings

    checks = list(setting_checks(options.overrides))
    configured = read_settings(**options.overrides)
    checks.append(base_url_check(configured.base_url))
    try:
        settings = check_credentials(configured)
    except SdsyncError as exc:
        checks.append(Check("credentials", "fail", str(exc), "set them (see the settings and their sources above)"))
    else:
        checks.append(credentials_check(settings) if not options.offline
                      else Check("credentials", "skip", "--offline: no API call made"))
    data_dir = configured.data_dir
    checks.append(data_dir_check(options.overrides, data_dir))
    checks.append(state_check(configured.state))
    checks.append(limiter_check(configured.state.limiter(configured.limiter_url)))
    checks.append(token_store_check(configured))
    checks.append(journal_check(configured.state, options.journal))
    checks += [database_check(f"crm {index}" if len(options.crm_urls) > 1 else "crm", url)
               for index, url in enumerate(options.crm_urls, 1)]
    checks += list(destination_checks(data_dir))
    checks.append(privacy_check(data_dir))
    checks.append(versions_check())
    return checks


# --- settings --------------------------------------------------------------------------------------------


def setting_checks(overrides: dict[str, Any]) -> Iterator[Check]:
    """Each [smartdialog] setting, its value (secrets masked) and where it came from."""
    from smartdialog_sync.api.config_spec import SmartDialogCredentials

    defaults = SmartDialogCredentials()
    for key in defaults:
        if overrides.get(key) is not None:
            value, source = overrides[key], f"--{key.replace('_', '-')} on the command line"
        else:
            found = find(key, ("smartdialog",))
            value, source = (found.value, found.source) if found else (getattr(defaults, key, None), "default")
        if value is None:
            yield Check(f"setting {key}", "info", "not set")
            continue
        yield Check(f"setting {key}", "info", f"{_shown(key, value)} (from {source})")


def _shown(key: str, value: Any) -> str:
    if key in SECRET_SETTINGS:
        return MASK
    if key in URL_SETTINGS:
        return hide_password(str(value))
    return str(value)


def data_dir_check(overrides: dict[str, Any], data_dir: Path) -> Check:
    """Which data dir this invocation uses, and why (flag, environment, a .dlt/ file, or the default)."""
    if overrides.get("data_dir") is not None:
        why = "--data-dir on the command line"
    else:
        found = find("data_dir", ("smartdialog",))
        why = found.source if found else "default: the user's data dir ($XDG_DATA_HOME/sdsync), whatever the current folder"
    return Check("data dir", "info", f"{data_dir.resolve()} (from {why})")


def state_check(state: StateLocation) -> Check:
    """Where the stores live: the data dir's files, or the shared PostgreSQL of `state_url` (password hidden)."""
    if not state.shared:
        return Check("state", "info", f"{state.describe()} (no state_url: nothing is shared with other machines)")
    assert state.url is not None
    check = database_check("state", state.url)
    return Check("state", check.outcome, f"shared, in PostgreSQL: {check.detail}", check.fix)


def base_url_check(base_url: str) -> Check:
    """Say whether the base URL is the emulator, production or something else."""
    from smartdialog_sync.oauth import is_loopback_url

    if base_url.rstrip("/") == PRODUCTION_BASE_URL:
        return Check("base url", "info", f"{base_url}: the production SmartDialog API (real messages, real cost)")
    if base_url.rstrip("/") == EMULATOR_BASE_URL or is_loopback_url(base_url):
        return Check("base url", "info", f"{base_url}: a local emulator (nothing reaches phones)")
    return Check("base url", "info", f"{base_url}: neither production ({PRODUCTION_BASE_URL}) nor a local emulator")


def credentials_check(settings: Any) -> Check:
    """One GetCustomers call, never retried: it spends exactly one call of the rate-limit budget."""
    from smartdialog_sync.api import SmartDialogClient
    from smartdialog_sync.api.retry import RetryPolicy

    spent = f"spent 1 call of the {settings.rate_limit} budget"
    try:
        with SmartDialogClient(settings, retry=RetryPolicy(attempts=1)) as client:
            customers = client.get_user_customers()
    except SdsyncError as exc:
        return Check("credentials", "fail", f"GetCustomers failed: {exc} ({spent})",
                     "check the token or the OAuth client settings, and the base URL")
    return Check("credentials", "ok", f"GetCustomers answered with {len(customers)} customer(s) ({spent})")


# --- stores and databases --------------------------------------------------------------------------------


def limiter_check(target: str | Path) -> Check:
    """The limiter's window store (`StateLocation.limiter`) opens (PostgreSQL) or exists / can be created (SQLite)."""
    if isinstance(target, Path):
        return _sqlite_check("limiter store", target, create_ok=True)
    return database_check("limiter store", target)


def token_store_check(settings: Any) -> Check:
    """Where the OAuth2 tokens are kept and whether this connection has some there (read-only)."""
    from smartdialog_sync.api.token_store import read_stored_tokens

    if not settings.uses_oauth:
        return Check("token store", "skip", "no OAuth2 client configured (a static token or none)")
    try:
        where, stored = read_stored_tokens(settings)
    except Exception as exc:  # any driver's or file's error: the check's outcome
        return Check("token store", "fail", f"cannot be read: {_first_line(exc)}",
                     "check the state_url or the data dir's oauth_tokens.json")
    if stored is None or stored.refresh_token is None:
        configured = "; the configured refresh token is used first" if settings.refresh_token else ""
        return Check("token store", "info", f"{where}: no refresh token stored for this connection{configured}")
    return Check("token store", "ok", f"{where}: a refresh token is stored for this connection")


def journal_check(state: StateLocation, journal: Optional[str]) -> Check:
    """The receiver's journal (`--journal`, else the state's) opens."""
    location = state.journal(journal)
    if isinstance(location, str):
        return database_check("journal", location)
    return _sqlite_check("journal", location, create_ok=True)


def database_check(name: str, url: str) -> Check:
    """A database URL opens and answers SELECT 1 (PostgreSQL in a read-only session)."""
    shown = hide_password(url)
    if url.startswith("sqlite:") or "://" not in url:
        return _sqlite_check(name, sqlite_path(url), create_ok=False)
    if url.startswith("duckdb:"):
        return _duckdb_check(name, Path(url.removeprefix("duckdb:///")))
    import sqlalchemy

    try:
        if is_postgres_url(url):
            with postgres_readonly(url) as connection:
                version = connection.execute(sqlalchemy.text("SHOW server_version")).scalar_one()
            return Check(name, "ok", f"{shown} opens (PostgreSQL {version})")
        engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(sqlalchemy.text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # any driver's error: reported as the check's outcome
        return Check(name, "fail", f"{shown} does not open: {_first_line(exc)}",
                     "check the URL, that the server runs and accepts this user from this host")
    return Check(name, "ok", f"{shown} opens")


def _sqlite_check(name: str, path: Path, create_ok: bool) -> Check:
    if not path.exists():
        if not create_ok:
            return Check(name, "fail", f"{path} does not exist", "check the path")
        parent = _existing_parent(path)
        if os.access(parent, os.W_OK):
            return Check(name, "ok", f"{path} not created yet (the first run creates it)")
        return Check(name, "fail", f"{path} cannot be created: {parent} is not writable",
                     f"make {parent} writable for this user")
    try:
        with sqlite_readonly(path) as connection:
            tables = sqlite_tables(connection)
    except Exception as exc:  # sqlite3 errors: unreadable or not a database
        return Check(name, "fail", f"{path} does not open: {_first_line(exc)}", "check the file and its permissions")
    return Check(name, "ok", f"{path} opens ({len(tables)} tables)")


def _duckdb_check(name: str, path: Path) -> Check:
    import duckdb

    if not path.exists():
        return Check(name, "ok", f"{path} not created yet (the first pull creates it)")
    try:
        with duckdb.connect(str(path), read_only=True) as connection:
            connection.execute("SELECT 1")
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return Check(name, "ok", f"{path} is in use by a running job (locked)")
        return Check(name, "fail", f"{path} does not open: {_first_line(exc)}", "check the file and its permissions")
    except duckdb.Error as exc:
        return Check(name, "fail", f"{path} does not open: {_first_line(exc)}", "check the file and its permissions")
    return Check(name, "ok", f"{path} opens")


def destination_checks(data_dir: Path) -> Iterator[Check]:
    """dlt destination credentials in the config ([destination.postgres], [destination.duckdb]), and the default DuckDB file."""
    configured = False
    for sections in DESTINATION_KEYS:
        found = find("credentials", sections)
        if found is None:
            continue
        configured = True
        name = f"{sections[1]} destination"
        url = _credentials_url(sections[1], found.value)
        if url is None:
            yield Check(name, "fail", f"credentials from {found.source} are not a URL or a table of fields",
                        "write them as a connection string or as host/username/password/database")
            continue
        check = database_check(name, url)
        yield Check(check.name, check.outcome, f"{check.detail} (from {found.source})", check.fix)
    if not configured:
        yield _duckdb_check("duckdb destination", data_dir / "sdsync.duckdb")


def _credentials_url(kind: str, value: Any) -> Optional[str]:
    if isinstance(value, str):
        return value if "://" in value or kind != "duckdb" else f"duckdb:///{value}"
    if isinstance(value, dict) and kind == "postgres":
        import sqlalchemy

        return sqlalchemy.URL.create(
            "postgresql", username=value.get("username"), password=value.get("password"), host=value.get("host"),
            port=value.get("port"), database=value.get("database"),
        ).render_as_string(hide_password=False)
    return None


# --- the data folder and versions ------------------------------------------------------------------------


def privacy_check(data_dir: Path) -> Check:
    """The data folder and everything in it are private to the user (folders 0700, files 0600)."""
    if not data_dir.exists():
        return Check("data folder", "ok", f"{data_dir} not created yet (create it private: mkdir -m 700 {data_dir})")
    entries, open_ones = 0, []
    for root, folders, files in os.walk(data_dir):
        for path in [Path(root)] + [Path(root) / name for name in files]:
            entries += 1
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077 and not path.is_symlink():
                open_ones.append(f"{path} ({mode:04o})")
    if open_ones:
        return Check("data folder", "fail",
                     f"{len(open_ones)} of {entries} entries in {data_dir} are open to group or others, e.g. {open_ones[0]}",
                     f"chmod -R go-rwx {data_dir}, and run the jobs with umask 077")
    return Check("data folder", "ok", f"{data_dir} is private ({entries} entries: folders 0700, files 0600)")


def versions_check() -> Check:
    """The sdsync, Python, dlt and DuckDB versions in use."""
    import dlt
    import duckdb

    from smartdialog_sync import __version__

    return Check("versions", "info", f"sdsync {__version__}, Python {platform.python_version()}, dlt {dlt.__version__}, DuckDB {duckdb.__version__}")


# --- helpers ---------------------------------------------------------------------------------------------


def _existing_parent(path: Path) -> Path:
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
