"""Wording shared by the digest renderers: times in the configured zone, counts, status lines."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from monitor.digest.model import Counts, Negotiation

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS_LONG = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Month names are spelled out here rather than with strftime("%b"), which follows the C locale.


def long_day(day: date) -> str:
    """'Tuesday 17 February 2026'."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS_LONG[day.month - 1]} {day.year}"


def short_date(moment: datetime, tz: tzinfo) -> str:
    """'17 Feb' in the configured zone."""
    local = moment.astimezone(tz)
    return f"{local.day} {_MONTHS[local.month - 1]}"


def clock(moment: datetime, tz: tzinfo, day: date) -> str:
    """'14:05' on the digest's day, '16 Feb 23:10' on any other, always in the configured zone."""
    local = moment.astimezone(tz)
    if local.date() == day:
        return f"{local:%H:%M}"
    return f"{short_date(moment, tz)} {local:%H:%M}"


def stamp(moment: datetime, tz: tzinfo) -> str:
    """'18 Feb 2026 08:00' in the configured zone."""
    local = moment.astimezone(tz)
    return f"{short_date(moment, tz)} {local.year} {local:%H:%M}"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def counts_line(counts: Counts) -> str:
    """'42 items from 12 sources (yesterday: 30 from 9).'"""
    today = f"{plural(counts.items, 'item')} from {plural(counts.sources, 'source')}"
    if not counts.items:
        today = "No items"
    return f"{today} (yesterday: {counts.prev_items} from {counts.prev_sources})."


def status_line(n: Negotiation, tz: tzinfo) -> str:
    """'talks since 15 Feb, ↗ improving' (the arrow is momentum, never a transition)."""
    since = f" since {short_date(n.since, tz)}" if n.since else ""
    return f"{n.status}{since}, {n.arrow} {n.momentum}"


def change_line(n: Negotiation) -> str:
    """What changed since the previous day: 'stalled → talks.' or 'no change.'"""
    if n.change is None:
        return "no change."
    before, now = n.change
    return f"{before or 'none'} → {now}."


def problem_line(title: str, status: str, kind: str | None, error: str, last_success: datetime | None,
                 tz: tzinfo, day: date) -> str:  # fmt: skip
    """'Broken Feed (failing, http-status): HTTP 503 Service Unavailable; last success 9 Mar 12:00.'"""
    label = status if not kind or kind == status else f"{status}, {kind}"
    last = f"last success {clock(last_success, tz, day)}" if last_success else "never succeeded"
    return f"{title} ({label}): {error or 'no reason recorded'}; {last}."
