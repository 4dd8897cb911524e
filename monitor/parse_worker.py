"""The worker half of a parse: parse -> clean -> tag one feed body, in a worker process, under a deadline.

Kept apart from `monitor.pipeline` (the pool, on the polling side) so the fork server preloads only
what a worker runs: the pool's asyncio alone would add a fifth to the server's start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.models import CleanEntry

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from monitor.config import TrackConfig
    from monitor.tagging import Tagger


@dataclass(frozen=True, slots=True)
class ProcessedFeed:
    """A feed body turned into clean, tagged entries."""

    title: str | None
    entries: list[CleanEntry]
    tags: dict[str, dict[str, list[str]]]
    malformed: bool
    malformed_reason: str | None
    skipped: int
    """Entries dropped because they had no title, summary or link."""


@dataclass(frozen=True, slots=True)
class WorkerFailure:
    """A failure carried back from a worker as data (custom exceptions do not survive pickling)."""

    kind: str
    """`timeout`, or a ParseError kind."""
    message: str


_TAGGER: Tagger | None = None


class _Alarm(BaseException):
    """Raised by SIGALRM inside a worker; a BaseException so parser code catching Exception can't swallow it."""


def _on_alarm(signum: int, frame: object) -> None:
    raise _Alarm


def process_with_deadline(
    timeout: float, body: bytes, content_type: str | None, base_url: str, feed_url: str, now: datetime
) -> ProcessedFeed | WorkerFailure:
    """Worker entry point: the alarm measures this feed's own parse time, not time spent queued."""
    from monitor.parse import ParseError

    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return process_body(body, content_type, base_url, feed_url, now)
    except _Alarm:
        return WorkerFailure("timeout", f"parser gave up after {timeout:g} s")
    except ParseError as exc:
        return WorkerFailure(exc.kind, exc.message)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def init_worker(tracks: Sequence[TrackConfig], lifeline: Connection) -> None:
    """Worker start: the tagger built once for every feed it parses, and a thread that ends the
    worker with the polling process."""
    from monitor.tagging import Tagger

    global _TAGGER
    _TAGGER = Tagger(tracks)
    threading.Thread(target=_exit_with_the_poller, args=(lifeline,), name="lifeline", daemon=True).start()


def _exit_with_the_poller(lifeline: Connection) -> None:
    """End this worker once the polling process is gone, however it went (killed, or its terminal
    closed). Nothing else would: a worker waits on a queue it holds both ends of, and keeps the fork
    server's own "parent alive" pipe open, so a dead poller left the server and every worker behind."""
    with contextlib.suppress(EOFError, OSError):
        while True:
            lifeline.recv_bytes()  # nothing is ever sent: this returns EOF when the poller's end closes
    os._exit(0)


def process_body(
    body: bytes,
    content_type: str | None,
    base_url: str,
    feed_url: str,
    now: datetime,
    tagger: Tagger | None = None,
) -> ProcessedFeed:
    """Parse, clean and tag one feed body; pure, so tests and benchmarks call it directly."""
    from monitor.clean import clean_entry, clean_feed_title
    from monitor.parse import parse_feed

    tagger = tagger or _TAGGER
    assert tagger is not None, "worker not initialised"
    parsed = parse_feed(body, content_type=content_type, url=base_url)
    entries: list[CleanEntry] = []
    skipped = 0
    for raw in parsed.entries:
        entry = clean_entry(raw, feed_url=feed_url, now=now)
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    tags = {}
    for entry in entries:
        matched = tagger.tag(entry.title, entry.summary)
        if matched:
            tags[entry.id] = matched
    title = clean_feed_title(parsed.title) if parsed.title else None
    return ProcessedFeed(title, entries, tags, parsed.malformed, parsed.malformed_reason, skipped)
