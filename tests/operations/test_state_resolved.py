"""`sdsync doctor` and `status` say which data dir and which state they resolved, and why."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.cli import Sdsync
from tests.operations.test_doctor import _lines


def test_doctor_names_the_data_dir_and_why_and_the_local_state(tmp_path: Path) -> None:
    user_dir = Path(os.environ["XDG_DATA_HOME"]) / "sdsync"
    by_default = _lines(Sdsync(tmp_path).run("doctor", "--offline").stdout)
    assert by_default["data dir"] == f"info  data dir: {user_dir} (from default: the user's data dir " \
                                     "($XDG_DATA_HOME/sdsync), whatever the current folder)"
    assert by_default["state"].startswith(f"info  state: local files in {user_dir}")
    assert by_default["journal"].startswith(f"ok    journal: {user_dir / 'journal.sqlite'}")
    by_env = _lines(Sdsync(tmp_path, env={"SMARTDIALOG__DATA_DIR": str(tmp_path / "d")}).run("doctor", "--offline").stdout)
    assert by_env["data dir"] == f"info  data dir: {tmp_path / 'd'} (from environment variable SMARTDIALOG__DATA_DIR)"
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(f'[smartdialog]\ndata_dir = "{tmp_path / "t"}"\n')
    by_file = _lines(Sdsync(tmp_path).run("doctor", "--offline").stdout)
    assert by_file["data dir"] == f"info  data dir: {tmp_path / 't'} (from ./.dlt/config.toml [smartdialog])"
    by_flag = _lines(Sdsync(tmp_path, "--data-dir", str(tmp_path / "f")).run("doctor", "--offline").stdout)
    assert by_flag["data dir"] == f"info  data dir: {tmp_path / 'f'} (from --data-dir on the command line)"


def test_doctor_and_status_name_the_shared_state_with_its_password_hidden(postgres_url: str, tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    with_password = make_url(postgres_url).set(password="pw-9f3e").render_as_string(hide_password=False)
    sdsync = Sdsync(tmp_path, "--data-dir", str(tmp_path / "data"), env={"SMARTDIALOG__STATE_URL": with_password,
                                                                        "PGPASSWORD": "pw-9f3e"})
    doctor = sdsync.run("doctor", "--offline")
    lines = _lines(doctor.stdout)
    shown = make_url(with_password).render_as_string(hide_password=True)
    assert lines["setting state_url"] == f"info  setting state_url: {shown} (from environment variable SMARTDIALOG__STATE_URL)"
    assert lines["state"].startswith(f"ok    state: shared, in PostgreSQL: {shown} opens"), lines["state"]
    assert lines["journal"].startswith(f"ok    journal: {shown} opens")
    status = sdsync.status()
    assert status.stdout.splitlines()[1].strip() == f"state: PostgreSQL {shown}"
    assert "pw-9f3e" not in doctor.stdout + doctor.stderr + status.stdout + status.stderr
