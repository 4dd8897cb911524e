"""The digest as JSON: the same data as the other formats, times in ISO 8601 (UTC, with a Z)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from monitor.digest.model import Counts, Digest, FeedProblem, Negotiation, Report, Story, TrackSection


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _report(r: Report) -> dict[str, Any]:
    return {
        "title": r.title,
        "source": r.source,
        "published": iso(r.published),
        "link": r.link,
        "item_id": r.item_id,
    }


def _story(s: Story) -> dict[str, Any]:
    return {
        "cluster_id": s.cluster_id,
        "title": s.title,
        "outlets": s.outlets,
        "items": s.items,
        "latest": iso(s.latest),
        "first_report": _report(s.first),
        "other_outlets": [_report(r) for r in s.others],
    }


def _counts(c: Counts) -> dict[str, int]:
    return {"items": c.items, "sources": c.sources, "previous_day_items": c.prev_items,
            "previous_day_sources": c.prev_sources}  # fmt: skip


def _negotiation(n: Negotiation | None) -> dict[str, Any] | None:
    if n is None:
        return None
    return {
        "name": n.name,
        "status": n.status,
        "arrow": n.arrow,
        "momentum": n.momentum,
        "since": iso(n.since),
        "rationale": n.rationale,
        "changed": None if n.change is None else {"from": n.change[0], "to": n.change[1]},
        "override": n.override,
    }


def _section(s: TrackSection) -> dict[str, Any]:
    return {
        "id": s.id,
        "title": s.title,
        "negotiation": _negotiation(s.negotiation),
        "counts": _counts(s.counts),
        "top_stories": [_story(x) for x in s.top],
        "also_reported": [_story(x) for x in s.also],
        "more_stories": s.more,
    }


def _problem(p: FeedProblem) -> dict[str, Any]:
    return {"title": p.title, "url": p.url, "status": p.status, "error_kind": p.kind, "error": p.error,
            "last_success": iso(p.last_success)}  # fmt: skip


def digest_json(d: Digest) -> dict[str, Any]:
    return {
        "day": d.day.isoformat(),
        "timezone": d.timezone,
        "start": iso(d.start),
        "end": iso(d.end),
        "generated": iso(d.generated),
        "tracks": [_section(s) for s in d.tracks],
        "untracked": {**_counts(d.untracked), "stories": d.untracked_stories},
        "feeds": {
            "total": d.feeds_total,
            "healthy": d.feeds_healthy,
            "failing": [_problem(p) for p in d.feeds_failing],
        },
    }


def render_json(d: Digest) -> str:
    return json.dumps(digest_json(d), ensure_ascii=False, indent=2) + "\n"
