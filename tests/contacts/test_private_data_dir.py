"""The data folder holds phone numbers and message texts: after a real sync, send and pull nothing under it
is readable by the group or others (folders 0700, files 0600)."""

from __future__ import annotations

import stat
from pathlib import Path

from .crm import contact, sqlite_crm
from .sync_cli import CUSTOMER, GROUP


def readable_by_others(root: Path) -> list[str]:
    paths = [root, *root.rglob("*")]
    return [f"{path.relative_to(root.parent)} {stat.filemode(path.stat().st_mode)}" for path in paths
            if path.stat().st_mode & 0o077]


def test_sync_send_and_pull_leave_only_private_files(sdsync_process, emulator, tmp_path):
    crm = sqlite_crm(tmp_path)
    crm.write([contact(n) for n in range(1, 6)])
    crm.dispose()
    data = tmp_path / "data"
    synced = sdsync_process("contacts", "sync", "--customer", CUSTOMER, "--group-service", GROUP,
                    "--source", crm.url, "--table", crm.table, "--key", "id")
    assert synced.returncode == 0, synced.stderr
    sent = sdsync_process("send", "--customer", "demo-customer", "--service", "sms-oneway", "--sender", "DemoOy",
                  "--content", "hi", "--source", crm.url, "--query", f"SELECT phone FROM {crm.table}", "--yes")
    assert sent.returncode == 0, sent.stderr
    pulled = sdsync_process("pull", "--resources", "customers,group_contacts,sent_messages",
                    "--group-customer", CUSTOMER, "--group-service", GROUP)
    assert pulled.returncode == 0, pulled.stderr
    names = {path.name for path in data.rglob("*")}
    assert {"contacts_state.duckdb", "campaigns.sqlite", "sdsync.duckdb", "pipelines"} <= names, names
    assert readable_by_others(data) == []
