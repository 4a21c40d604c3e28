"""`GET /l/CODE` on a real `sdsync serve`: clicks survive SIGKILL exactly once, and every receiver on one
PostgreSQL journal serves every code (and its expiry)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx

from smartdialog_sync.destinations.campaigns.links import Link, LinkCoder, LinkTracking, expire_links, record_links
from smartdialog_sync.journal import open_journal
from tests.receiver.harness import postgres_url, receiver_factory  # noqa: F401

TARGET = "https://shop.example.com/a?b=1"


def _links(campaign: str, count: int) -> list[Link]:
    coder = LinkCoder(b"s" * 32, LinkTracking("https://hooks.example.com"), campaign)
    return [Link(coder.code(None, f"+35840100{i:04d}", TARGET), campaign, None, f"+35840100{i:04d}", TARGET)
            for i in range(count)]


def _clicks_by_code(journal: str | Path) -> dict[str, int]:
    store = open_journal(journal)
    try:
        rows = store.read_link_rows("link_clicks", 0, 1_000_000)
    finally:
        store.close()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[2]] = counts.get(row[2], 0) + 1
    return counts


def test_every_click_answered_302_is_journaled_exactly_once_across_a_sigkill(receiver_factory: Any,  # noqa: F811
                                                                              tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    links = _links("burst", 3000)
    record_links(journal, links)
    receiver = receiver_factory(str(journal)).start()
    answered: list[str] = []
    other: list[int] = []
    pending = list(reversed([link.code for link in links]))
    lock = threading.Lock()

    def clicker() -> None:
        with httpx.Client(base_url=receiver.root_url, timeout=5) as client:
            while True:
                with lock:
                    if not pending:
                        return
                    code = pending.pop()
                try:
                    status = client.get(f"/l/{code}").status_code
                except httpx.HTTPError:
                    return  # the receiver is gone
                with lock:
                    if status != 302:
                        other.append(status)
                        continue
                    answered.append(code)
                    if len(answered) == 300:
                        receiver.kill()

    threads = [threading.Thread(target=clicker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not other and 300 <= len(answered) < len(links), "the kill came during the burst"
    counts = _clicks_by_code(journal)
    assert all(counts.get(code) == 1 for code in answered), "an answered click is missing or doubled"
    assert set(counts.values()) == {1}
    receiver.start()  # the same journal after the kill: still redirects
    assert httpx.get(f"{receiver.root_url}/l/{links[-1].code}").status_code == 302


def test_receivers_sharing_a_postgresql_journal_all_serve_every_code(receiver_factory: Any,  # noqa: F811
                                                                     postgres_url: str, tmp_path: Path) -> None:  # noqa: F811
    first, second = _links("shared", 2)
    record_links(postgres_url, [first, second])
    one = receiver_factory(postgres_url, data_dir=tmp_path / "one").start()
    two = receiver_factory(postgres_url, data_dir=tmp_path / "two").start()
    for receiver in (one, two):
        for link in (first, second):
            answer = httpx.get(f"{receiver.root_url}/l/{link.code}")
            assert answer.status_code == 302 and answer.headers["location"] == TARGET
    assert _clicks_by_code(postgres_url) == {first.code: 2, second.code: 2}
    assert expire_links(postgres_url, "shared") == (2, 2)
    assert {httpx.get(f"{r.root_url}/l/{first.code}").status_code for r in (one, two)} == {410}
    assert _clicks_by_code(postgres_url) == {first.code: 2, second.code: 2}


def test_links_clicks_and_the_link_secret_move_into_postgres(tmp_path: Path, postgres_url: str) -> None:  # noqa: F811
    from smartdialog_sync.journal import ClickRow, migrate_journal
    from smartdialog_sync.receiver.secret import link_secret

    journal = tmp_path / "journal.sqlite"
    links = _links("moving", 3)
    record_links(journal, links)
    local = open_journal(journal)
    local.write_batch([], [], [], [ClickRow("c1", links[0].code, "click", "mobile", 5)])
    local.close()
    secret = link_secret(tmp_path, journal)
    migrated = migrate_journal(journal, postgres_url)
    assert (migrated.copied["links"], migrated.copied["link_clicks"], migrated.copied["link_secret"]) == (3, 1, 1)
    assert migrate_journal(journal, postgres_url).copied["links"] == 0
    assert link_secret(tmp_path / "elsewhere", postgres_url) == secret, "re-planned campaigns make the same codes"
    shared = open_journal(postgres_url)
    try:
        assert [row[1:6] for row in shared.read_link_rows("link_clicks", 0, 10)] == [
            ("c1", links[0].code, "moving", None, links[0].recipient)]
        shared.write_links(_links("after", 1), 9)
        shared.write_batch([], [], [], [ClickRow("c2", links[1].code, "click", "mobile", 10)])
        assert [row[0] for row in shared.read_link_rows("links", 0, 10)] == [1, 2, 3, 4], "new links continue above"
        assert [row[0] for row in shared.read_link_rows("link_clicks", 0, 10)] == [1, 2], "so do new clicks"
    finally:
        shared.close()


def test_prune_removes_only_pulled_clicks(tmp_path: Path) -> None:
    from smartdialog_sync.journal import ClickRow

    store = open_journal(tmp_path / "journal.sqlite")
    try:
        [link] = _links("old", 1)
        store.write_links([link], 1)
        store.write_batch([], [], [], [ClickRow(f"c{i}", link.code, "click", "mobile", 10 + i) for i in range(3)])
        assert store.prune(1_000).link_clicks == 0, "no pull has a mark: nothing goes"
        store.save_pull_mark("pipeline", "link_clicks", 2, 100)
        assert store.prune(1_000).link_clicks == 2
        assert [row[1] for row in store.read_link_rows("link_clicks", 0, 10)] == ["c2"]
    finally:
        store.close()
