"""`sdsync init`: write the example `.dlt/config.toml` and a private (0600) `.dlt/secrets.toml` here."""

from __future__ import annotations

from pathlib import Path

from ..runtime import stdout


def init() -> None:
    """Write .dlt/config.toml and a private (0600) .dlt/secrets.toml into the current folder, from the examples.

    A file that exists already is kept as it is. Then fill in the credentials in .dlt/secrets.toml.
    """
    from smartdialog_sync.pipelines.project_init import init_project

    for path, written in init_project(Path.cwd()):
        shown = path.relative_to(Path.cwd())
        stdout.print(f"wrote {shown}" if written else f"kept {shown} (exists)", markup=False, highlight=False,
                     soft_wrap=True)
    stdout.print("next: put your credentials in .dlt/secrets.toml, or run `sdsync demo` to try it all on the emulator",
                 markup=False, highlight=False, soft_wrap=True)
