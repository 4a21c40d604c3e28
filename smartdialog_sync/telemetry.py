"""dlt's anonymous usage telemetry is off for smartdialog-sync unless the user turns it on.

dlt reads `[runtime] dlthub_telemetry` when it first initialises its runtime, which may be before any
pipeline exists, so the default is set as soon as this package is imported: the environment variable
`RUNTIME__DLTHUB_TELEMETRY=false`, unless the user set that variable or the key in `.dlt/config.toml`
(the working directory's or the global ~/.dlt one). Turn telemetry on with
`RUNTIME__DLTHUB_TELEMETRY=true` or `dlthub_telemetry = true` under `[runtime]` in `.dlt/config.toml`.
"""

from __future__ import annotations

import os
from pathlib import Path

TELEMETRY_ENV = "RUNTIME__DLTHUB_TELEMETRY"


def _set_in_config_toml(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    if "dlthub_telemetry" not in text:
        return False
    try:
        import tomllib as toml  # Python 3.11+
    except ImportError:  # Python 3.10: dlt's own TOML library
        import tomlkit as toml  # type: ignore[no-redef]
    try:
        runtime = toml.loads(text).get("runtime") or {}
    except ValueError:  # both libraries' parse errors are ValueErrors
        return False
    return "dlthub_telemetry" in runtime


def telemetry_off_by_default() -> None:
    """Set RUNTIME__DLTHUB_TELEMETRY=false unless the user chose a value (environment or .dlt/config.toml)."""
    if TELEMETRY_ENV in os.environ:
        return
    if any(_set_in_config_toml(folder / ".dlt" / "config.toml") for folder in (Path.cwd(), Path.home())):
        return
    os.environ[TELEMETRY_ENV] = "false"
