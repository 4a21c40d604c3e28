"""Where the state lives: local files in the data dir, or one PostgreSQL database shared by every machine.

`[smartdialog] state_url` (env `SMARTDIALOG__STATE_URL`) set to a `postgresql://` URL puts every store
there (ledger, reply record, contact state, tokens, journal, limiter window); unset, the stores are files in the data
dir. `journal_url` and `limiter_url` stay as overrides of their one store.

The data dir is `data_dir` when it is set (flag, environment or `.dlt/config.toml`), else the user's
data dir (`$XDG_DATA_HOME/sdsync`, usually `~/.local/share/sdsync`): never a folder that depends on where
a command happens to run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from smartdialog_sync.errors import UsageError

from . import files

APP_NAME = "sdsync"
SQLITE_URL_PREFIX = "sqlite:///"
DUCKDB_URL_PREFIX = "duckdb:///"


def is_postgres_url(url: str) -> bool:
    """True for postgresql:// (and postgres://, postgresql+driver://) URLs."""
    return url.startswith(("postgresql:", "postgresql+", "postgres:"))


def postgres_url(url: str) -> str:
    """A PostgreSQL URL in the form SQLAlchemy takes (postgres:// becomes postgresql://)."""
    return "postgresql://" + url[len("postgres://"):] if url.startswith("postgres://") else url


def hide_password(url: str) -> str:
    """A database URL with its password replaced by ***, for messages; a plain path as it is."""
    if "://" not in url:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable URL>"


def user_data_dir() -> Path:
    """The per-user data dir: `$XDG_DATA_HOME/sdsync`, else `~/.local/share/sdsync`."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / APP_NAME


def user_cache_dir() -> Path:
    """The per-user cache dir: `$XDG_CACHE_HOME/sdsync`, else `~/.cache/sdsync`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / APP_NAME


def local_path(value: str | os.PathLike[str], what: str, url_prefix: str = SQLITE_URL_PREFIX) -> Path:
    """The file a local store option names (a path, or a `sqlite:///`/`duckdb:///` URL).

    Any other URL is refused with exit 2: it is never turned into a file name.
    """
    text = str(value)
    if text.startswith(url_prefix):
        text = text[len(url_prefix):]
    if "://" in text or is_postgres_url(text):
        raise UsageError(f"{what} must be a file path or a {url_prefix} URL here, not a URL ({_scheme(text)}://...)")
    if not text:
        raise UsageError(f"{what} must not be empty")
    return Path(text)


def store_target(value: str | os.PathLike[str], what: str, url_prefix: str = SQLITE_URL_PREFIX) -> str | Path:
    """A store option as given: a `postgresql://` URL as it is, else the local file (see `local_path`)."""
    text = str(value)
    if is_postgres_url(text):
        return postgres_url(text)
    return local_path(text, what, url_prefix)


def _scheme(text: str) -> str:
    return text.split(":", 1)[0] or "?"


@dataclass(frozen=True)
class StateLocation:
    """The state of this invocation: the data dir and, when shared, the PostgreSQL URL holding every store."""

    data_dir: Path
    url: str | None = None

    def __post_init__(self) -> None:
        if self.url is not None and not is_postgres_url(self.url):
            raise UsageError(f"state_url must be a postgresql:// URL, not {_scheme(self.url)}://...")

    @property
    def shared(self) -> bool:
        """True when the stores live in PostgreSQL."""
        return self.url is not None

    def target(self, override: str | os.PathLike[str] | None, local_file: str, what: str,
               url_prefix: str = SQLITE_URL_PREFIX) -> str | Path:
        """Where one store lives: `override` when given, else the state URL, else `local_file` in the data dir."""
        if override:
            return store_target(override, what, url_prefix)
        if self.url:
            return postgres_url(self.url)
        return self.data_dir / local_file

    def ledger(self, override: str | os.PathLike[str] | None = None) -> str | Path:
        """The campaign ledger: `--ledger`, else the state, else `<data_dir>/campaigns.sqlite`."""
        return self.target(override, files.LEDGER_FILE, "--ledger")

    def replies(self) -> str | Path:
        """The record of replies sent (`sdsync reply`): the state, else `<data_dir>/replies.sqlite`."""
        return postgres_url(self.url) if self.url else self.data_dir / files.REPLIES_FILE

    def contact_state(self, override: str | os.PathLike[str] | None = None) -> str | Path:
        """The contact-sync state: `--state`, else the state, else `<data_dir>/contacts_state.duckdb`."""
        return self.target(override, files.CONTACT_STATE_FILE, "--state", DUCKDB_URL_PREFIX)

    def journal(self, override: str | os.PathLike[str] | None = None) -> str | Path:
        """The receiver's journal: `journal_url`, else the state, else `<data_dir>/journal.sqlite`."""
        return self.target(override, files.JOURNAL_FILE, "the journal")

    def tokens(self) -> str | Path:
        """The OAuth2 token store: the state, else `<data_dir>/oauth_tokens.json`."""
        return postgres_url(self.url) if self.url else self.data_dir / files.TOKENS_FILE

    def limiter(self, override: str | None = None) -> str | Path:
        """The limiter's window: `limiter_url`, else the state, else one file per user in the cache dir."""
        if override:
            return store_target(override, "limiter_url")
        if self.url:
            return postgres_url(self.url)
        return user_cache_dir() / files.LIMITER_FILE

    def alerts(self) -> str | Path:
        """The open alert incidents: the state's database, else `<data_dir>/alerts.sqlite`."""
        return postgres_url(self.url) if self.url else self.data_dir / files.ALERTS_FILE

    def sync_runs(self) -> str | Path:
        """The runs of declared syncs: the state's database, else `<data_dir>/sync_runs.sqlite`."""
        return postgres_url(self.url) if self.url else self.data_dir / files.SYNC_RUNS_FILE

    def runner_locks(self) -> str | Path:
        """Where runner locks are taken: the state's database, else `<data_dir>/locks/`."""
        return postgres_url(self.url) if self.url else self.data_dir / files.RUNNER_LOCKS_DIR

    def describe(self) -> str:
        """One line for status and doctor: the shared database (password hidden) or the data dir."""
        return f"PostgreSQL {hide_password(self.url)}" if self.url else f"local files in {self.data_dir}"
