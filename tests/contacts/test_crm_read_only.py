"""A user's CRM query is read-only: anything but one SELECT is refused (exit 2) before it reaches the CRM,
and what a SELECT might still change is stopped by the database's read-only connection.

Every command that takes a query runs as a real `sdsync` process against the emulator, on SQLite and
(when SDSYNC_TEST_POSTGRES_URL is set) PostgreSQL.
"""

from __future__ import annotations

import subprocess

import pytest
import sqlalchemy as sa

from smartdialog_sync.crm_query import CrmUsageError, check_select

from .crm import Crm, contact
from .sync_cli import CUSTOMER, GROUP

SEND = ["send", "--customer", "demo-customer", "--service", "sms-oneway", "--sender", "DemoOy", "--content", "hi"]


def rows_in(crm: Crm) -> int:
    with crm.engine.connect() as connection:
        return connection.execute(sa.text(f"SELECT count(*) FROM {crm.table}")).scalar_one()


def assert_refused(result: subprocess.CompletedProcess[str], crm: Crm, rows: int) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(("error:", "failed:"))]
    assert len(errors) == 1 and "must be a single SELECT" in errors[0], result.stderr  # progress lines may precede it
    assert rows_in(crm) == rows


def hostile_queries(table: str) -> list[str]:
    return [
        f"DROP TABLE {table}",
        f"DELETE FROM {table}; COMMIT",
        f"SELECT * FROM {table}; DROP TABLE {table}",
        f"/* just a comment */ DELETE FROM {table} -- and another",
        f"WITH gone AS (DELETE FROM {table} RETURNING *) SELECT * FROM gone",
        f"SELECT * INTO copy_{table} FROM {table}",
    ]


def test_contacts_sync_refuses_anything_but_a_select(sdsync_process, emulator, crm, tmp_path):
    crm.write([contact(n) for n in range(1, 4)])
    for query in hostile_queries(crm.table):
        result = sdsync_process("contacts", "sync", "--customer", CUSTOMER, "--group-service", GROUP,
                        "--source", crm.url, "--query", query, "--dry-run")
        assert_refused(result, crm, 3)
    sql_file = tmp_path / "contacts.sql"
    sql_file.write_text(f"DELETE FROM {crm.table};\nCOMMIT;\n")
    result = sdsync_process("contacts", "sync", "--customer", CUSTOMER, "--group-service", GROUP,
                    "--source", crm.url, "--sql-file", str(sql_file), "--dry-run")
    assert_refused(result, crm, 3)
    assert emulator.stats()["calls_total"] == 0


def test_campaign_and_suppression_queries_are_refused(sdsync_process, emulator, crm, tmp_path):
    crm.write([contact(n) for n in range(1, 4)])
    for query in hostile_queries(crm.table)[:2]:
        assert_refused(sdsync_process(*SEND, "--source", crm.url, "--query", query, "--dry-run"), crm, 3)
        suppressed = sdsync_process(*SEND, "--source", crm.url, "--query", f"SELECT phone FROM {crm.table}",
                            "--suppression-query", query, "--dry-run")
        assert_refused(suppressed, crm, 3)
    whatsapp = sdsync_process("send-whatsapp", "--customer", "demo-customer", "--service", "sms-oneway",
                      "--template", "order_ready", "--body-params", "first_name", "--source", crm.url,
                      "--query", f"DROP TABLE {crm.table}", "--dry-run")
    assert_refused(whatsapp, crm, 3)
    assert emulator.messages() == []


def test_the_pull_phones_query_is_refused(sdsync_process, emulator, crm, tmp_path):
    crm.write([contact(n) for n in range(1, 4)])
    result = sdsync_process("pull", "--resources", "group_contacts", "--phones-url", crm.url,
                    "--phones-query", f"DELETE FROM {crm.table}; COMMIT", "--group-customer", CUSTOMER,
                    "--group-service", GROUP)
    assert_refused(result, crm, 3)


