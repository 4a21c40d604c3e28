"""`sdsync init`: the example `.dlt/config.toml` and a private `.dlt/secrets.toml` in a project folder.

The templates ship inside the package (`smartdialog_sync.dlt_project`, the repository's `.dlt/`). A file
that exists already is left as it is.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

TEMPLATES = (("config.toml", "config.toml", 0o644), ("secrets.toml.example", "secrets.toml", 0o600))


def init_project(folder: Path) -> list[tuple[Path, bool]]:
    """Write the missing `.dlt/` files under `folder`; return each path and whether it was written now."""
    target = folder / ".dlt"
    target.mkdir(exist_ok=True)
    results = []
    for template, name, mode in TEMPLATES:
        path = target / name
        if path.exists():
            results.append((path, False))
            continue
        text = files("smartdialog_sync.dlt_project").joinpath(template).read_text(encoding="utf-8")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)  # never briefly readable by others
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(path, mode)  # whatever the umask
        results.append((path, True))
    return results
