"""With --state FILE the state survives a restart; --seed replaces the built-in seed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.emulator.helpers import SEND_HEADERS, send_body
from tests.support.callback_server import CallbackServer
from tests.support.cli import clean_env, run_sdsync


def test_state_survives_restart(start_emulator, tmp_path) -> None:
    emu = start_emulator(state=tmp_path / "state.json")
    with emu.api() as api:
        contact_id = api.post("/groupcontact/demo-customer/crm-group", json={"phone": "+358401234567"}).json()
        sent = api.post("/messages", headers=SEND_HEADERS, json=send_body(RequestId="persist-1")).json()
        location = api.post("/service/sms-twoway/pipelines/actions", headers={"Customer": "demo-customer"}, json={
            "name": "n", "actionType": "HttpRequest", "description": "d",
            "options": {"endpointUrl": "http://127.0.0.1:9/h", "httpVerb": "POST"}}).headers["Location"]
    emu.restart()
    with emu.api() as api:
        assert api.post("/groupcontact/demo-customer/crm-group",
                        json={"phone": "+358401234567"}).json()["id"] == contact_id
        duplicate = api.post("/messages", headers=SEND_HEADERS, json=send_body(RequestId="persist-1"))
        assert (duplicate.status_code, duplicate.json()["messageId"]) == (409, sent["MessageId"])
        assert api.delete(location[len(emu.base_url):]).status_code == 204
    assert [m["message_id"] for m in emu.messages()] == [sent["MessageId"]]


def test_custom_seed(start_emulator, tmp_path) -> None:
    services = [{"id": "s1", "name": "S1", "type": "OneWay"}]
    seed = {
        "auth": {"static_tokens": ["my-token"]},
        "customers": [{"id": "acme", "name": "Acme", "services": services},
                      {"id": "globex", "name": "Globex", "services": services}],
        "phone_number_regions": [{"value": "SE", "name": "Sweden"}],
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    emu = start_emulator(seed=path)
    with emu.api(token="my-token") as api:
        assert api.get("/customers").json() == {"customerUsers": [{"customerId": "acme", "customerName": "Acme"},
                                                                  {"customerId": "globex", "customerName": "Globex"}]}
        assert api.get("/phonenumberregions").json() == [{"value": "SE", "name": "Sweden"}]
        for customer, status in (("acme", 200), ("globex", 200), ("acme", 409)):  # RequestIds are per customer
            response = api.post("/messages", headers={"Customer-Id": customer, "Service-Id": "s1"},
                                json=send_body(RequestId="same"))
            assert response.status_code == status
    with emu.api() as api:
        assert api.get("/customers").status_code == 401


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--seed", "{bad_seed}"], "seed"), (["--seed", "{missing}"], "cannot read seed"),
     (["--rate-limit", "lots"], "CALLS/SECONDS"), (["--error-statuses", "404"], "5xx")],
)
def test_bad_options_exit_2(tmp_path, args, message) -> None:
    bad_seed = tmp_path / "seed.json"
    bad_seed.write_text('{"customers": []}')
    args = [a.format(bad_seed=bad_seed, missing=tmp_path / "missing.json") for a in args]
    done = run_sdsync(clean_env(), "emulator", "--port", "0", *args, timeout=60)
    assert done.returncode == 2, done
    assert done.stderr.startswith("error: ") and len(done.stderr.splitlines()) == 1, done.stderr
    assert message in done.stderr


def test_pending_delivery_reports_resume_after_restart(start_emulator, tmp_path) -> None:
    emu = start_emulator(state=tmp_path / "state.json", dlr_delay=0)
    due = (datetime.now(timezone.utc) + timedelta(seconds=4)).isoformat()
    with CallbackServer() as receiver:
        with emu.api() as api:
            sent = api.post("/messages", headers=SEND_HEADERS,
                            json=send_body(SendDateTime=due, DlrUrl=receiver.url + "/dlr")).json()
        emu.stop()
        assert receiver.received == []
        emu.start()
        [report] = receiver.wait_for(1, timeout=20)
    assert report.query["messageId"] == [sent["MessageId"]]
