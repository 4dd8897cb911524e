"""One readable refresh: fetch -> not modified? -> parse/clean/tag -> store items and state -> schedule."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, ParamSpec, TypeVar

from monitor.config import Config
from monitor.fetch import Fetcher, warm_tls
from monitor.models import (
    ErrorKind,
    FeedPollReport,
    FeedState,
    FeedStatus,
    FetchOutcome,
    FetchResult,
    PollReport,
)
from monitor.parse_worker import ProcessedFeed
from monitor.pipeline import ParsePool, ParseTimeout
from monitor.schedule import next_poll
from monitor.store import SaveResult, Store, StoreError
from monitor.store.items import PollSave
from monitor.urls import redact

PERMANENT_REDIRECTS_TO_MOVE = 3
"""Polls in a row that must answer with the same permanent redirect before we fetch the target directly."""

MAX_SAVES_PER_COMMIT = 64
"""Most feeds stored in one transaction."""
BATCH_ITEMS = 1000
"""Queued items worth a commit of their own: 10,000 items cost 0.6 s stored three feeds to a
transaction and 0.35 s twenty-five to one."""
BATCH_WAIT = 0.2
"""Longest a feed's save waits for others to share its transaction (and the TUI to see its items)."""

Clock = Callable[[], datetime]
P = ParamSpec("P")
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


def record_daily_history(store: Store, config: Config, now: datetime) -> None:
    """The day's negotiation status per track (`monitor.negotiation.record_daily_history`)."""
    # Imported when a cycle's fetching is done: the engine takes 60 ms to import, and a poll starts
    # its requests before that.
    from monitor.negotiation import record_daily_history as record

    record(store, config, now)


class PollerBusy(Exception):
    """Another poller holds this database's poll lock."""


