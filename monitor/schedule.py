"""When to poll a feed next: the interval after success, capped exponential back-off after failures."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

BACKOFF_BASE_MAX = 300
"""Longest first retry after a failure, in seconds.

A single failure is usually transient (laptop waking up, Wi-Fi hand-over, a server restart), so the first
retry comes after min(poll_interval, 5 min) rather than a whole interval; a feed that keeps failing doubles
from there (5, 10, 20, 40 min, ...) and soon passes the regular interval on its way to `max_backoff`, so a
dead server costs a handful of requests a day."""

JITTER = 0.10
"""Back-off delays are spread by ±10% so feeds that failed together (one outage) do not retry in lockstep."""

_MAX_EXPONENT = 60  # 2**60 seconds is far past any cap; stops float overflow for absurd error counts

_RNG = random.Random()


def backoff_seconds(
    *, poll_interval: int, error_count: int, max_backoff: int, rand: random.Random | None = None
) -> float:
    """Seconds to the next poll after `error_count` consecutive failures (0: the last poll succeeded)."""
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be positive, got {poll_interval}")
    if max_backoff <= 0:
        raise ValueError(f"max_backoff must be positive, got {max_backoff}")
    if error_count < 0:
        raise ValueError(f"error_count must not be negative, got {error_count}")
    if error_count == 0:
        return float(poll_interval)
    base = min(poll_interval, BACKOFF_BASE_MAX)
    delay = base * 2.0 ** min(error_count - 1, _MAX_EXPONENT)
    delay *= (rand or _RNG).uniform(1 - JITTER, 1 + JITTER)
    # Cap after the jitter: max_backoff is a promise to the user, never exceeded.
    return min(delay, float(max_backoff))


def next_poll(
    now: datetime,
    *,
    poll_interval: int,
    error_count: int,
    max_backoff: int,
    retry_after: float | None = None,
    rand: random.Random | None = None,
) -> datetime:
    """The aware UTC time of the next poll; a later Retry-After wins, but never beyond `max_backoff`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("next_poll needs a timezone-aware datetime")
    delay = backoff_seconds(
        poll_interval=poll_interval, error_count=error_count, max_backoff=max_backoff, rand=rand
    )
    if retry_after is not None and retry_after > delay:
        delay = min(float(retry_after), float(max(max_backoff, delay)))
    return now.astimezone(UTC) + timedelta(seconds=delay)
