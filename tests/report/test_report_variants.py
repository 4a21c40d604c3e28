"""`sdsync report` per A/B variant and against the holdout, on a dataset pulled from a real ledger with the
assignments `sdsync send --variant --holdout` writes (the pulled campaign_assignments and sent_messages.variant)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from .dataset import fill_variants
from .output import run_report
from .test_report import builder_for


def test_results_per_variant_against_the_holdout(_session_emulator, tmp_path: Path) -> None:
    data = builder_for(_session_emulator, tmp_path)
    fill_variants(data, 200, {"A": 60, "B": 22, "holdout": 20})
    dataset = data.load()
    with duckdb.connect(str(dataset), read_only=True) as conn:
        assert conn.execute("SELECT variant, count(*) FROM smartdialog.sent_messages GROUP BY 1 ORDER BY 1").fetchall() == [
            ("A", 200), ("B", 200)]
        assert conn.execute("SELECT count(*) FROM smartdialog.campaign_assignments WHERE held_out").fetchone() == (200,)

    result = run_report("--duckdb", str(dataset), "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["arm"]: row for row in json.loads(result.stdout)["sections"]["variants"]["rows"]}
    assert list(rows) == ["A", "B", "holdout"]
    a, b, holdout = rows["A"], rows["B"], rows["holdout"]
    assert (a["recipients"], a["delivered_pct"], a["replied"], a["reply_rate_pct"], a["opted_out"]) == (200, 100.0, 60, 30.0, 2)
    assert (holdout["recipients"], holdout["delivered_pct"], holdout["replied"], holdout["reply_rate_pct"]) == (200, None, 20, 10.0)
    assert a["holdout_recipients"] == b["holdout_recipients"] == 200
    # A: +20 pp, Newcombe 95 % interval [12.3, 27.5]: a difference; B: +1 pp, the interval spans 0: no winner
    assert (a["reply_uplift_pp"], a["reply_uplift_low_pp"], a["reply_uplift_high_pp"]) == (20.0, 12.3, 27.5)
    assert a["verdict"] == "more replies than the holdout (95 % interval above 0)"
    assert b["reply_uplift_pp"] == 1.0 and b["reply_uplift_low_pp"] < 0 < b["reply_uplift_high_pp"]
    assert b["verdict"] == "no winner: the 95 % interval spans 0"
    assert a["opt_out_uplift_low_pp"] < 0 < a["opt_out_uplift_high_pp"]
    assert holdout["verdict"] == "holdout: not sent"