def test_a_select_that_would_write_is_stopped_by_the_read_only_connection(sdsync_process, emulator, crm, tmp_path):
    """A SELECT calling a function that deletes rows passes the parser; PostgreSQL's read-only session stops it."""
    if not crm.url.startswith("postgresql"):
        pytest.skip("SQLite has no functions that write")
    crm.write([contact(n) for n in range(1, 4)])
    with crm.engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE OR REPLACE FUNCTION wipe_{crm.table}() RETURNS int LANGUAGE sql AS "
            f"'DELETE FROM {crm.table}; SELECT 1'"
        )
    try:
        result = sdsync_process("contacts", "sync", "--customer", CUSTOMER, "--group-service", GROUP,
                        "--source", crm.url, "--query", f"SELECT *, wipe_{crm.table}() AS w FROM {crm.table}", "--dry-run")
        assert result.returncode == 2, result.stdout + result.stderr
        assert "read-only transaction" in result.stderr
        assert rows_in(crm) == 3
    finally:
        with crm.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS wipe_{crm.table}()")


def test_a_missing_sqlite_crm_is_not_created_and_its_password_never_shown(sdsync_process, emulator, tmp_path):
    missing = tmp_path / "no-such-crm.sqlite"
    result = sdsync_process("contacts", "sync", "--customer", CUSTOMER, "--group-service", GROUP,
                    "--source", f"sqlite:///{missing}", "--query", "SELECT 1 AS phone", "--dry-run")
    assert result.returncode == 1 and "cannot connect to the CRM" in result.stderr, result.stderr
    assert not missing.exists()
    unreachable = sdsync_process(*SEND, "--source", "postgresql://crm:hunter2@127.0.0.1:1/crm",
                         "--query", "SELECT 1 AS phone", "--dry-run")
    assert unreachable.returncode == 1 and "cannot connect to the CRM at postgresql://crm:***@127.0.0.1:1/crm" in unreachable.stderr
    assert "hunter2" not in unreachable.stdout + unreachable.stderr


@pytest.mark.parametrize("query", [
    "SELECT 1", "select phone from t -- trailing comment\n;", "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
    "(SELECT 1) UNION ALL (SELECT 2)", "SELECT * FROM t WHERE name LIKE '%; DROP TABLE t'",
])
def test_plain_selects_pass_the_check(query):
    check_select(query, "postgres")


@pytest.mark.parametrize("query", ["", "SELECT 1; SELECT 2", "VACUUM", "PRAGMA query_only = OFF", "SELECT 1 FOR UPDATE",
                                   "INSERT INTO t SELECT 1", "SET default_transaction_read_only = off", "SELECT 'unclosed"])
def test_everything_else_is_refused(query):
    with pytest.raises(CrmUsageError):
        check_select(query, "postgres")


def test_crm_text_is_printed_literally_never_as_markup(sdsync_process, emulator, tmp_path):
    """A phone `[/red]:smile:` and a name `[bold]x` are data: the sync succeeds and shows the rejected row as it
    is (neither markup nor an emoji code)."""
    crm = Crm(f"sqlite:///{tmp_path / 'crm.sqlite'}")
    crm.write([contact(1, first_name="[bold]x"), contact(2, phone="[/red]:smile:", first_name="[bold]x")])
    try:
        result = sdsync_process("contacts", "sync", "--customer", CUSTOMER, "--group-service", GROUP,
                        "--source", crm.url, "--table", crm.table, "--key", "id")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "[/red]:smile:" in result.stdout
        assert [c["firstName"] for c in emulator.contacts(CUSTOMER, GROUP)] == ["[bold]x"]
        dry = sdsync_process("contacts", "sync", "--customer", CUSTOMER, "--group-service", "[/red]",
                     "--source", crm.url, "--query", f"SELECT id, phone AS \"[/x]\" FROM {crm.table}", "--dry-run")
        assert "Traceback" not in dry.stderr and "MarkupError" not in dry.stderr, dry.stderr
        plan = sdsync_process("contacts", "sync", "--customer", CUSTOMER, "--group-service", GROUP,
                      "--source", crm.url, "--query", f'SELECT id, phone, first_name AS ":smile:" FROM {crm.table}',
                      "--dry-run")
        assert plan.returncode == 0 and "column :smile: (not sent)" in plan.stdout, plan.stdout + plan.stderr
    finally:
        crm.dispose()


def test_a_bad_rate_limit_is_one_line_and_exit_2(sdsync_process, emulator, tmp_path):
    result = sdsync_process("--rate-limit", "[/x]", "contacts", "sync", "--customer", CUSTOMER,
                    "--group-service", GROUP, "--source", "sqlite:///crm.sqlite", "--table", "contacts", "--dry-run")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: configuration: rate_limit must look like CALLS/SECONDS, e.g. 100/60, not '[/x]'"]
