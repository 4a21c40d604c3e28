"""The random path secret of the webhook URLs: made once, never logged.

It is kept in `<data_dir>/receiver_secret` (mode 0600), or in the journal when the journal is PostgreSQL:
every receiver sharing that journal, on any machine, then serves the same URLs, so the registrations and
the delivery report URLs that one of them made are accepted by all. The first receiver on a shared
journal seeds it from its data dir's secret file when it has one (a receiver moving to the shared state
keeps its URLs).
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from smartdialog_sync.errors import SdsyncError
from smartdialog_sync.state.files import LINK_SECRET_FILE
from smartdialog_sync.state.files import RECEIVER_SECRET_FILE as SECRET_FILE_NAME
from smartdialog_sync.state.postgres import unavailable

from .errors import SecretFileError

MASK = "***"
_HOOK_PATH = re.compile(r"/hooks/[^/?#]+")
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def receiver_secret(data_dir: str | Path, journal: str | Path) -> str:
    """The secret of a receiver with this data dir and journal (a SQLite `Path` or a `postgresql://` URL)."""
    return _shared_secret(data_dir, journal, SECRET_FILE_NAME, "receiver_secret", "journal_receiver_secret")


def link_secret(data_dir: str | Path, journal: str | Path) -> str:
    """The HMAC key of tracked-link codes, created once: `<data_dir>/link_secret` (0600), or a row of the
    PostgreSQL journal (every planner sharing it makes the same codes). Never the receiver's webhook secret."""
    return _shared_secret(data_dir, journal, LINK_SECRET_FILE, "link_secret", "journal_link_secret")


def _shared_secret(data_dir: str | Path, journal: str | Path, file_name: str, method: str, table: str) -> str:
    """A secret kept in `<data_dir>/<file_name>`, or with a PostgreSQL journal in its `table` (seeded from
    the file when there is one), read and created through `PostgresJournal.<method>`."""
    if isinstance(journal, Path):
        return load_or_create_secret(data_dir, file_name)
    from smartdialog_sync.journal import PostgresJournal

    local = Path(data_dir) / file_name
    candidate = _read_secret(local) if local.exists() else secrets.token_urlsafe(32)
    try:
        store = PostgresJournal(journal)
        try:
            secret = getattr(store, method)(candidate)
        finally:
            store.close()
    except SdsyncError:
        raise
    except Exception as exc:  # the driver's error, as one line
        raise unavailable(journal, exc) from None
    if not usable_secret(secret):
        raise SecretFileError(f"the journal holds no usable secret (table {table})")
    return secret


def usable_secret(secret: str) -> bool:
    """True for at least 22 url-safe characters (128 bits)."""
    return len(secret) >= 22 and _URL_SAFE.fullmatch(secret) is not None


def load_or_create_secret(data_dir: str | Path, file_name: str = SECRET_FILE_NAME) -> str:
    """The secret stored in `<data_dir>/<file_name>`, created (32 random bytes, url-safe) if missing."""
    path = Path(data_dir) / file_name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SecretFileError(f"cannot create the data dir {path.parent}: {exc.strerror}") from None
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    except OSError as exc:
        raise SecretFileError(f"cannot create the secret file {path}: {exc.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        secret = secrets.token_urlsafe(32)
        handle.write(secret + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return secret


def _read_secret(path: Path) -> str:
    try:
        os.chmod(path, 0o600)
        secret = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not ASCII text"
        raise SecretFileError(f"cannot read the secret file {path}: {reason}; delete it to make a new one") from None
    if not usable_secret(secret):
        raise SecretFileError(f"{path} holds no usable secret; delete it to make a new one")
    return secret


def mask_secret(text: str) -> str:
    """`text` with the secret path segment of any webhook URL or path replaced by ***."""
    return _HOOK_PATH.sub(f"/hooks/{MASK}", text)


def inbound_path(secret: str) -> str:
    """The path SmartDialog POSTs NewMessage notifications to."""
    return f"/hooks/{secret}/inbound"


def dlr_path(secret: str) -> str:
    """The path delivery reports are sent to (a send's DlrUrl)."""
    return f"/hooks/{secret}/dlr"
