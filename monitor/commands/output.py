"""Shared rendering for CLI output: ISO times, JSON of items, plain-text tables safe for a terminal."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from monitor.models import Item
from monitor.textsafe import one_line, strip_controls


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(__import__("datetime").UTC).isoformat().replace("+00:00", "Z")


def item_json(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "guid": item.guid,
        "link": item.link,
        "title": item.title,
        "summary": item.summary,
        "source": item.source,
        "feed_url": item.feed_url,
        "published": iso(item.published),
        "fetched_at": iso(item.fetched_at),
        "date_estimated": item.date_estimated,
        "tracks": list(item.tracks),
        "matched": item.matched,
        "read": item.read,
        "starred": item.starred,
        "cluster_id": item.cluster_id,
        "outlets": item.cluster_size,
    }


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def safe_cell(text: str) -> str:
    """Feed text for a terminal: no control sequences, one line."""
    return one_line(strip_controls(text))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, flex: int = -1) -> str:
    """A plain table; column `flex` (default last) is truncated so lines fit the terminal width."""
    if not rows:
        return ""
    cells = [[safe_cell(str(c)) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    flex = flex % len(headers)
    total = shutil.get_terminal_size((160, 24)).columns
    fixed = sum(w for i, w in enumerate(widths) if i != flex) + 2 * (len(headers) - 1)
    widths[flex] = max(10, min(widths[flex], total - fixed))

    def fmt(row: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(row):
            w = widths[i]
            if len(cell) > w:
                cell = cell[: w - 1] + "…"
            out.append(cell.ljust(w) if i != len(row) - 1 else cell)
        return "  ".join(out)

    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    lines.extend(fmt(r) for r in cells)
    return "\n".join(lines)


def local_time(moment: datetime | None, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(tz).strftime(fmt) if moment else "-"


def parse_iso(text: str, tz: tzinfo) -> datetime:
    """Parse an ISO date or datetime from the command line; naive values are in the configured zone."""
    from monitor.cli import CliError

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"not an ISO 8601 date or time: {text!r}", code=2) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment
