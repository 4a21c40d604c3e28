"""The wheel, installed (not editable) into a fresh venv, works from an unrelated folder.

That folder has its own `sources/`, `pipelines/` and `destinations/` packages, as a user's dlt project
does: ours must not claim those names, and the SQL must come from inside the installed package.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Iterator

import duckdb
import pytest

from tests.servers import free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]
USER_PACKAGES = ("sources", "pipelines", "destinations")
SOURCE_USE = """
import dlt
from smartdialog_sync.sources.smartdialog import smartdialog
dlt.pipeline("wheel_check", destination=dlt.destinations.duckdb("check.duckdb"), dataset_name="sd").run(smartdialog().with_resources("customers", "services"))
"""


def run(command: list[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> str:
    """Run a command; fail the test with its output when it does not exit 0."""
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from a copy of the checkout's files (no stale build/ folder of the checkout)."""
    source = tmp_path_factory.mktemp("source")
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO_ROOT)
    for name in listed.splitlines():
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, source], cwd=dist)
    return next(dist.glob("smartdialog_sync-*.whl"))


@pytest.fixture(scope="module")
def venv_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a fresh venv with the wheel installed (from the package index, no checkout)."""
    venv = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", venv], cwd=venv)
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "-q", wheel], cwd=venv)
    return python


@pytest.fixture()
def user_project(tmp_path: Path) -> Path:
    """An unrelated folder holding a user's own dlt-style packages."""
    for name in USER_PACKAGES:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f'"""The user\'s own {name} package."""\n')
    return tmp_path


@pytest.fixture()
def emulator_from_wheel(venv_python: Path, user_project: Path) -> Iterator[str]:
    """An emulator started from the installed package; yields its API base URL."""
    port = free_port("127.0.0.1")
    process = subprocess.Popen([venv_python, "-m", "smartdialog_sync.emulator", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=user_project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port, process=process)
        yield f"http://127.0.0.1:{port}/api-integrations/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_wheel_holds_one_import_name_and_the_sql(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith((".dist-info", ".data"))}
    assert top_level == {"smartdialog_sync"}
    assert "smartdialog_sync/sql/journal_sqlite.sql" in names
    assert "smartdialog_sync/emulator/default_seed.json" in names
    package = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "transformations/dbt_smartdialog"],
                  cwd=REPO_ROOT).split()
    assert "transformations/dbt_smartdialog/dbt_project.yml" in package
    for name in package:  # the dbt package that `sdsync pull --transform` runs
        assert f"smartdialog_sync/{name}" in names, f"{name} is not in the wheel: add it to package-data"
    assert {"smartdialog_sync/dlt_project/config.toml", "smartdialog_sync/dlt_project/secrets.toml.example"} <= set(names)
    assert "smartdialog_sync/dlt_project/secrets.toml" not in names, "never a checkout's own secrets"


def test_init_writes_the_example_config_and_private_secrets(venv_python: Path, user_project: Path) -> None:
    sdsync = venv_python.parent / "sdsync"
    output = run([sdsync, "init"], cwd=user_project)
    assert "wrote .dlt/config.toml" in output and "wrote .dlt/secrets.toml" in output
    secrets = user_project / ".dlt" / "secrets.toml"
    assert secrets.read_text() == (REPO_ROOT / ".dlt" / "secrets.toml.example").read_text()
    assert (user_project / ".dlt" / "config.toml").read_text() == (REPO_ROOT / ".dlt" / "config.toml").read_text()
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    secrets.write_text("[smartdialog]\naccess_token = \"mine\"\n")
    assert "kept .dlt/secrets.toml (exists)" in run([sdsync, "init"], cwd=user_project)
    assert secrets.read_text() == "[smartdialog]\naccess_token = \"mine\"\n"


def test_demo_runs_from_an_unrelated_folder(venv_python: Path, user_project: Path) -> None:
    output = run([venv_python.parent / "sdsync", "demo", "--data-dir", "demo", "--contacts", "60", "--recipients", "20"],
                 cwd=user_project)
    assert "demo finished" in output
    with duckdb.connect(str(user_project / "demo" / "sdsync.duckdb"), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM smartdialog.sent_messages").fetchone()[0] > 0


def test_source_in_three_lines_of_python(venv_python: Path, user_project: Path, emulator_from_wheel: str) -> None:
    env = {**os.environ, "SMARTDIALOG__BASE_URL": emulator_from_wheel, "SMARTDIALOG__ACCESS_TOKEN": "sandbox-token",
           "SMARTDIALOG__DATA_DIR": str(user_project / "data"), "DLT_DATA_DIR": str(user_project / "dlt")}
    env.pop("PYTHONPATH", None)
    run([venv_python, "-c", SOURCE_USE], cwd=user_project, env=env)
    with duckdb.connect(str(user_project / "check.duckdb"), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM sd.customers").fetchone()[0] > 0
        assert db.execute("SELECT count(*) FROM sd.services").fetchone()[0] > 0


def test_every_package_of_the_checkout_is_in_the_wheel(wheel: Path) -> None:
    installed_as = {"smartdialog_sync": "smartdialog_sync", **{name: f"smartdialog_sync/{name}" for name in
                    ("sources", "destinations", "pipelines", "receiver", "emulator", "sql")}}
    names = set(zipfile.ZipFile(wheel).namelist())
    listed = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*__init__.py"], cwd=REPO_ROOT)
    for init in listed.split():
        top, _, rest = init.partition("/")
        if top in installed_as:
            assert f"{installed_as[top]}/{rest}" in names, f"{init} is not in the wheel: add its package to pyproject.toml"
