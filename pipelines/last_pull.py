"""Where the last `sdsync pull` loaded (destination, dataset, credentials without a password).

`sdsync report` and `sdsync pull --transform` read it as their default, so a team that pulls into
PostgreSQL gets its report from PostgreSQL without repeating the options. A password is never written:
it comes from dlt config, the environment (`PGPASSWORD`) or `~/.pgpass` as it did for the pull.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

from smartdialog_sync.constants import DEFAULT_DATASET
from smartdialog_sync.state.files import LAST_PULL_FILE


@dataclass(frozen=True)
class PullTarget:
    """A destination type (or configured name), the dataset, and credentials (a URL or a DuckDB file) or None."""

    destination: str = "duckdb"
    dataset: str = DEFAULT_DATASET
    credentials: Optional[str] = None


def without_password(credentials: Optional[str]) -> Optional[str]:
    """`credentials` with the password of a URL left out (a DuckDB path or None as it is)."""
    if credentials is None or "://" not in credentials:
        return credentials
    parts = urlsplit(credentials)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return credentials
    return urlunsplit(parts._replace(netloc=f"{userinfo.split(':', 1)[0]}@{host}"))


def save_last_pull(pipelines_dir: Path, target: PullTarget) -> None:
    """Record `target` (without its password) as the last pull's, next to the pull pipelines."""
    stored = PullTarget(target.destination, target.dataset, without_password(target.credentials))
    temporary = pipelines_dir / (LAST_PULL_FILE + ".tmp")
    temporary.write_text(json.dumps(asdict(stored)), encoding="utf-8")
    temporary.replace(pipelines_dir / LAST_PULL_FILE)


def last_pull(pipelines_dir: Path) -> Optional[PullTarget]:
    """The target the last pull recorded in `pipelines_dir`, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((pipelines_dir / LAST_PULL_FILE).read_text(encoding="utf-8"))
        return PullTarget(str(data["destination"]), str(data["dataset"]), data.get("credentials"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def chosen_target(
    pipelines_dir: Path,
    destination: Optional[str] = None,
    credentials: Optional[str] = None,
    dataset: Optional[str] = None,
) -> PullTarget:
    """What the options name; what they leave out comes from the last pull when no destination is given,
    else the defaults (DuckDB in the data dir, dataset `smartdialog`)."""
    base = (last_pull(pipelines_dir) if destination is None else None) or PullTarget(destination or "duckdb")
    return PullTarget(base.destination, dataset or base.dataset, credentials if credentials is not None else base.credentials)
