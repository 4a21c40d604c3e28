"""The data folder holds phone numbers, message texts and tokens: it is private to the user who runs us.

`private_data_dir` is called wherever a data folder is opened (settings resolution, the CLI, the pull
pipeline). It sets this process's umask to 077, so every file and folder we, SQLite, DuckDB and dlt
create from then on is readable by the owner only (files 0600, folders 0700), creates the folder if
needed and makes it 0700.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

PRIVATE_UMASK = 0o077
log = logging.getLogger(__name__)


def private_data_dir(path: str | os.PathLike[str]) -> Path:
    """Make `path` a private folder (0700, created if missing) and keep new files private (umask 077)."""
    os.umask(PRIVATE_UMASK | os.umask(PRIVATE_UMASK))  # keep any stricter bits the user's umask had
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.chmod(folder, 0o700)
    except OSError as exc:  # not our folder (say /tmp): its new files are still private
        log.warning("cannot make the data folder %s private: %s", folder, exc.strerror)
    return folder
