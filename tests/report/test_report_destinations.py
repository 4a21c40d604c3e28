"""`sdsync report` wherever the pull loaded: the same journal and ledger pulled into DuckDB and into a real
PostgreSQL give identical rows in every section, the HTML page comes from either, and the last pull's
destination is the default."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy

from tests.postgres import postgres_database

from .dataset import DatasetBuilder, fill_campaigns, fill_variants, phone
from .output import html_rows, run_report
from .test_report import builder_for

SECTION_KEYS = ["traffic_per_day", "delivery_funnel", "reply_rates", "variants", "scheduled", "failed_contacts",
                "link_clicks", "clicks_after_send"]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this module."""
    yield from postgres_database()


@pytest.fixture(scope="module")
def both(_session_emulator, tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> DatasetBuilder:
    """The campaigns plus a scheduled send, pulled into DuckDB and then (last) into PostgreSQL."""
    _session_emulator.reset()
    data = builder_for(_session_emulator, tmp_path_factory.mktemp("both"))
    fill_campaigns(data)
    fill_variants(data, 20, {"A": 8, "B": 3, "holdout": 2})
    data.send("later", [phone(60), phone(61)], "msg-later", send_at="2099-03-01T08:00:00+00:00")
    data.load()
    data.pull("postgres", postgres_url)
    return data


def report_document(*args: str) -> dict[str, Any]:
    """`sdsync report --json ARGS` parsed."""
    result = run_report("--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_section_has_identical_rows_on_duckdb_and_postgres(both: DatasetBuilder, postgres_url: str,
                                                                 tmp_path: Path) -> None:
    on_duckdb = report_document("--duckdb", str(both.duckdb_path))
    on_postgres = report_document("--destination", "postgres", "--credentials", postgres_url)
    assert list(on_duckdb["sections"]) == SECTION_KEYS
    for key in SECTION_KEYS:
        assert on_duckdb["sections"][key]["rows"], f"{key} has rows to compare"
        # compared as JSON text, so that 16 and 16.0 (or "16") differ
        assert json.dumps(on_postgres["sections"][key]["rows"]) == json.dumps(on_duckdb["sections"][key]["rows"]), key
    funnel = on_postgres["sections"]["delivery_funnel"]["rows"]
    assert {row["campaign_id"]: (row["delivered"], row["delivered_pct"]) for row in funnel} == {
        "spring": (8, 80.0), "winter": (3, 75.0), "later": (0, 0.0), "ab": (40, 100.0)}
    assert "postgres" in on_postgres["location"] and ":@" not in on_postgres["location"]

    pages = {}
    for name, args in (("duckdb", ["--duckdb", str(both.duckdb_path)]),
                       ("postgres", ["--destination", "postgres", "--credentials", postgres_url])):
        page_path = tmp_path / f"{name}.html"
        assert run_report(*args, "--html", str(page_path)).returncode == 0
        pages[name] = html_rows(page_path.read_text(encoding="utf-8"))
    assert pages["postgres"] == pages["duckdb"] and pages["postgres"]["delivery_funnel"]


def test_the_last_pull_is_the_default_and_nothing_is_written(both: DatasetBuilder, postgres_url: str) -> None:
    engine = sqlalchemy.create_engine(postgres_url, poolclass=sqlalchemy.pool.NullPool)
    inventory = sqlalchemy.text("SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2")
    with engine.connect() as connection:
        before = connection.execute(inventory).fetchall()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SMARTDIALOG__", "CAMPAIGNS__"))}
    env["SMARTDIALOG__DATA_DIR"] = str(both.work_dir)
    result = run_report("--json", env=env)  # the fixture's last pull went into PostgreSQL
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["location"].startswith("postgres ")
    assert document["sections"]["delivery_funnel"]["rows"]
    with engine.connect() as connection:
        assert connection.execute(inventory).fetchall() == before
    engine.dispose()


def test_a_destination_without_credentials_is_a_usage_error(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SMARTDIALOG__", "CAMPAIGNS__", "DESTINATION__"))}
    env["SMARTDIALOG__DATA_DIR"] = str(tmp_path)
    result = run_report("--destination", "postgres", env=env)
    assert result.returncode == 2, result.stderr
    assert "missing credentials" in result.stderr and "DESTINATION__POSTGRES__CREDENTIALS" in result.stderr
    unreachable = run_report("--destination", "postgres", "--credentials", "postgresql://nobody@127.0.0.1:1/none", env=env)
    assert unreachable.returncode == 1 and "cannot read postgres" in unreachable.stderr


def test_the_last_pull_is_recorded_without_its_password(tmp_path: Path) -> None:
    from smartdialog_sync.pipelines.last_pull import (
        PullTarget,
        chosen_target,
        last_pull,
        save_last_pull,
    )

    save_last_pull(tmp_path, PullTarget("postgres", "sms", "postgresql://analyst:s3cret@db.example:5433/warehouse"))
    assert "s3cret" not in (tmp_path / "last_pull.json").read_text()
    assert last_pull(tmp_path) == PullTarget("postgres", "sms", "postgresql://analyst@db.example:5433/warehouse")
    assert chosen_target(tmp_path, dataset="other").dataset == "other"
    assert chosen_target(tmp_path, destination="duckdb") == PullTarget("duckdb")
