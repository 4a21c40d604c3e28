"""The dbt package transformations/dbt_smartdialog: `dbt build` (models and their tests) on dbt-duckdb and on
dbt-postgres against a real PostgreSQL, over the same pulled data, and its marts give `sdsync report`'s figures;
`sdsync pull --transform` builds the marts after a pull."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy

from tests.support.cli import run_sdsync

from .dataset import DatasetBuilder
from .output import run_report
from .test_report_destinations import both, postgres_url  # noqa: F401  (module fixtures)

pytest.importorskip("dbt.version", reason="dbt is not installed (the [dbt] extra)")

PACKAGE = Path(__file__).resolve().parents[2] / "transformations" / "dbt_smartdialog"
DBT = str(Path(sys.executable).with_name("dbt"))
MARTS = "analytics"


def dbt_build(tmp_path: Path, output: dict[str, Any]) -> None:
    """`dbt build` of a copy of the package with a `smartdialog` profile whose one output is `output`."""
    project = tmp_path / "project"
    shutil.copytree(PACKAGE, project, ignore=shutil.ignore_patterns("target", "logs"))
    profiles = {"smartdialog": {"target": "test", "outputs": {"test": {**output, "schema": MARTS, "threads": 2}}}}
    (tmp_path / "profiles.yml").write_text(json.dumps(profiles))  # JSON is YAML
    result = subprocess.run(
        [DBT, "build", "--project-dir", str(project), "--profiles-dir", str(tmp_path), "--no-use-colors",
         "--vars", json.dumps({"smartdialog_schema": "smartdialog"})],
        capture_output=True, text=True, timeout=600, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "ERROR=0" in result.stdout and "PASS=" in result.stdout


def figures(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as lists of plain values (decimals as floats), sorted."""
    return sorted([float(v) if hasattr(v, "as_tuple") else v for v in row] for row in rows)


CAMPAIGNS = ("SELECT campaign_id, sent, delivered, failed, pending, delivered_pct, recipients, replied, opted_out, "
             "reply_rate_pct, opt_out_rate_pct FROM analytics.smartdialog__campaign_performance")
TRAFFIC = "SELECT day, direction, protocol, service, messages, parts FROM analytics.smartdialog__daily_traffic"
VARIANT_COLUMNS = ("campaign_id", "arm", "recipients", "delivered_pct", "replied", "reply_rate_pct", "opted_out",
                   "opt_out_rate_pct", "holdout_recipients", "reply_uplift_pp", "reply_uplift_low_pp",
                   "reply_uplift_high_pp", "opt_out_uplift_pp", "opt_out_uplift_low_pp", "opt_out_uplift_high_pp", "verdict")
VARIANTS = f"SELECT {', '.join(VARIANT_COLUMNS)} FROM analytics.smartdialog__variant_results"

LINK_KEYS = ("campaign_id", "variant", "recipients_with_link", "unique_clickers", "click_through_pct", "clicks", "previews")
LINKS = f"SELECT {', '.join(LINK_KEYS)} FROM analytics.smartdialog__link_performance"
CLICK_TIMES = ("SELECT campaign_id, variant, after_send, count(*), count(DISTINCT address) FROM analytics.smartdialog__link_clicks "
               "WHERE kind = 'click' GROUP BY 1, 2, 3")



def report_figures(*args: str) -> tuple[list[list[Any]], list[list[Any]], list[list[Any]], list[list[Any]], list[list[Any]]]:
    """The campaign figures (funnel joined with reply rates), the traffic rows, the A/B variant rows, the tracked
    links per campaign and the clicks over time after the send of `sdsync report --json`."""
    result = run_report("--json", *args)
    assert result.returncode == 0, result.stderr
    sections = json.loads(result.stdout)["sections"]
    rates = {row["campaign_id"]: row for row in sections["reply_rates"]["rows"]}
    campaigns = [[row["campaign_id"], row["sent"], row["delivered"], row["failed"], row["pending"], row["delivered_pct"],
                  *(rates[row["campaign_id"]][key] for key in ("recipients", "replied", "opted_out", "reply_rate_pct",
                                                               "opt_out_rate_pct"))]
                 for row in sections["delivery_funnel"]["rows"]]
    traffic = [[row[key] for key in ("day", "direction", "protocol", "service", "messages", "parts")]
               for row in sections["traffic_per_day"]["rows"]]
    variants = [[row[key] for key in VARIANT_COLUMNS] for row in sections["variants"]["rows"]]
    links = [[row[key] for key in LINK_KEYS] for row in sections["link_clicks"]["rows"]]
    click_times = [[row[key] for key in ("campaign_id", "variant", "after_send", "clicks", "clickers")]
                   for row in sections["clicks_after_send"]["rows"]]
    return sorted(campaigns), sorted(traffic), figures(variants), sorted(links), sorted(click_times)


