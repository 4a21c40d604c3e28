"""Emulator throughput: sequential API calls per second, and the latency of a 1000-recipient send.

Run: python -m bench.emulator_throughput [--calls 500] [--state]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tests.conftest import EmulatorHandle

SEND_HEADERS = {"Customer-Id": "demo-customer", "Service-Id": "sms-oneway"}


def _send(api, recipients: int, request_id: str) -> float:
    body = {"Sender": "DemoOy", "Protocol": "SMS", "Content": "Hello {{name}}", "RequestId": request_id,
            "Recipients": [{"Address": f"+3584012{i:05d}", "Personalization": {"name": f"N{i}"}}
                           for i in range(recipients)]}
    started = time.perf_counter()
    response = api.post("/messages", headers=SEND_HEADERS, json=body)
    response.raise_for_status()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--state", action="store_true", help="run the emulator with a JSON state file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        options = {"rate_limit": "1000000/60"}
        if args.state:
            options["state"] = str(Path(tmp) / "state.json")
        emulator = EmulatorHandle(options).start()
        try:
            with emulator.api() as api:
                started = time.perf_counter()
                for _ in range(args.calls):
                    api.get("/customers").raise_for_status()
                reads = args.calls / (time.perf_counter() - started)
                single = [_send(api, 1, f"one-{i}") for i in range(args.calls)]
                bulk = [_send(api, 1000, f"bulk-{i}") for i in range(5)]
        finally:
            emulator.close()
    print(f"state file: {'yes' if args.state else 'no'}")
    print(f"GetUserCustomers: {reads:.0f} calls/s (sequential, one connection)")
    print(f"SendMessage, 1 recipient: {1 / statistics.mean(single):.0f} calls/s, "
          f"p50 {statistics.median(single) * 1000:.1f} ms")
    print(f"SendMessage, 1000 recipients: p50 {statistics.median(bulk) * 1000:.0f} ms, max {max(bulk) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