class PollerLock:
    """An advisory lock file beside the database, so two pollers never race on one database.

    flock is released by the kernel when the process dies, so a crashed poller never leaves a stale lock.
    """

    def __init__(self, db_path: Path) -> None:
        self.path = Path(f"{db_path}.poll-lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise PollerBusy(
                f"another poller ({holder}) is already polling this database; "
                "use `sitmon --no-poll` to view it, or stop the other poller"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> PollerLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class _SaveQueue:
    """Feed saves of one poll, written in order on the store thread, several feeds to a transaction.

    A commit costs about as much as storing a few hundred items (FTS5 writes a segment, every index
    touched writes its pages again), so the writer waits for a batch worth a commit: until
    `BATCH_ITEMS` items or `MAX_SAVES_PER_COMMIT` feeds are queued, every other feed of the cycle is
    waiting on the store too, or the oldest save has waited `BATCH_WAIT` seconds.
    """

    def __init__(
        self,
        store: Store,
        run: Callable[..., asyncio.Future[list[SaveResult | StoreError]]],
        expected: int = 0,
    ) -> None:
        self._store = store
        self._run = run
        self._expected = expected
        """Saves this cycle will make (one per due feed); with all of them queued there is no point waiting."""
        self._received = 0
        self._pending: list[tuple[PollSave, asyncio.Future[SaveResult]]] = []
        self._arrived = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    async def save(self, save: PollSave) -> SaveResult:
        """Store one feed's poll; raises StoreError when that feed could not be stored."""
        future: asyncio.Future[SaveResult] = asyncio.get_running_loop().create_future()
        self._pending.append((save, future))
        self._received += 1
        self._arrived.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    def _batch_ready(self) -> bool:
        pending = self._pending
        return (
            len(pending) >= MAX_SAVES_PER_COMMIT
            or self._received >= self._expected
            or sum(len(save.entries) for save, _ in pending) >= BATCH_ITEMS
        )

    async def _gather_batch(self) -> None:
        deadline = asyncio.get_running_loop().time() + BATCH_WAIT
        while not self._batch_ready():
            self._arrived.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def _write(self) -> None:
        while self._pending:
            await self._gather_batch()
            batch = self._pending[:MAX_SAVES_PER_COMMIT]
            del self._pending[:MAX_SAVES_PER_COMMIT]
            try:
                results = await self._run(self._store.save_polls, [save for save, _ in batch])
            except BaseException as exc:  # a bug, or cancellation: every waiting feed must hear of it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, StoreError):
                    future.set_exception(result)
                else:
                    future.set_result(result)


class Poller:
    """Polls the configured feeds into the store. The TUI and `sitmon poll` both drive this one class."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Clock = utc_now,
        on_feed: Callable[[FeedPollReport], None] | None = None,
        rand: random.Random | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.on_feed = on_feed
        self.rand = rand or random.Random()
        self.pool = ParsePool(config.tracks, timeout=config.settings.parse_timeout)
        warm_tls()
        self.after_store: list[Callable[[list[str]], None]] = []
        """Hooks run on the store thread with the ids of a cycle's new items, once every feed is stored."""
        self._new_ids: list[str] = []
        self._feeds_synced = False
        self._store_thread: ThreadPoolExecutor | None = None
        self._saves: _SaveQueue | None = None

    def close(self) -> None:
        self.pool.close()
        thread, self._store_thread = self._store_thread, None
        if thread is not None:
            thread.shutdown(wait=True)

    def _in_store_thread(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> asyncio.Future[T]:
        # Every store call of a poll runs on this one thread: writers in several threads would queue on
        # SQLite's write lock, whose busy handler sleeps in steps of up to 100 ms instead of waking
        # when the lock is free. One thread also means one connection for the whole cycle.
        if self._store_thread is None:
            self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sitmon-store")
        return asyncio.get_running_loop().run_in_executor(
            self._store_thread, functools.partial(fn, *args, **kwargs)
        )

    def sync_feeds(self) -> None:
        self.store.sync_feeds(self.config.feeds, self.clock())
        self._feeds_synced = True

    async def poll_once(self, *, force: bool = False, only: list[str] | None = None) -> PollReport:
        """Poll every feed that is due (or all, with `force`); one bad feed never stops the others."""
        if not self._feeds_synced:
            await self._in_store_thread(self.sync_feeds)
        started = self.clock()
        due = await self._in_store_thread(self.store.due_feeds, started, force=force)
        if only is not None:
            due = [state for state in due if state.url in only]
        reports: list[FeedPollReport] = []
        if any(state.etag is None and state.last_modified is None for state in due):
            # A feed without validators answers with a body: start the parse workers while fetching.
            self.pool.start()
        self._new_ids = []
        if due:
            self._saves = _SaveQueue(self.store, self._in_store_thread, expected=len(due))
            async with Fetcher(self.config.settings) as fetcher:
                reports = list(await asyncio.gather(*(self._poll_feed(fetcher, state) for state in due)))
        if self._new_ids and self.after_store:
            # Stories and readings for the whole cycle at once, after the last feed is stored: run
            # per feed, they made every later feed's save wait behind them on the store thread.
            new_ids, self._new_ids = self._new_ids, []
            for hook in self.after_store:
                await self._in_store_thread(hook, new_ids)
        # Once per cycle, so the panel's 30-day strip and the digest's "what changed" have a row per day.
        with contextlib.suppress(StoreError):
            await asyncio.to_thread(record_daily_history, self.store, self.config, self.clock())
        if self.config.settings.retention_days:
            cutoff = self.clock() - timedelta(days=self.config.settings.retention_days)
            # Retention retries next cycle; a full disk is already reported per feed.
            with contextlib.suppress(StoreError):
                await self._in_store_thread(self.store.purge_older_than, cutoff)
        return PollReport(started=started, finished=self.clock(), feeds=reports)

    async def _poll_feed(self, fetcher: Fetcher, state: FeedState) -> FeedPollReport:
        began = time.monotonic()
        report = await self._poll_feed_inner(fetcher, state)
        report = replace(report, seconds=time.monotonic() - began)
        if self.on_feed is not None:
            self.on_feed(report)
        return report

    async def _poll_feed_inner(self, fetcher: Fetcher, state: FeedState) -> FeedPollReport:
        # The recorded target is redacted, so a feed with credentials in its URL keeps its own address.
        can_move = state.redirect_count >= PERMANENT_REDIRECTS_TO_MOVE and redact(state.url) == state.url
        moved = state.redirect_target if can_move else None
        fetch_url = moved or state.url
        result = await fetcher.fetch(fetch_url, etag=state.etag, last_modified=state.last_modified)
        now = self.clock()
        title = state.title
        if result.outcome is FetchOutcome.ERROR:
            return await self._record_error(
                state, result, now, result.error_kind or ErrorKind.OTHER, result.error or "fetch failed"
            )
        redirect_target, redirect_count = self._redirects(state, result, moved)
        validators = {
            "etag": result.etag or state.etag,
            "last_modified": result.last_modified or state.last_modified,
        }
        if result.outcome is FetchOutcome.NOT_MODIFIED:
            new_state = self._success_state(
                state, now, validators, redirect_target, redirect_count, state.malformed
            )
            await self._save(new_state, now=now, not_modified=True)
            return FeedPollReport(state.url, title, FeedStatus.NOT_MODIFIED)
        assert result.body is not None
        try:
            processed: ProcessedFeed = await self.pool.process(
                result.body, result.content_type, result.final_url or fetch_url, state.url, now
            )
        except ParseTimeout as exc:
            return await self._record_error(state, result, now, ErrorKind.PARSE, str(exc))
        except Exception as exc:
            # Imported here: lxml and feedparser load in the parse workers, and in this process only
            # once a parse has failed, so a poll where every feed answers 304 never imports them.
            from monitor.parse import ParseError

            if not isinstance(exc, ParseError):
                raise
            kind = {"empty-body": ErrorKind.EMPTY, "not-a-feed": ErrorKind.NOT_A_FEED}.get(
                exc.kind, ErrorKind.PARSE
            )
            return await self._record_error(state, result, now, kind, exc.message)
        new_state = self._success_state(
            state, now, validators, redirect_target, redirect_count, processed.malformed
        )
        if processed.malformed:
            new_state = replace(
                new_state, last_error=f"malformed feed: {processed.malformed_reason or 'salvaged'}"
            )
        source = self._source_name(state, processed.title)
        try:
            saved = await self._save_queue().save(
                PollSave(new_state, now, processed.entries, processed.tags, source, processed.title)
            )
        except StoreError as exc:
            return FeedPollReport(
                state.url, title, FeedStatus.FAILING, error=str(exc), error_kind=ErrorKind.STORAGE
            )
        self._new_ids.extend(saved.new_ids)
        status = FeedStatus.OK
        return FeedPollReport(
            state.url,
            source,
            status,
            new_items=len(saved.new_ids),
            updated_items=len(saved.updated_ids),
            error=new_state.last_error if processed.malformed else None,
        )

    def _source_name(self, state: FeedState, feed_title: str | None) -> str:
        configured = next((f.title for f in self.config.feeds if f.url == state.url), "")
        return configured or feed_title or state.title or state.url

    @staticmethod
    def _redirects(state: FeedState, result: FetchResult, moved: str | None) -> tuple[str | None, int]:
        if moved:
            return state.redirect_target, state.redirect_count
        if result.permanent_redirect:
            same = result.permanent_redirect == state.redirect_target
            return result.permanent_redirect, (state.redirect_count + 1 if same else 1)
        return None, 0

    def _success_state(
        self,
        state: FeedState,
        now: datetime,
        validators: dict[str, str | None],
        redirect_target: str | None,
        redirect_count: int,
        malformed: bool,
    ) -> FeedState:
        s = self.config.settings
        return replace(
            state,
            status=FeedStatus.OK,
            etag=validators["etag"],
            last_modified=validators["last_modified"],
            last_polled=now,
            last_success=now,
            next_poll=next_poll(
                now, poll_interval=s.poll_interval, error_count=0, max_backoff=s.max_backoff, rand=self.rand
            ),
            error_count=0,
            error_kind=None,
            last_error=None,
            gone_count=0,
            malformed=malformed,
            redirect_target=redirect_target,
            redirect_count=redirect_count,
        )

    async def _record_error(
        self, state: FeedState, result: FetchResult, now: datetime, kind: ErrorKind, message: str
    ) -> FeedPollReport:
        s = self.config.settings
        errors = state.error_count + 1
        gone_count = state.gone_count + 1 if kind is ErrorKind.GONE else 0
        gone = gone_count >= s.gone_after
        message = redact(message)
        if gone:
            message = f"{message} ({gone_count} times in a row: marked gone; `sitmon feeds retry URL` to poll again)"
        new_state = replace(
            state,
            status=FeedStatus.GONE if gone else FeedStatus.FAILING,
            last_polled=now,
            next_poll=next_poll(
                now,
                poll_interval=s.poll_interval,
                error_count=errors,
                max_backoff=s.max_backoff,
                retry_after=result.retry_after,
                rand=self.rand,
            ),
            error_count=errors,
            error_kind=str(kind),
            last_error=message,
            gone_count=gone_count,
        )
        try:
            await self._save(new_state, now=now, not_modified=False)
        except StoreError as exc:
            message = f"{message}; and could not record it: {exc}"
        return FeedPollReport(
            state.url,
            state.title,
            FeedStatus.GONE if gone else FeedStatus.FAILING,
            error=message,
            error_kind=str(kind),
        )

    async def _save(self, state: FeedState, *, now: datetime, not_modified: bool) -> None:
        await self._save_queue().save(PollSave(state, now, not_modified=not_modified))

    def _save_queue(self) -> _SaveQueue:
        if self._saves is None:
            self._saves = _SaveQueue(self.store, self._in_store_thread)
        return self._saves

    async def run_forever(
        self,
        stop: asyncio.Event,
        wake: asyncio.Event | None = None,
        on_cycle: Callable[[PollReport], None] | None = None,
    ) -> None:
        """Poll on schedule until `stop` is set; setting `wake` polls every feed now. Cycles never overlap."""
        wake = wake or asyncio.Event()
        force = False
        while not stop.is_set():
            report = await self.poll_once(force=force)
            if on_cycle is not None:
                on_cycle(report)
            wake.clear()
            force = False
            delay = self.seconds_until_next_due()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
            _, pending = await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()
            force = wake.is_set()

    def seconds_until_next_due(self) -> float:
        due = self.store.next_due()
        if due is None:
            return float(self.config.settings.poll_interval)
        return min(max((due - self.clock()).total_seconds(), 1.0), float(self.config.settings.poll_interval))


def offline_notice(report: PollReport) -> str | None:
    """One message when every feed failed to connect, instead of one error per feed."""
    if not report.all_failed:
        return None
    network = {str(ErrorKind.DNS), str(ErrorKind.CONNECT), str(ErrorKind.TIMEOUT), str(ErrorKind.TLS)}
    if all(f.error_kind in network for f in report.feeds):
        return f"offline: none of {len(report.feeds)} feeds could be reached (network down?)"
    return f"all {len(report.feeds)} feeds failed this cycle"
