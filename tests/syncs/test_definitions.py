"""Declared syncs: read through dlt's providers (config.toml, secrets.toml, SYNCS__NAME__KEY), checked key by key."""

from __future__ import annotations

from pathlib import Path

import pytest
from smartdialog_sync.pipelines.syncs.definitions import (
    check_definitions,
    declared_sync,
)

from smartdialog_sync.errors import UsageError
from tests.support.cli import Sdsync, emulator_settings

NIGHTLY = """
[syncs.crm_nightly]
kind = "contacts"
source = "postgresql://crm@db.internal/crm"
table = "customers"
customer = "demo-customer"
group_service = "crm-group"
mode = "mirror"
schedule = "0 2 * * *"
"""


def test_keys_merge_from_config_secrets_and_environment(project, monkeypatch: pytest.MonkeyPatch) -> None:
    project(NIGHTLY, '[syncs.crm_nightly]\npassword = "pw-from-secrets"\n')
    monkeypatch.setenv("SYNCS__CRM_NIGHTLY__MAX_CALLS", "500")
    definition = declared_sync("crm_nightly")
    assert (definition.kind, definition.schedule, definition.timezone) == ("contacts", "0 2 * * *", "UTC")
    assert definition.get("max_calls") == 500 and definition.get("mode") == "mirror"
    assert definition.crm_url() == "postgresql://crm:pw-from-secrets@db.internal/crm"
    assert "pw-from-secrets" not in repr(definition)
    monkeypatch.setenv("SYNCS__CRM_NIGHTLY__PASSWORD", "env:CRM_PASSWORD")
    monkeypatch.setenv("CRM_PASSWORD", "pw-from-env")
    assert declared_sync("crm_nightly").crm_url() == "postgresql://crm:pw-from-env@db.internal/crm"


@pytest.mark.parametrize(("extra", "named"), [
    ('colour = "blue"', "[syncs.crm_nightly] colour: unknown key"),
    ('schedule = "0 25 * * *"', "[syncs.crm_nightly] schedule: '0 25 * * *' is not a valid cron"),
    ('schedule = "@daily please"', "[syncs.crm_nightly] schedule: '@daily please' must have five fields"),
    ('timezone = "Mars/Olympus"', "[syncs.crm_nightly] timezone:"),
    ('mode = "sideways"', "[syncs.crm_nightly] mode: 'sideways' is not a mode"),
    ('query = "SELECT 1"', "[syncs.crm_nightly] query, table: more than one; give exactly one of query, table, sql_file"),
    ("workers = 99", "[syncs.crm_nightly] workers: must be a whole number, 1-16"),
])
def test_a_bad_key_is_named(project, extra: str, named: str) -> None:
    config = "\n".join(line for line in NIGHTLY.splitlines() if line.split(" =")[0] != extra.split(" =")[0])
    project(config + "\n" + extra + "\n")
    with pytest.raises(UsageError, match=named.replace("[", r"\[").replace("]", r"\]").replace("*", r"\*")):
        declared_sync("crm_nightly")


def test_a_campaign_gets_the_checks_of_sdsync_send_named_by_key(project) -> None:
    campaign = ('[syncs.offer]\nkind = "campaign"\nsource = "sqlite:///crm.db"\nquery = "SELECT phone FROM people"\n'
                'customer = "demo-customer"\nservice = "sms-oneway"\nsender = "DemoOy"\ncontent = "Hi"\n')
    project(campaign + 'local_time = "25:00"\n')
    with pytest.raises(UsageError, match=r"^\[syncs.offer\] local_time: '25:00' must be a time HH:MM"):
        declared_sync("offer")
    project(campaign + 'customer_data = "' + "x" * 300 + '"\n')
    with pytest.raises(UsageError, match=r"^\[syncs.offer\] customer_data: is 300 characters; the API allows 255"):
        declared_sync("offer")


def test_every_mode_name_is_accepted(project) -> None:
    for mode in ("upsert", "mirror", "create-only", "update-only"):
        project(NIGHTLY.replace('"mirror"', f'"{mode}"'))
        assert declared_sync("crm_nightly").get("mode") == mode


def test_one_bad_definition_leaves_the_others_usable(project) -> None:
    project(NIGHTLY + '\n[syncs.broken]\nkind = "campaign"\nsource = "sqlite:///crm.db"\n')
    definitions, problems = check_definitions()
    assert [definition.name for definition in definitions] == ["crm_nightly"]
    needs = "source, query, customer, service, sender"
    assert problems == [f"[syncs.broken] query: missing (a campaign sync needs {needs})"]


CAMPAIGN = """
[syncs.{name}]
kind = "campaign"
source = "sqlite:///crm.db"
query = "SELECT phone FROM people"
customer = "c"
service = "s"
sender = "Demo"
{more}
"""


def test_a_declared_campaign_takes_the_send_options_each_checked_by_its_key(project) -> None:
    project(CAMPAIGN.format(name="ab", more='variants = ["A:70=Hi", "B:30=Moi"]\nholdout = "10%"\nfrequency_cap = "2/7d"\n'
                                               'purpose = "marketing"\nspread = "2h"\ngsm_safe = true')
            + CAMPAIGN.format(name="both", more='content = "Hi"\nvariants = ["A=Hi", "B=Moi"]')
            + CAMPAIGN.format(name="cap", more='content = "Hi"\nfrequency_cap = "2 per week"')
            + CAMPAIGN.format(name="spread", more='content = "Hi"\nspread = "2h"\nsend_rate = "5000/h"'))
    definitions, problems = check_definitions()
    assert [definition.name for definition in definitions] == ["ab"]
    assert definitions[0].options["variants"] == ["A:70=Hi", "B:30=Moi"]
    assert [problem.split(":")[0] for problem in problems] == ["[syncs.both] content", "[syncs.cap] frequency_cap",
                                                              "[syncs.spread] spread"], problems


def test_check_exits_2_naming_each_bad_key(project, tmp_path: Path) -> None:
    project(NIGHTLY.replace("0 2 * * *", "0 2 * *") + """
[syncs.no_kind]
source = "sqlite:///crm.db"

[syncs.typo]
kind = "pull"
datset = "x"
""")
    done = Sdsync(tmp_path).run("syncs", "check", "--offline")
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("error: [syncs.crm_nightly] schedule: '0 2 * *' must have five fields")
    assert "[syncs.no_kind] kind: missing; use one of contacts, campaign, pull" in line
    assert "[syncs.typo] datset: unknown key for a pull sync" in line


def test_check_online_names_an_unknown_customer_and_group_service(project, on_emulator, tmp_path: Path) -> None:
    project(NIGHTLY + NIGHTLY.replace("crm_nightly", "other").replace("crm-group", "no-such-group")
            + NIGHTLY.replace("crm_nightly", "third").replace('"demo-customer"', '"no-such-customer"'))
    done = Sdsync(tmp_path, env=emulator_settings(on_emulator, tmp_path / "data")).run("syncs", "check")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "[syncs.other] group_service: customer 'demo-customer' has no Group service 'no-such-group'" in done.stderr
    assert "[syncs.third] customer: unknown customer 'no-such-customer'" in done.stderr
    assert "crm_nightly" not in done.stderr
