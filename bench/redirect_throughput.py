"""Tracked-link redirect throughput: `GET /l/CODE` answered 302 (the click durably journaled) per second.

Measured the same way as bench/receiver_throughput.py (the real `sdsync serve` on 127.0.0.1, group commit,
a SQLite WAL journal with synchronous=FULL, the keep-alive load generator of bench/http_load.py), and
then that benchmark's webhook figure on the same machine, so the two compare. Checks that the journal holds
exactly one click per 302.

    python -m bench.redirect_throughput [--clicks 40000] [--messages 40000] [--connections 128]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import tempfile
import time
from pathlib import Path

from bench.http_load import KeepAliveConnection
from bench.receiver_throughput import measure, serving_receiver
from smartdialog_sync.destinations.campaigns.links import Link, LinkCoder, LinkTracking, record_links
from smartdialog_sync.journal import open_journal

LINKS = 100_000  # recorded links the clicks are spread over (the lookup is on an index of this many codes)


def _codes(count: int) -> list[str]:
    coder = LinkCoder(b"bench-secret" * 3, LinkTracking("https://hooks.example.com"), "bench")
    return [coder.code(None, f"+3584{i:08d}", "https://shop.example.com/sale") for i in range(count)]


async def _connection(port: int, codes: list[str]) -> int:
    connection = KeepAliveConnection(port)
    redirected = 0
    for code in codes:
        status, _ = await connection.request("GET", f"/l/{code}")
        redirected += status == 302
    connection.close()
    return redirected


def _load_worker(port: int, codes: list[str], connections: int) -> int:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> int:
        shares = [codes[i::connections] for i in range(connections)]
        return sum(await asyncio.gather(*(_connection(port, share) for share in shares if share)))

    return asyncio.run(main())


def measure_redirects(clicks: int, processes: int, connections: int) -> tuple[float, int, int]:
    """(redirects per second, redirects answered, clicks journaled) on a fresh SQLite journal."""
    with tempfile.TemporaryDirectory(prefix="sdsync-bench-") as data_dir:
        journal = Path(data_dir) / "journal.sqlite"
        codes = _codes(LINKS)
        record_links(journal, [Link(code, "bench", None, f"+3584{i:08d}", "https://shop.example.com/sale")
                               for i, code in enumerate(codes)])
        wanted = [codes[i % LINKS] for i in range(clicks)]
        with serving_receiver(data_dir, str(journal)) as port, multiprocessing.Pool(processes) as pool:
            started = time.perf_counter()
            jobs = [pool.apply_async(_load_worker, (port, wanted[i::processes], connections)) for i in range(processes)]
            redirected = sum(job.get() for job in jobs)
            elapsed = time.perf_counter() - started
        store = open_journal(journal)
        journaled = len(store.read_link_rows("link_clicks", 0, clicks + 1))
        store.close()
    return redirected / elapsed, redirected, journaled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=40_000)
    parser.add_argument("--messages", type=int, default=40_000, help="webhooks of the comparison run")
    parser.add_argument("--processes", type=int, default=1, help="load generator processes")
    parser.add_argument("--connections", type=int, default=128, help="connections per load generator process")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; journal SQLite WAL, synchronous=FULL; "
          f"{args.processes} load processes x {args.connections} connections; {LINKS:,} links recorded")
    rate, redirected, journaled = measure_redirects(args.clicks, args.processes, args.connections)
    status = "ok" if journaled == redirected else f"MISMATCH: journal holds {journaled}"
    print(f"{'redirects (GET /l/CODE)':>26}: {rate:8.0f} redirects/s ({redirected} answered 302, journal {status})")
    rate, acknowledged, rows = measure(2000, args.messages, args.processes, args.connections)
    status = "ok" if rows == acknowledged else f"MISMATCH: journal holds {rows}"
    print(f"{'webhooks (POST inbound)':>26}: {rate:8.0f} acknowledged messages/s ({acknowledged} acknowledged, journal {status})")


if __name__ == "__main__":
    main()
