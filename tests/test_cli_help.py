"""The CLI as a new user meets it: every command's help, usage errors, `--version`.

Help is rendered through the real command tree at 80 and 160 columns; errors and the version come from
`sdsync` run as a subprocess (the console entry point, where errors become exit codes).
"""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any, Iterator

import pytest
import typer
from typer.testing import CliRunner

import smartdialog_sync
from smartdialog_sync.pipelines.cli import app

SECTION = re.compile(r"\[[a-z_]+(?:\.[a-z_]+)*\]")  # a config section name as help strings quote it: [campaigns]
BOX_DRAWING = re.compile("[\u2500-\u257f]")


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group of the tree, with the words that invoke it."""
    yield path, command
    for name in getattr(command, "list_commands", lambda ctx: [])(None):
        yield from _commands(command.get_command(None, name), (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def _source_texts(command: Any) -> list[str]:
    """The help strings as written in the code: the command's own and each option's."""
    return [command.help or "", *(getattr(param, "help", None) or "" for param in command.params)]


def _words(text: str) -> str:
    return " ".join(text.split())


def test_the_tree_has_every_documented_command_and_quotes_sections() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"send", "auth login", "journal marks", "api templates", "status", "doctor", "emulator", "serve"} <= paths
    quoted = {name for _, command in COMMANDS for text in _source_texts(command) for name in SECTION.findall(text)}
    assert {"[campaigns]", "[smartdialog]"} <= quoted, "the check below would check nothing"


@pytest.mark.parametrize("columns", [80, 160])
@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(path) or "sdsync" for path, _ in COMMANDS])
def test_help_keeps_every_section_name_and_shows_flags_as_flags(path: tuple[str, ...], command: Any, columns: int) -> None:
    done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)}, terminal_width=columns)
    assert done.exit_code == 0, done.output
    shown = _words(done.output)
    for text in _source_texts(command):
        for name in SECTION.findall(text):
            assert name in shown, f"`{name}` of {text!r} is lost in `sdsync {' '.join(path)} --help`:\n{done.output}"
    assert "<bool>" not in done.output, done.output
    assert not BOX_DRAWING.search(done.output), done.output
    assert max(len(line) for line in done.output.splitlines()) <= columns, done.output
    assert "..." not in done.output.partition("Commands:")[2], f"a command's one-line help is cut:\n{done.output}"


def _sdsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smartdialog_sync.pipelines.cli", *args], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL, env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("args,message", [
    (("send", "--bogus"), "error: No such option: --bogus (see sdsync send --help)"),
    (("no-such-command",), "error: No such command 'no-such-command' (see sdsync --help)"),
    (("journal", "prune"), "error: Missing option '--older-than' (see sdsync journal prune --help)"),
    (("status", "--campaign-hours", "soon"), "error: Invalid value for '--campaign-hours': "),
])
def test_a_usage_error_is_one_line_with_exit_2(args: tuple[str, ...], message: str) -> None:
    done = _sdsync(*args)
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(message), done.stderr


def test_version() -> None:
    done = _sdsync("--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"sdsync {smartdialog_sync.__version__}\n", "")
