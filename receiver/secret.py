"""The random path secret of the webhook URLs: made once, kept in the data dir (mode 0600), never logged."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from .errors import SecretFileError

SECRET_FILE_NAME = "receiver_secret"
MASK = "***"
_HOOK_PATH = re.compile(r"/hooks/[^/?#]+")
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def load_or_create_secret(data_dir: str | Path) -> str:
    """The secret stored in `<data_dir>/receiver_secret`, created (32 random bytes, url-safe) if missing."""
    path = Path(data_dir) / SECRET_FILE_NAME
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
    if len(secret) < 22 or not _URL_SAFE.fullmatch(secret):  # 22 url-safe characters carry 128 bits
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
