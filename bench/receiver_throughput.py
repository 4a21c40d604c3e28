"""Receiver throughput: acknowledged (durably journaled) NewMessage posts per second.

Runs the real `sdsync serve` on 127.0.0.1 twice, with group commit and with one commit per request
(`--max-batch 1`), and drives each with a load generator of several processes, each keeping many
HTTP/1.1 keep-alive connections busy (bench/http_load.py: httpx itself would be the bottleneck on
2 cores). Prints messages acknowledged per second and checks the journal holds every one of them.

    python -m bench.receiver_throughput [--messages 40000] [--naive-messages 6000] [--connections 128]
        [--journal postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.http_load import KeepAliveConnection
from smartdialog_sync.journal import open_journal
from smartdialog_sync.pipelines.servers import free_port, wait_for_port
from smartdialog_sync.receiver.secret import load_or_create_secret


@contextmanager
def serving_receiver(data_dir: str, journal: str, *options: str) -> Iterator[int]:
    """The real `sdsync serve` (with `options`) in a process of its own on a free port, until the block ends."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "smartdialog_sync.pipelines.cli", "--data-dir", data_dir, "serve", "--port", str(port),
         "--journal", journal, *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=20.0, process=server)
        yield port
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


async def _connection(port: int, path: str, bodies: list[bytes]) -> int:
    connection = KeepAliveConnection(port)
    acknowledged = 0
    for body in bodies:
        status, _ = await connection.request("POST", path, body)
        acknowledged += 200 <= status < 300
    connection.close()
    return acknowledged


def _load_worker(port: int, path: str, start: int, count: int, connections: int, prefix: str) -> int:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    bodies = [
        json.dumps(
            {
                "messageId": f"{prefix}-{index}",
                "sender": "+358401234567",
                "recipient": "+358409999999",
                "content": f"message number {index}",
                "timestamp": "2026-11-27T05:00:00Z",
                "protocol": "SMS",
                "attachments": [],
            }
        ).encode()
        for index in range(start, start + count)
    ]

    async def main() -> int:
        shares = [bodies[i::connections] for i in range(connections)]
        results = await asyncio.gather(*(_connection(port, path, share) for share in shares if share))
        return sum(results)

    return asyncio.run(main())


def measure(
    max_batch: int, messages: int, processes: int, connections: int, journal_url: str | None = None
) -> tuple[float, int, int]:
    """(acknowledged per second, acknowledged, new journal rows) for a receiver with `max_batch`."""
    with tempfile.TemporaryDirectory(prefix="sdsync-bench-") as data_dir:
        journal = journal_url or str(Path(data_dir) / "journal.sqlite")
        store = open_journal(journal)
        rows_before, _ = store.count_rows()
        store.close()
        with serving_receiver(data_dir, journal, "--max-batch", str(max_batch)) as port:
            path = f"/hooks/{load_or_create_secret(data_dir)}/inbound"
            share = messages // processes
            with multiprocessing.Pool(processes) as pool:
                started = time.perf_counter()
                jobs = [
                    pool.apply_async(_load_worker, (port, path, i * share, share, connections, f"b{max_batch}-{os.getpid()}-{time.time_ns()}"))
                    for i in range(processes)
                ]
                acknowledged = sum(job.get() for job in jobs)
                elapsed = time.perf_counter() - started
        store = open_journal(journal)
        rows, _ = store.count_rows()
        store.close()
    return acknowledged / elapsed, acknowledged, rows - rows_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--naive-messages", type=int, default=6_000)
    parser.add_argument("--processes", type=int, default=1, help="load generator processes")
    parser.add_argument("--connections", type=int, default=128, help="connections per load generator process")
    parser.add_argument("--journal", help="a postgresql:// journal instead of a fresh SQLite file")
    args = parser.parse_args()
    kind = "PostgreSQL" if args.journal else "SQLite WAL, synchronous=FULL"
    print(f"machine: {os.cpu_count()} cores; journal {kind}; "
          f"{args.processes} load processes x {args.connections} connections")
    for label, max_batch, messages in (("group commit", 2000, args.messages), ("one commit per request", 1, args.naive_messages)):
        rate, acknowledged, rows = measure(max_batch, messages, args.processes, args.connections, args.journal)
        status = "ok" if rows == acknowledged else f"MISMATCH: journal holds {rows}"
        print(f"{label:>24}: {rate:8.0f} acknowledged messages/s ({acknowledged} acknowledged, journal {status})")


if __name__ == "__main__":
    main()