def test_dbt_build_on_duckdb_gives_the_report_figures(both: DatasetBuilder, tmp_path: Path) -> None:  # noqa: F811
    expected_campaigns, expected_traffic, expected_variants, expected_links, expected_times = report_figures(
        "--duckdb", str(both.duckdb_path))
    dbt_build(tmp_path, {"type": "duckdb", "path": str(both.duckdb_path)})
    with duckdb.connect(str(both.duckdb_path), read_only=True) as connection:
        links = figures(connection.execute(LINKS).fetchall())
        click_times = figures(connection.execute(CLICK_TIMES).fetchall())
        campaigns = figures(connection.execute(CAMPAIGNS).fetchall())
        traffic = [[str(row[0]), *row[1:]] for row in figures(connection.execute(TRAFFIC).fetchall())]
        variant_rows = figures(connection.execute(VARIANTS).fetchall())
        [(recipients, variants)] = connection.execute(
            "SELECT count(*), count(variant) FROM analytics.smartdialog__message_recipients").fetchall()
        contacts = connection.execute(
            "SELECT phone, contact_name, messages_sent, failed FROM analytics.smartdialog__contact_overview").fetchall()
    assert campaigns == expected_campaigns and len(campaigns) == 4
    assert traffic == expected_traffic and traffic
    assert (recipients, variants) == (56, 40)
    assert variant_rows == expected_variants and [row[1] for row in variant_rows] == ["A", "B", "holdout"]
    assert links == expected_links and len(links) == 1
    assert click_times == expected_times and len(click_times) == 3
    assert contacts == [("+358402000008", "Maija Meikäläinen", 1, 1)]


def test_dbt_build_on_postgres_gives_the_report_figures(both: DatasetBuilder, postgres_url: str,  # noqa: F811
                                                        tmp_path: Path) -> None:
    expected_campaigns, expected_traffic, expected_variants, expected_links, _ = report_figures(
        "--destination", "postgres", "--credentials", postgres_url)
    url = sqlalchemy.make_url(postgres_url)
    dbt_build(tmp_path, {"type": "postgres", "host": url.host, "port": url.port or 5432, "user": url.username,
                         "password": url.password or "", "dbname": url.database})
    engine = sqlalchemy.create_engine(postgres_url, poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as connection:
        campaigns = figures(connection.execute(sqlalchemy.text(CAMPAIGNS)).fetchall())
        traffic = [[str(row[0]), *row[1:]] for row in figures(connection.execute(sqlalchemy.text(TRAFFIC)).fetchall())]
        variant_rows = figures(connection.execute(sqlalchemy.text(VARIANTS)).fetchall())
        links = figures(connection.execute(sqlalchemy.text(LINKS)).fetchall())
    engine.dispose()
    assert campaigns == expected_campaigns and len(campaigns) == 4
    assert traffic == expected_traffic and traffic
    assert variant_rows == expected_variants and len(variant_rows) == 3
    assert links == expected_links and len(links) == 1


def test_pull_transform_builds_the_marts(both: DatasetBuilder, tmp_path: Path) -> None:  # noqa: F811
    data_dir, target = tmp_path / "data", tmp_path / "fresh.duckdb"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SMARTDIALOG__", "CAMPAIGNS__"))}
    pulled = run_sdsync(env, "--data-dir", str(data_dir), "pull", "--credentials", str(target),
                        "--journal", str(both.journal_path), "--ledger", str(both.ledger_path),
                        "-r", "inbound_messages,delivery_reports,sent_messages", "--transform", timeout=600)
    assert pulled.returncode == 0, pulled.stderr
    assert "in smartdialog_analytics" in pulled.stdout
    with duckdb.connect(str(target), read_only=True) as connection:
        [(campaigns,)] = connection.execute(
            "SELECT count(*) FROM smartdialog_analytics.smartdialog__campaign_performance").fetchall()
    assert campaigns == 4
