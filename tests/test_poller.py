"""Poller: the whole refresh against a real local HTTP server and a real SQLite file."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from monitor import poller as poller_module
from monitor.models import CleanEntry, FeedPollReport, FeedState, FeedStatus
from monitor.poller import Poller, PollerBusy, PollerLock, _SaveQueue, offline_notice
from monitor.store import SaveResult, Store
from monitor.store.items import PollSave
from tests.conftest import make_config
from tests.http_fixtures import Route, closed_port, redirect, serve


def rss(*items: tuple[str, str], title: str = "Test feed") -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>https://news.example/{g}</link><guid>{g}</guid>"
        f"<pubDate>Mon, 16 Nov 2026 10:00:00 GMT</pubDate><description>{t} details</description></item>"
        for g, t in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"{body}</channel></rss>"
    ).encode()


GAZA = rss(
    ("g1", "Hamas and Israel resume talks in Cairo on Rafah crossing"),
    ("g2", "Aid convoys enter Khan Younis"),
)
UKRAINE = rss(("u1", "Zelensky meets Umerov in Kyiv before Geneva round"))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "poll.db")
    yield s
    s.close()


def poller_for(urls: list[str], store: Store, clock: Clock, **settings: object) -> Poller:
    settings = {
        "timeout": 3.0,
        "connect_timeout": 1.0,
        "parse_timeout": 10.0,
        "poll_interval": 600,
        **settings,
    }
    return Poller(make_config(urls, **settings), store, clock=clock, rand=random.Random(7))


async def test_poll_once_stores_tagged_items_and_reports_per_feed(store: Store, clock: Clock) -> None:
    with serve({"/gaza": Route(body=GAZA, etag='"g"'), "/ua": Route(body=UKRAINE)}) as server:
        poller = poller_for([server.url("/gaza"), server.url("/ua")], store, clock)
        try:
            report = await poller.poll_once()
        finally:
            poller.close()
    assert report.new_items == 3 and report.failing == 0
    assert {i.title for i in store.query_items(track="gaza")} == {
        "Hamas and Israel resume talks in Cairo on Rafah crossing",
        "Aid convoys enter Khan Younis",
    }
    assert [i.source for i in store.query_items(track="ukraine")] == ["Test feed"]
    state = store.feed_state(server.url("/gaza"))
    assert state is not None and state.etag == '"g"' and state.status is FeedStatus.OK
    assert state.next_poll == clock.now + timedelta(seconds=600)


async def test_second_forced_poll_is_conditional_and_adds_nothing(store: Store, clock: Clock) -> None:
    with serve(
        {"/gaza": Route(body=GAZA, etag='"v1"', last_modified="Mon, 16 Nov 2026 10:00:00 GMT")}
    ) as server:
        poller = poller_for([server.url("/gaza")], store, clock)
        try:
            await poller.poll_once()
            again = await poller.poll_once(force=True)
        finally:
            poller.close()
        second = server.requests[-1]
    assert second.headers.get("if-none-match") == '"v1"'
    assert second.headers.get("if-modified-since") == "Mon, 16 Nov 2026 10:00:00 GMT"
    assert again.new_items == 0 and again.feeds[0].status == FeedStatus.NOT_MODIFIED
    assert store.count_items() == 2


async def test_not_due_feeds_are_skipped_until_their_time(store: Store, clock: Clock) -> None:
    with serve({"/gaza": Route(body=GAZA)}) as server:
        poller = poller_for([server.url("/gaza")], store, clock)
        try:
            await poller.poll_once()
            assert (await poller.poll_once()).feeds == []
            clock.now += timedelta(seconds=601)
            assert len((await poller.poll_once()).feeds) == 1
        finally:
            poller.close()


async def test_one_broken_feed_never_stops_the_others_and_keeps_its_items(store: Store, clock: Clock) -> None:
    with serve({"/gaza": Route(body=GAZA), "/ua": Route(body=UKRAINE)}) as server:
        urls = [server.url("/gaza"), server.url("/ua")]
        poller = poller_for(urls, store, clock)
        try:
            await poller.poll_once()
            server.routes["/gaza"] = Route(status=500, body=b"oops")
            server.routes["/ua"] = Route(
                body=rss(("u1", "Zelensky meets Umerov in Kyiv"), ("u2", "Shelling in Kharkiv"))
            )
            report = await poller.poll_once(force=True)
        finally:
            poller.close()
    by_url = {f.url: f for f in report.feeds}
    assert by_url[urls[0]].status == FeedStatus.FAILING and by_url[urls[0]].error_kind == "http-status"
    assert by_url[urls[1]].new_items == 1
    failing = store.feed_state(urls[0])
    assert failing is not None and failing.error_count == 1 and "500" in (failing.last_error or "")
    assert failing.next_poll is not None and failing.next_poll > clock.now
    assert len(store.query_items(feed_url=urls[0])) == 2  # stored items untouched


async def test_retry_after_pushes_the_next_poll(store: Store, clock: Clock) -> None:
    with serve({"/busy": Route(status=429, headers={"Retry-After": "7200"})}) as server:
        poller = poller_for([server.url("/busy")], store, clock)
        try:
            report = await poller.poll_once()
        finally:
            poller.close()
    assert report.feeds[0].error_kind == "rate-limited"
    state = store.feed_state(server.url("/busy"))
    assert state is not None and state.next_poll is not None
    assert state.next_poll >= clock.now + timedelta(seconds=7200)


async def test_three_410s_mark_the_feed_gone_until_retried_by_hand(store: Store, clock: Clock) -> None:
    with serve({"/old": Route(status=410)}) as server:
        url = server.url("/old")
        poller = poller_for([url], store, clock)
        try:
            statuses = [(await poller.poll_once(force=True)).feeds[0].status for _ in range(3)]
            assert statuses == [FeedStatus.FAILING, FeedStatus.FAILING, FeedStatus.GONE]
            assert (await poller.poll_once(force=True)).feeds == []  # gone feeds are not polled
            assert server.hits("/old") == 3
            store.revive_feed(url)
            server.routes["/old"] = Route(body=GAZA)
            assert (await poller.poll_once()).feeds[0].status == FeedStatus.OK
        finally:
            poller.close()


async def test_repeated_permanent_redirects_move_the_feed(store: Store, clock: Clock) -> None:
    with serve({"/moved": redirect("/new", 308), "/new": Route(body=GAZA)}) as server:
        url = server.url("/moved")
        poller = poller_for([url], store, clock)
        try:
            for _ in range(3):
                await poller.poll_once(force=True)
            state = store.feed_state(url)
            assert (
                state is not None
                and state.redirect_target == server.url("/new")
                and state.redirect_count == 3
            )
            hits_before = server.hits("/moved")
            await poller.poll_once(force=True)
            assert server.hits("/moved") == hits_before  # now fetched at the new address directly
        finally:
            poller.close()
    assert store.count_items() == 2


async def test_every_feed_unreachable_gives_one_offline_notice(store: Store, clock: Clock) -> None:
    port = closed_port()
    urls = [f"http://127.0.0.1:{port}/a", f"http://127.0.0.1:{port}/b", "http://no-such-host.invalid/feed"]
    poller = poller_for(urls, store, clock)
    try:
        report = await poller.poll_once()
    finally:
        poller.close()
    assert report.all_failed
    notice = offline_notice(report)
    assert notice is not None and notice.startswith("offline") and "3 feeds" in notice


async def test_parse_timeout_fails_only_that_feed(store: Store, clock: Clock) -> None:
    huge = rss(*((f"x{n}", f"Headline number {n} about Kyiv") for n in range(40000)))
    with serve({"/huge": Route(body=huge), "/ua": Route(body=UKRAINE)}) as server:
        poller = poller_for(
            [server.url("/huge"), server.url("/ua")], store, clock, parse_timeout=0.05, max_bytes=50_000_000
        )
        try:
            report = await poller.poll_once()
        finally:
            poller.close()
    by_url = {f.url: f for f in report.feeds}
    assert by_url[server.url("/huge")].error_kind == "parse-error"
    assert "gave up" in (by_url[server.url("/huge")].error or "")
    assert by_url[server.url("/ua")].new_items == 1


async def test_disk_full_is_a_clear_storage_error_and_nothing_half_written(
    store: Store, clock: Clock
) -> None:
    big = rss(*((f"k{n}", f"Kyiv report {n} " + "word " * 200) for n in range(300)))
    with serve({"/ua": Route(body=UKRAINE), "/big": Route(body=big)}) as server:
        poller = poller_for([server.url("/ua"), server.url("/big")], store, clock)
        try:
            await poller.poll_once(only=[server.url("/ua")])
            # SQLite's own page cap gives exactly the error a full disk gives (SQLITE_FULL).
            pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
            original = store._connect

            def capped():  # type: ignore[no-untyped-def]
                conn = original()
                conn.execute(f"PRAGMA max_page_count = {pages + 2}")
                return conn

            store._connect = capped  # type: ignore[method-assign]
            for conn in store._all:
                conn.execute(f"PRAGMA max_page_count = {pages + 2}")
            report = await poller.poll_once(only=[server.url("/big")])
        finally:
            poller.close()
    [feed] = report.feeds
    assert feed.status == FeedStatus.FAILING and feed.error_kind == "storage"
    assert "disk full" in (feed.error or "")
    assert store.query_items(feed_url=server.url("/big")) == []
    assert len(store.query_items(feed_url=server.url("/ua"))) == 1
    assert store.integrity_ok()


def test_a_second_poller_lock_is_refused(tmp_path: Path) -> None:
    with PollerLock(tmp_path / "x.db"), pytest.raises(PollerBusy, match="already polling"):
        PollerLock(tmp_path / "x.db").acquire()
    with PollerLock(tmp_path / "x.db"):
        pass  # released, so it can be taken again


async def test_standard_poller_clusters_new_items_at_ingest(store: Store, clock: Clock) -> None:
    from monitor.ingest_hooks import make_poller

    with serve({"/gaza": Route(body=GAZA)}) as server:
        config = make_config([server.url("/gaza")], timeout=3.0, parse_timeout=10.0)
        poller = make_poller(config, store, clock=clock)
        try:
            report = await poller.poll_once()
        finally:
            poller.close()
    assert report.new_items == 2
    assert all(item.cluster_id for item in store.query_items())


async def test_after_store_hooks_run_once_per_cycle_with_every_new_item(store: Store, clock: Clock) -> None:
    calls: list[tuple[list[str], int]] = []

    def hook(ids: list[str]) -> None:
        # Every feed of the cycle is already stored when the hook runs.
        calls.append((sorted(ids), store.count_items()))

    with serve({"/gaza": Route(body=GAZA, etag='"g"'), "/ua": Route(body=UKRAINE, etag='"u"')}) as server:
        poller = poller_for([server.url("/gaza"), server.url("/ua")], store, clock)
        poller.after_store.append(hook)
        try:
            await poller.poll_once()
            await poller.poll_once(force=True)  # 304s: nothing new, so no call
        finally:
            poller.close()
    assert calls == [(sorted(i.id for i in store.query_items()), 3)]


def _saves(n: int, items: int = 1) -> list[PollSave]:
    state = FeedState(url="https://example.org/feed", title="", status=FeedStatus.OK)
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    entry = CleanEntry("id", "guid", None, "title", "", now, False)
    return [PollSave(state, now, [entry] * items) for _ in range(n)]


NO_STORE = SimpleNamespace(save_polls=None)


class RecordingWriter:
    """Stands in for the store thread: records each transaction's feeds and stores nothing."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, fn: object, saves: list[PollSave]) -> asyncio.Future[list[SaveResult]]:
        self.batches.append(len(saves))
        future: asyncio.Future[list[SaveResult]] = asyncio.get_running_loop().create_future()
        future.set_result([SaveResult() for _ in saves])
        return future


