"""The client against the emulator as a real server: every operation end to end, the CLI, OAuth,
and the limiter bound seen from the service's side."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smartdialog_sync.api import ClientSettings, SmartDialogClient, errors
from smartdialog_sync.constants import EMULATOR_HOST, EMULATOR_PORT
from tests.support.cli import clean_env, run_sdsync

CUSTOMER, TWO_WAY, ONE_WAY, GROUP = "demo-customer", "sms-twoway", "sms-oneway", "crm-group"


def client_for(emulator, data_dir: Path, **overrides) -> SmartDialogClient:
    values = {"base_url": emulator.base_url, "access_token": emulator.token, "rate_limit": "1000/1", "data_dir": data_dir}
    values.update(overrides)
    return SmartDialogClient(ClientSettings().with_overrides(**values))


def test_every_operation_round_trips(emulator, tmp_path: Path) -> None:
    with client_for(emulator, tmp_path) as api:
        assert CUSTOMER in [c.customer_id for c in api.get_user_customers()]
        assert [s.id for s in api.get_customer_services(CUSTOMER, "TwoWay", allow_reply_message=True)] == [TWO_WAY]
        assert [s.id for s in api.get_customer_services(CUSTOMER, "Group")] == [GROUP]
        templates = api.get_customer_whatsapp_templates(CUSTOMER)
        assert templates and all(t.raw_content for t in templates)
        assert "UTILITY" in api.get_whatsapp_template_categories()
        [identity] = api.get_customer_whatsapp_identities(CUSTOMER)
        assert "FI" in [r.value for r in api.get_phone_number_regions()]

        sent = api.send_message(CUSTOMER, ONE_WAY, {
            "sender": "DemoOy", "content": "Hi {{name}}", "request_id": "rt-1",
            "recipients": [{"address": "+358401234567", "personalization": {"name": "Anna"}}],
        })
        assert sent.message_id and sent.recipients[0].address == "+358401234567" and sent.recipients[0].id
        assert [m["content"] for m in emulator.messages("+358401234567")] == ["Hi Anna"]
        reply = api.send_reply_message(sent.message_id, CUSTOMER, TWO_WAY, {
            "sender": "+358401000001", "content": "Re", "recipients": [{"address": "+358401234567"}]})
        assert reply.message_id and reply.message_id != sent.message_id
        template = templates[0]
        wa = api.send_whatsapp_template_message(CUSTOMER, TWO_WAY, {
            "template_name": template.id, "recipients": [{"address": "+358401234568"}], "body_parameters": ["A-1"]})
        assert wa.message_id and wa.recipients[0].id
        api.create_whatsapp_template(CUSTOMER, identity, {
            "display_name": "shipped", "raw_content": "Shipped {{1}}", "category": "UTILITY", "language": "en"})
        assert "shipped" in [t.display_name for t in api.get_customer_whatsapp_templates(CUSTOMER)]
        with pytest.warns(DeprecationWarning):
            api.whatsapp_opt_in(identity, "+358401234568")
        with pytest.warns(DeprecationWarning):
            api.whatsapp_opt_out(identity, "+358401234568")

        contact_id = api.create_group_contact(CUSTOMER, GROUP, {"phone": "040 123 4567", "first_name": "Anna"})
        assert len(contact_id) == 36
        record = api.get_group_contact(CUSTOMER, GROUP, "+358401234567")
        assert record is not None and record.phone == "+358401234567" and record.first_name == "Anna"
        assert api.update_group_contact(CUSTOMER, GROUP, "+358401234567", {"first_name": "Anne", "city": "Oulu"})
        assert api.get_group_contact(CUSTOMER, GROUP, "+358401234567").city == "Oulu"
        assert api.delete_group_contact(CUSTOMER, GROUP, "+358401234567")
        assert api.get_group_contact(CUSTOMER, GROUP, "+358401234567") is None
        api.create_group_contact(CUSTOMER, GROUP, {"phone": "+46701234567", "phone_number_regions": ["SE"]})
        assert api.delete_all_group_contacts(CUSTOMER, GROUP)
        assert emulator.contacts() == []

        registration = api.new_message_webhook(CUSTOMER, TWO_WAY, "http://127.0.0.1:9/hooks/x/inbound")
        assert len(emulator.webhooks()) == 1
        api.delete_trigger(registration.pipeline_id, registration.action_id)
        assert emulator.webhooks() == []
        with pytest.raises(errors.NotFound):
            api.delete_trigger(registration.pipeline_id, registration.action_id)
        assert api.stats.throttled == 0


def test_duplicate_request_id_is_refused_by_the_service(emulator, tmp_path: Path) -> None:
    body = {"sender": "DemoOy", "content": "once", "recipients": [{"address": "+358401234567"}], "request_id": "dup-1"}
    with client_for(emulator, tmp_path) as api:
        first = api.send_message(CUSTOMER, ONE_WAY, body)
        with pytest.raises(errors.Conflict) as caught:
            api.send_message(CUSTOMER, ONE_WAY, body)
    assert "dup-1" in str(caught.value) and first.message_id in str(caught.value)
    assert len(emulator.messages("+358401234567")) == 1


def test_existing_contact_is_a_conflict(emulator, tmp_path: Path) -> None:
    with client_for(emulator, tmp_path) as api:
        api.create_group_contact(CUSTOMER, GROUP, {"phone": "+358401234567"})
        with pytest.raises(errors.Conflict):
            api.create_group_contact(CUSTOMER, GROUP, {"phone": "0401234567"})
        with pytest.raises(errors.NotFound):
            api.update_group_contact(CUSTOMER, GROUP, "+358409999999", {"first_name": "X"})


def test_oauth_refresh_against_the_emulator_token_endpoint(emulator, tmp_path: Path) -> None:
    settings = ClientSettings().with_overrides(
        base_url=emulator.base_url, client_id="sandbox-client", client_secret="sandbox-secret",
        refresh_token="sandbox-refresh-token", token_url=emulator.root_url + "/oauth2/v2.0/token",
        rate_limit="1000/1", data_dir=tmp_path,
    )
    with SmartDialogClient(settings) as api:
        assert api.get_user_customers()
    with SmartDialogClient(settings) as api:  # the configured refresh token was rotated away; the stored one works
        assert api.get_user_customers()
    stored = json.loads((tmp_path / "oauth_tokens.json").read_text())
    assert list(stored.values())[0]["refresh_token"] != "sandbox-refresh-token"


def test_limiter_keeps_three_processes_under_the_service_limit(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit="10/2")
    worker = (
        "import sys; from pathlib import Path; from smartdialog_sync.api import ClientSettings, SmartDialogClient\n"
        "s = ClientSettings().with_overrides(base_url=sys.argv[1], access_token='sandbox-token', rate_limit='10/2', data_dir=sys.argv[2])\n"
        "with SmartDialogClient(s) as api:\n"
        "    for _ in range(8): api.get_phone_number_regions()\n"
        "    print(api.stats.throttled)\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", worker, emulator.base_url, str(tmp_path)], stdout=subprocess.PIPE, text=True)
               for _ in range(3)]
    throttled = [int(w.communicate(timeout=60)[0]) for w in workers]
    stats = emulator.stats()
    assert throttled == [0, 0, 0]
    assert stats["rate_limited"] == 0
    assert stats["calls_by_operation"]["GetPhoneNumberRegions"] == 24


def test_cli_browses_the_account(emulator, tmp_path: Path) -> None:
    common = ["--base-url", emulator.base_url, "--data-dir", str(tmp_path)]
    customers = run_sdsync(clean_env(), *common, "api", "customers", "--json")
    assert customers.returncode == 0, customers.stderr
    assert json.loads(customers.stdout)[0]["customer_id"] == CUSTOMER
    services = run_sdsync(clean_env(), *common, "api", "services", "--customer", CUSTOMER)
    assert services.returncode == 0 and TWO_WAY in services.stdout and "Group" in services.stdout
    for command in (["templates", "-c", CUSTOMER], ["identities", "-c", CUSTOMER], ["categories"], ["regions"]):
        result = run_sdsync(clean_env(), *common, "api", *command)
        assert result.returncode == 0 and result.stdout.strip(), result.stderr


def test_cli_exit_codes(emulator, tmp_path: Path) -> None:
    bad_config = run_sdsync(clean_env(), "--base-url", emulator.base_url, "--rate-limit", "lots", "api", "customers")
    assert bad_config.returncode == 2 and "rate_limit" in bad_config.stderr
    bad_usage = run_sdsync(clean_env(), "api", "services")
    assert bad_usage.returncode == 2
    refused = run_sdsync(clean_env(SMARTDIALOG__ACCESS_TOKEN="wrong-token-123"), "--base-url", emulator.base_url,
                         "--data-dir", str(tmp_path), "api", "customers")
    assert refused.returncode == 1 and "401" in refused.stderr and "wrong-token-123" not in refused.stderr


def test_no_emulator_on_the_default_url_is_said_at_once(tmp_path: Path) -> None:
    with socket.socket() as probe:
        if probe.connect_ex((EMULATOR_HOST, EMULATOR_PORT)) == 0:
            pytest.skip(f"something listens on the default emulator port {EMULATOR_PORT}")
    result = run_sdsync(clean_env(), "--data-dir", str(tmp_path), "api", "customers", cwd=tmp_path)
    assert result.returncode == 1
    assert "no emulator is running" in result.stderr and "sdsync emulator" in result.stderr
    assert "retry" not in result.stderr and "Traceback" not in result.stderr


def test_a_refused_loopback_url_fails_at_once_with_the_fix(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        started = time.monotonic()
        result = run_sdsync(clean_env(), "--data-dir", str(tmp_path), "--base-url", f"http://127.0.0.1:{port}/api-integrations/v1",
                            "api", "customers", cwd=tmp_path)
        took = time.monotonic() - started
    assert result.returncode == 1
    assert result.stderr == (f"failed: GetUserCustomers: nothing is listening at http://127.0.0.1:{port}/api-integrations/v1 "
                             f"(connection refused): start the emulator there with `sdsync emulator --port {port}`, "
                             "or correct --base-url / SMARTDIALOG__BASE_URL\n"), result.stderr
    assert took < 10, f"{took:.1f} s: retried instead of failing at once"
