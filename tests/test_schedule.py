"""Poll scheduling: regular interval, exponential back-off with jitter, caps and Retry-After."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.schedule import BACKOFF_BASE_MAX, JITTER, backoff_seconds, next_poll

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = 86400


def delay(**kwargs: object) -> float:
    when = next_poll(NOW, **kwargs)  # type: ignore[arg-type]
    return (when - NOW).total_seconds()


def test_success_polls_again_after_exactly_the_interval() -> None:
    assert delay(poll_interval=3600, error_count=0, max_backoff=DAY) == 3600


def test_result_is_aware_utc_even_for_other_zones() -> None:
    local = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    when = next_poll(local, poll_interval=60, error_count=0, max_backoff=DAY)
    assert when.tzinfo is UTC
    assert when == datetime(2026, 3, 1, 12, 1, tzinfo=UTC)


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(ValueError):
        next_poll(datetime(2026, 3, 1, 12, 0), poll_interval=60, error_count=0, max_backoff=DAY)  # noqa: DTZ001


def test_first_failure_retries_after_at_most_five_minutes() -> None:
    rand = random.Random(1)
    first = delay(poll_interval=3600, error_count=1, max_backoff=DAY, rand=rand)
    assert BACKOFF_BASE_MAX * (1 - JITTER) <= first <= BACKOFF_BASE_MAX * (1 + JITTER)


def test_short_interval_is_the_backoff_base() -> None:
    rand = random.Random(2)
    first = delay(poll_interval=60, error_count=1, max_backoff=DAY, rand=rand)
    assert 54 <= first <= 66


def test_backoff_doubles_with_each_failure() -> None:
    # Without jitter (fixed midpoint) the sequence is base * 2**(n-1).
    class Mid(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return (a + b) / 2

    got = [
        backoff_seconds(poll_interval=3600, error_count=n, max_backoff=DAY, rand=Mid()) for n in range(1, 7)
    ]
    assert got == pytest.approx([300, 600, 1200, 2400, 4800, 9600])


def test_backoff_grows_monotonically_until_the_cap_despite_jitter() -> None:
    rand = random.Random(3)
    delays = [delay(poll_interval=3600, error_count=n, max_backoff=DAY, rand=rand) for n in range(1, 12)]
    # ±10 % jitter never reverses a doubling.
    assert all(b > a or b == DAY for a, b in itertools.pairwise(delays))


def test_backoff_is_capped_at_max_backoff() -> None:
    rand = random.Random(4)
    for n in (10, 20, 100, 10_000):
        d = delay(poll_interval=3600, error_count=n, max_backoff=DAY, rand=rand)
        assert DAY * (1 - JITTER) <= d <= DAY


def test_cap_below_base_still_wins() -> None:
    assert delay(poll_interval=3600, error_count=1, max_backoff=60) <= 60


def test_jitter_stays_within_ten_percent() -> None:
    rand = random.Random(5)
    samples = [delay(poll_interval=3600, error_count=3, max_backoff=DAY, rand=rand) for _ in range(2000)]
    assert min(samples) >= 1200 * 0.9
    assert max(samples) <= 1200 * 1.1
    # It actually spreads: both halves of the band are used.
    assert min(samples) < 1200 * 0.95 and max(samples) > 1200 * 1.05


def test_retry_after_wins_when_later() -> None:
    d = delay(poll_interval=3600, error_count=1, max_backoff=DAY, retry_after=7200, rand=random.Random(6))
    assert d == 7200


def test_retry_after_earlier_than_backoff_is_ignored() -> None:
    d = delay(poll_interval=3600, error_count=5, max_backoff=DAY, retry_after=10, rand=random.Random(7))
    assert d > 10 and 4800 * 0.9 <= d <= 4800 * 1.1


def test_retry_after_is_clamped_to_max_backoff() -> None:
    d = delay(poll_interval=3600, error_count=1, max_backoff=3 * 3600, retry_after=10 * DAY)
    assert d == 3 * 3600


def test_retry_after_on_success_only_delays() -> None:
    assert delay(poll_interval=600, error_count=0, max_backoff=DAY, retry_after=1800) == 1800
    assert delay(poll_interval=600, error_count=0, max_backoff=DAY, retry_after=5) == 600


@pytest.mark.parametrize(
    "kwargs",
    [
        {"poll_interval": 0, "error_count": 0, "max_backoff": DAY},
        {"poll_interval": 60, "error_count": -1, "max_backoff": DAY},
        {"poll_interval": 60, "error_count": 1, "max_backoff": 0},
    ],
)
def test_nonsense_arguments_are_rejected(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        next_poll(NOW, **kwargs)  # type: ignore[arg-type]