async def test_a_cycles_saves_wait_to_share_a_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poller_module, "BATCH_WAIT", 60.0)  # only the batch rules end a wait here
    writer = RecordingWriter()
    queue = _SaveQueue(NO_STORE, writer, expected=5)  # type: ignore[arg-type]
    first = [asyncio.create_task(queue.save(save)) for save in _saves(4)]
    await asyncio.sleep(0.05)
    assert writer.batches == [] and not any(task.done() for task in first)
    # The fifth and last feed of the cycle: nobody else is coming, so all five go in one commit.
    await queue.save(_saves(1)[0])
    await asyncio.gather(*first)
    assert writer.batches == [5]


async def test_a_batch_worth_a_commit_is_written_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poller_module, "BATCH_WAIT", 60.0)
    writer = RecordingWriter()
    queue = _SaveQueue(NO_STORE, writer, expected=100)  # type: ignore[arg-type]
    await asyncio.wait_for(queue.save(_saves(1, items=poller_module.BATCH_ITEMS)[0]), 5)
    assert writer.batches == [1]


async def test_a_lone_save_waits_at_most_batch_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(poller_module, "BATCH_WAIT", 0.05)
    writer = RecordingWriter()
    queue = _SaveQueue(NO_STORE, writer, expected=100)  # type: ignore[arg-type]
    await asyncio.wait_for(queue.save(_saves(1)[0]), 5)
    assert writer.batches == [1]


async def test_a_slow_feed_does_not_hold_back_the_others_items(store: Store, clock: Clock) -> None:
    stored_when_reported: dict[str, int] = {}

    def on_feed(report: FeedPollReport) -> None:
        stored_when_reported[report.url.rsplit("/", 1)[1]] = store.count_items()

    routes = {"/gaza": Route(body=GAZA), "/slow": Route(body=UKRAINE, delay=1.5)}
    with serve(routes) as server:
        poller = poller_for([server.url("/gaza"), server.url("/slow")], store, clock)
        poller.on_feed = on_feed
        try:
            await poller.poll_once()
        finally:
            poller.close()
    # The fast feed's items were committed (and reported) while the slow one was still answering.
    assert list(stored_when_reported) == ["gaza", "slow"]
    assert stored_when_reported == {"gaza": 2, "slow": 3}
