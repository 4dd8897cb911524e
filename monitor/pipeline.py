"""The parse pool: worker processes that parse, clean and tag feed bodies off the polling process,
each parse bounded by a deadline (the worker side is `monitor.parse_worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.config import TrackConfig
from monitor.fork_server import set_fork_server_preload
from monitor.parse_worker import ProcessedFeed, WorkerFailure, init_worker, process_with_deadline

if TYPE_CHECKING:
    from multiprocessing.connection import Connection


class ParseTimeout(Exception):
    """The parser ran past `parse_timeout` and was abandoned."""


QUEUED_PER_WORKER = 2
"""Feeds handed to each worker at once: the next body is already waiting when a worker finishes, instead
of the worker idling through a round trip to the busy parent process."""

HARD_DEADLINE_SLACK = 15.0
"""Extra seconds the parent waits beyond `parse_timeout` before killing the pool: covers worker start-up,
and catches a parser stuck in C code where the in-worker alarm cannot interrupt it."""


def _parse_error(kind: str, message: str) -> Exception:
    # Built on demand: the polling process loads monitor.parse only when a parse has failed.
    from monitor.parse import ParseError

    return ParseError(kind, message)


class ParsePool:
    """Worker processes for parsing; a parse that overruns its deadline costs a pool restart, not the poll."""

    def __init__(self, tracks: Sequence[TrackConfig], *, timeout: float, workers: int | None = None) -> None:
        self._tracks = tuple(tracks)
        self._timeout = timeout
        self._workers = workers or max(1, min(2, os.cpu_count() or 1))
        self._pool: ProcessPoolExecutor | None = None
        self._lifeline: Connection | None = None
        """The pool's workers exit when this closes (see `_exit_with_the_poller`)."""
        self._worker_end: Connection | None = None
        self._starting: Future[None] | None = None
        """Set while `start` spawns the workers in its thread; done once they are up (or it gave up)."""
        self._slots = asyncio.Semaphore(self._workers * QUEUED_PER_WORKER)
        set_fork_server_preload()

    def _ensure(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: the TUI process has threads, and fork() with threads can deadlock children.
            context = multiprocessing.get_context("forkserver")
            # Only this process holds the sending end: the workers see the pipe close when it exits.
            worker_end, self._lifeline = context.Pipe(duplex=False)
            self._pool = ProcessPoolExecutor(
                self._workers,
                mp_context=context,
                initializer=init_worker,
                initargs=(self._tracks, worker_end),
            )
            self._worker_end = worker_end
        return self._pool

    def _cut_lifeline(self) -> None:
        for end in (self._lifeline, self._worker_end):
            if end is not None:
                end.close()
        self._lifeline = self._worker_end = None

    def start(self) -> None:
        """Start the workers now, before the first body arrives, when bodies are all but certain (feeds
        with no validators always answer in full); otherwise the pool starts with the first body.

        Returns at once: the workers are spawned from a thread. Spawning waits for the fork server,
        a fresh interpreter importing the parser (0.2 s), and the fetches can run meanwhile.
        """
        if self._starting is not None:
            return
        pool = self._ensure()
        started: Future[None] = Future()

        def spawn() -> None:
            # A pool killed meanwhile refuses new work; the next parse then starts a new one.
            with contextlib.suppress(Exception):
                for _ in range(self._workers):
                    pool.submit(os.getpid)
            started.set_result(None)

        self._starting = started
        threading.Thread(target=spawn, name="sitmon-parse-pool-start", daemon=True).start()

    async def process(
        self, body: bytes, content_type: str | None, base_url: str, feed_url: str, now: datetime
    ) -> ProcessedFeed:
        """Raises ParseError for unusable documents and ParseTimeout when the deadline passes."""
        loop = asyncio.get_running_loop()
        # At most QUEUED_PER_WORKER tasks per worker, so a task waits behind at most one other parse
        # (itself bounded by the in-worker alarm) and the hard deadline below allows for that wait.
        async with self._slots:
            for attempt in range(2):
                # The first submit to a pool spawns its workers, which waits for the fork server to
                # start and import the parser (0.2 s): done on the event loop, it stalled every fetch.
                self.start()
                assert self._starting is not None
                if not self._starting.done():
                    await asyncio.wrap_future(self._starting)
                pool = self._ensure()
                future = loop.run_in_executor(
                    pool, process_with_deadline, self._timeout, body, content_type, base_url, feed_url, now
                )
                try:
                    outcome = await asyncio.wait_for(
                        future, QUEUED_PER_WORKER * self._timeout + HARD_DEADLINE_SLACK
                    )
                except TimeoutError:
                    self._kill()
                    raise ParseTimeout(f"parser gave up after {self._timeout:g} s (worker stopped)") from None
                except BrokenProcessPool:
                    # A worker died (killed, out of memory, or another feed's stuck parser was stopped):
                    # restart once, then report the feed as failing.
                    self._kill()
                    if attempt:
                        raise _parse_error("parse-error", "parser process crashed") from None
                    continue
                if isinstance(outcome, WorkerFailure):
                    if outcome.kind == "timeout":
                        raise ParseTimeout(outcome.message)
                    raise _parse_error(outcome.kind, outcome.message)
                return outcome
        raise AssertionError("unreachable")

    def _kill(self) -> None:
        pool, self._pool = self._pool, None
        self._starting = None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        self._cut_lifeline()

    def close(self) -> None:
        pool, self._pool = self._pool, None
        self._starting = None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._cut_lifeline()
