"""Prometheus metrics of the receiver, in a registry of its own (served on GET /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from smartdialog_sync.journal import CommitStats

__all__ = ["CONTENT_TYPE_LATEST", "ReceiverMetrics"]

BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ReceiverMetrics:
    """Counters of what the receiver answered and histograms of the journal's transactions.

    Label `kind` is "inbound" (NewMessage) or "dlr" (delivery reports).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.acknowledged = Counter(
            "sdsync_receiver_acknowledged", "Requests answered 200 after their row was durable (redeliveries included).",
            ["kind"], registry=self.registry,
        )
        self.rejected = Counter(
            "sdsync_receiver_rejected", "Requests answered with an error, by reason.",
            ["kind", "reason"], registry=self.registry,
        )
        self.dead_lettered = Counter(
            "sdsync_receiver_dead_lettered", "Refused payloads kept in the journal's dead-letter table.",
            ["kind"], registry=self.registry,
        )
        self.duplicates = Counter(
            "sdsync_receiver_duplicates", "Rows that were in the journal already (redeliveries).",
            ["kind"], registry=self.registry,
        )
        self.commit_rows = Histogram(
            "sdsync_journal_commit_rows", "Rows written per journal transaction (group commit batch size).",
            buckets=BATCH_BUCKETS, registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "sdsync_journal_commit_seconds", "Time to write and commit one journal transaction.",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.link_requests = Counter(
            "sdsync_receiver_link_requests", "Requests of tracked links (/l/CODE) by outcome: click, preview (both "
            "redirected and journaled), not_found, gone (expired), unavailable (journal write failed).",
            ["outcome"], registry=self.registry,
        )
        self.journal_rows = Gauge(
            "sdsync_journal_rows", "Rows in the journal, read at scrape time.", ["table"], registry=self.registry,
        )
        for kind in ("inbound", "dlr"):  # export zeros before the first request
            for counter in (self.acknowledged, self.dead_lettered, self.duplicates):
                counter.labels(kind)

    def on_commit(self, stats: CommitStats) -> None:
        """Record one journal transaction (called from the writer thread)."""
        self.commit_rows.observe(stats.rows)
        self.commit_seconds.observe(stats.seconds)
        self.duplicates.labels("inbound").inc(stats.inbound - stats.inbound_new)
        self.duplicates.labels("dlr").inc(stats.dlr - stats.dlr_new)

    def set_journal_rows(self, inbound: int, dlr: int, dead_letters: int) -> None:
        """The row counts of the journal tables (dead letters: those not replayed yet)."""
        self.journal_rows.labels("inbound").set(inbound)
        self.journal_rows.labels("dlr").set(dlr)
        self.journal_rows.labels("dead_letters").set(dead_letters)

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)
