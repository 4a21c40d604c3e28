"""`sdsync demo`: every flow of the product on embedded defaults, with no account.

It starts the emulator and the receiver as background processes, creates a sample CRM, syncs its
contacts, sends a small campaign, has the emulator send replies (some STOP) and delivery reports to
the receiver, pulls everything into DuckDB, prints the report and stops the servers. Each step runs
the real `sdsync` command, so what the demo shows is what a user gets.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import httpx
from rich.markup import escape
from smartdialog_sync.receiver.secret import mask_secret
from smartdialog_sync.receiver.server import ReceiverOptions, webhook_urls

from smartdialog_sync.datadir import private_data_dir
from smartdialog_sync.errors import SdsyncError

from .demo_crm import create_crm
from .runtime import console
from .servers import free_port, wait_for_port

CUSTOMER, TWO_WAY, GROUP = "demo-customer", "sms-twoway", "crm-group"
DEMO_RATE_LIMIT = "6000/60"
CONTENT = "Hi {{first_name}}, our spring sale starts today at Demo Oy! Reply STOP to opt out."
REPLIES = ["Thanks!", "What time do you open?", "STOP", "Great, see you", "stop", "Is it online too?"]


class DemoFailed(SdsyncError):
    """A step of the demo failed; the message names it."""


@dataclass(frozen=True)
class DemoPlan:
    """Sizes and place of a demo run."""

    data_dir: Path
    contacts: int = 2000
    recipients: int = 300
    replies: int = 40


def _start(stack: ExitStack, name: str, command: list[str], env: dict[str, str], port: int, log: Path) -> None:
    handle = open(log, "wb")
    stack.callback(handle.close)
    process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    stack.callback(_stop, process)
    try:
        wait_for_port("127.0.0.1", port, timeout=30, process=process)
    except (RuntimeError, TimeoutError) as exc:
        raise DemoFailed(f"the {name} did not start ({exc}); see {log}") from None


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def shown_command(args: Sequence[str]) -> str:
    """`sdsync ARGS` quoted as a shell would read it back, with the receiver's secret masked."""
    return mask_secret(shlex.join(["sdsync", *args]))


def _sdsync(step: str, env: dict[str, str], *args: str) -> None:
    console.rule(f"[bold]{step}")
    console.print(f"$ {shown_command(args)}", style="dim", markup=False, highlight=False, soft_wrap=True)
    result = subprocess.run([sys.executable, "-m", "smartdialog_sync.pipelines.cli", *args], env=env)
    if result.returncode != 0:
        raise DemoFailed(f"step '{step}' failed with exit code {result.returncode}")


def _wait_for_callbacks(admin: httpx.Client, expected: int, timeout: float = 30.0) -> int:
    """Wait until the emulator has delivered `expected` callbacks (replies and delivery reports)."""
    deadline = time.monotonic() + timeout
    delivered = 0
    while time.monotonic() < deadline:
        delivered = admin.get("/stats").json()["callbacks"]["delivered"]
        if delivered >= expected:
            break
        time.sleep(0.3)
    return delivered


def run_demo(plan: DemoPlan) -> None:
    """Run every step of the demo; raise DemoFailed naming the step that failed."""
    started = time.monotonic()
    if plan.data_dir.exists():
        shutil.rmtree(plan.data_dir)
    private_data_dir(plan.data_dir)  # the CRM, the server logs and every later file private (umask 077)
    emulator_port, receiver_port = free_port(), free_port()
    emulator_root = f"http://127.0.0.1:{emulator_port}"
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    env = {
        **os.environ,
        "SMARTDIALOG__BASE_URL": emulator_root + "/api-integrations/v1",
        "SMARTDIALOG__DATA_DIR": str(plan.data_dir),
        "SMARTDIALOG__RATE_LIMIT": DEMO_RATE_LIMIT,
        # the demo's state is its own folder, never a shared state configured for real work
        "SMARTDIALOG__STATE_URL": "", "SMARTDIALOG__LIMITER_URL": "", "SOURCES__SMARTDIALOG__JOURNAL_URL": "",
    }
    env.pop("SMARTDIALOG__ACCESS_TOKEN", None)  # the emulator's sandbox token is used
    real_minutes = round(plan.contacts * 60 / 100 / 60)  # one call per new contact at the real 100/60
    console.print(
        f"[bold]smartdialog-sync demo[/bold] in {escape(str(plan.data_dir))} — the emulator runs with a limit of "
        f"{DEMO_RATE_LIMIT} calls/seconds instead of the real service's 100/60, so the demo takes seconds "
        f"where the contact sync alone would take about {real_minutes} minutes.", soft_wrap=True
    )
    with ExitStack() as stack:
        _start(stack, "emulator", [sys.executable, "-m", "smartdialog_sync.emulator", "--host", "127.0.0.1", "--port", str(emulator_port),
               "--rate-limit", DEMO_RATE_LIMIT], env, emulator_port, plan.data_dir / "emulator.log")
        _start(stack, "receiver", [sys.executable, "-m", "smartdialog_sync.pipelines.cli", "serve", "--port", str(receiver_port),
               "--public-url", receiver_url, "--customer", CUSTOMER, "--service", TWO_WAY],
               env, receiver_port, plan.data_dir / "receiver.log")
        admin = stack.enter_context(httpx.Client(base_url=emulator_root + "/_emulator", timeout=10))
        console.print(f"emulator on {emulator_root}, receiver on {receiver_url}")

        crm = plan.data_dir / "crm.sqlite"
        rows = create_crm(crm, plan.contacts)
        console.print(f"sample CRM: {rows} contacts in {crm} (messy phones, a few invalid and duplicated)")
        source = f"sqlite:///{crm}"
        _sdsync("1. Contact sync", env, "contacts", "sync", "--source", source, "--table", "contacts",
                "--customer", CUSTOMER, "--group-service", GROUP, "--key", "id", "--yes")

        dlr_url = webhook_urls(receiver_url, ReceiverOptions(data_dir=plan.data_dir))[1]
        _sdsync("2. Campaign", env, "send", "--source", source, "--query",
                f"SELECT phone, region, first_name FROM contacts WHERE id <= {plan.recipients}",
                "--region-column", "region", "--customer", CUSTOMER, "--service", TWO_WAY, "--sender", "DemoOy",
                "--content", CONTENT, "--campaign", "demo-spring-sale", "--dlr-url", dlr_url, "--yes")

        console.rule("[bold]3. Replies and delivery reports")
        sent = admin.get("/messages").json()
        addresses = sorted({row["address"] for row in sent})[: plan.replies]
        for index, address in enumerate(addresses):
            admin.post("/inbound", json={"service": TWO_WAY, "sender": address, "content": REPLIES[index % len(REPLIES)]})
        delivered = _wait_for_callbacks(admin, len(sent) + len(addresses))
        console.print(f"{len(addresses)} replies simulated; the emulator delivered {delivered} callbacks to the receiver")

        _sdsync("4. Pull into DuckDB", env, "pull", "--customer", CUSTOMER, "--group-service", GROUP,
                "--group-customer", CUSTOMER, "--max-calls", "50")
        _sdsync("5. Report", env, "report", "--html", str(plan.data_dir / "report.html"), "--limit", "10")
    console.print(
        f"[green]demo finished in {time.monotonic() - started:.0f}s[/green]: data in {plan.data_dir}, "
        f"report page {plan.data_dir / 'report.html'}; servers stopped."
    )
