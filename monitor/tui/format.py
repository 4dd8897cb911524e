"""Turning untrusted feed text and times into display pieces; pure functions, no widgets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from textual.content import Content

from monitor.textsafe import one_line, strip_controls

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def safe(text: str | None) -> str:
    """Feed text as one display line: no control sequences, whitespace collapsed."""
    return one_line(text or "")


def safe_block(text: str | None) -> str:
    """Feed text kept as paragraphs (for the detail view): controls stripped, blank lines collapsed."""
    lines = [" ".join(line.split()) for line in strip_controls(text or "").splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def plain(text: str) -> Content:
    """Untrusted text as Content that is never parsed as markup."""
    return Content(safe(text))


def short_time(moment: datetime, tz: tzinfo, now: datetime) -> str:
    """`HH:MM` for today in the display zone, `DD Mon` before; always 6 cells wide."""
    local = moment.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M ")
    return local.strftime("%d %b")


def long_time(moment: datetime | None, tz: tzinfo) -> str:
    """`2026-11-20 14:05 CET` in the display zone, or an em dash."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    return local.strftime("%Y-%m-%d %H:%M %Z").strip()


def clock_time(moment: datetime | None, tz: tzinfo, now: datetime) -> str:
    """`14:05` today, `20 Nov 14:05` on other days, `—` for never."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    if local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M")
    return local.strftime("%d %b %H:%M")


def sparkline(counts: Sequence[int]) -> str:
    """One block per bucket, scaled to the busiest; empty hours show the lowest block so the span is visible."""
    top = max(counts, default=0)
    if top <= 0:
        return SPARK_BLOCKS[0] * len(counts)
    steps = len(SPARK_BLOCKS) - 1
    return "".join(
        SPARK_BLOCKS[0] if c <= 0 else SPARK_BLOCKS[max(1, round(c / top * steps))] for c in counts
    )
