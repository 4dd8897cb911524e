"""`sitmon status`: where each negotiation stands; `set`/`clear` the analyst's status; `history` per day."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from monitor.commands.output import dumps, iso, local_time, parse_iso, safe_cell, table

if TYPE_CHECKING:
    from monitor.cli import Context
    from monitor.negotiation import TrackStatus


def _utc_now() -> datetime:
    return datetime.now(UTC)


clock: Callable[[], datetime] = _utc_now
"""The command's clock; tests replace it."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "status",
        help="negotiation status per track (set/clear the analyst's status, history per day)",
        description="Where each track's negotiation stands, why, and since when. Without an action, "
        "shows every track (and records today's status in the history).",
    )
    p.add_argument(
        "--as-of", metavar="ISO", help="compute as of this moment (reproducible; nothing is recorded)"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run, status_action=None)
    actions = p.add_subparsers(dest="status_action", metavar="ACTION")

    s = actions.add_parser("set", help="set the analyst's status for a track")
    s.add_argument("track")
    s.add_argument("status", help="agreement, talks, stalled, breakdown, escalation or quiet")
    s.add_argument("--note", default="", help="why (shown beside the status)")
    s.set_defaults(func=run_set)

    c = actions.add_parser("clear", help="return a track to its computed status")
    c.add_argument("track")
    c.set_defaults(func=run_clear)

    h = actions.add_parser("history", help="the computed status per day and the analyst's changes")
    h.add_argument("track")
    h.add_argument("--days", type=int, default=30, help="days to show (default 30)")
    h.add_argument("--format", choices=("text", "json"), default=argparse.SUPPRESS)
    h.set_defaults(func=run_history)


def _track(ctx: Context, track: str) -> str:
    from monitor.cli import CliError

    known = [t for t in ctx.config.track_ids if t in ctx.config.negotiation]
    if track not in known:
        raise CliError(f"unknown track {track!r} (tracks: {', '.join(known)})", 2)
    return track


def run(ctx: Context) -> int:
    from monitor.negotiation import compute_statuses, record_daily_history, status_json

    args, config = ctx.args, ctx.config
    if args.as_of:
        as_of = parse_iso(args.as_of, config.settings.tz)
        statuses = compute_statuses(ctx.store, config, as_of)
    else:
        now = clock()
        statuses = compute_statuses(ctx.store, config, now)
        # Record today's row (and finalise yesterday's) whenever statuses are shown for now.
        record_daily_history(ctx.store, config, now, days=2)
    if args.format == "json":
        print(dumps([status_json(s) for s in statuses]))
    else:
        print("\n\n".join(_block(s, config.settings.tz) for s in statuses) or "no tracks configured")
    return 0


def _block(s: TrackStatus, tz: tzinfo) -> str:
    since = local_time(s.since, tz) if s.since else "over the lookback"
    lines = [f"{s.track}: {s.status.upper()} {s.arrow} {s.momentum}  since {since}  — {safe_cell(s.name)}"]
    if s.override:
        o = s.override
        note = f" — {safe_cell(o.note)}" if o.note else ""
        lines.append(
            f"  analyst: {o.status.upper()}{note} ({safe_cell(o.set_by)}, {local_time(o.set_at, tz)})"
        )
    lines.append(f"  why: {safe_cell(s.rationale)}")
    if s.last_movement:
        m = s.last_movement
        lines.append(f"  last: {local_time(m.published, tz)}  {safe_cell(m.source)} — {safe_cell(m.title)}")
        if m.link:
            lines.append(f"        {safe_cell(m.link)}")
    for sentence in s.upcoming:
        lines.append(f"  next: {safe_cell(sentence)}")
    if s.actors:
        lines.append(f"  actors: {safe_cell(', '.join(s.actors))}")
    if s.venues:
        lines.append(f"  venues: {safe_cell(', '.join(s.venues))}")
    return "\n".join(lines)


def run_set(ctx: Context) -> int:
    from monitor.cli import CliError
    from monitor.negotiation import STATUSES
    from monitor.negotiation.overrides import set_override

    args = ctx.args
    track = _track(ctx, args.track)
    status = args.status.lower()
    if status not in STATUSES:
        raise CliError(f"unknown status {args.status!r} (one of {', '.join(STATUSES)})", 2)
    set_override(ctx.store, track, status, args.note, clock())
    print(f"{track}: analyst status {status}" + (f" — {safe_cell(args.note)}" if args.note else ""))
    return 0


def run_clear(ctx: Context) -> int:
    from monitor.negotiation.overrides import clear_override

    track = _track(ctx, ctx.args.track)
    if clear_override(ctx.store, track, clock()):
        print(f"{track}: analyst status cleared; the computed status applies")
    else:
        print(f"{track}: no analyst status was set")
    return 0


def run_history(ctx: Context) -> int:
    from monitor.cli import CliError
    from monitor.negotiation import record_daily_history

    args, config = ctx.args, ctx.config
    track = _track(ctx, args.track)
    if args.days < 1:
        raise CliError("--days must be at least 1", 2)
    now = clock()
    tz = config.settings.tz
    # Fill in the days the monitor did not run, so the history is complete for the range asked.
    record_daily_history(ctx.store, config, now, days=args.days)
    today = now.astimezone(tz).date()
    rows = ctx.store.status_history(track, since=today - timedelta(days=args.days - 1), until=today)
    changes = [c for c in ctx.store.override_history(track) if c.set_at >= now - timedelta(days=args.days)]
    if getattr(args, "format", "text") == "json":
        print(
            dumps(
                {
                    "track": track,
                    "days": [
                        {"day": r.day, "status": r.status, "momentum": r.momentum, "rationale": r.rationale}
                        for r in rows
                    ],
                    "overrides": [
                        {
                            "action": c.action,
                            "status": c.status,
                            "note": c.note,
                            "set_by": c.set_by,
                            "set_at": iso(c.set_at),
                        }
                        for c in changes
                    ],
                }
            )
        )
        return 0
    from monitor.negotiation import ARROWS

    arrows = {m: a for m, a in ARROWS.items()}
    body = table(
        ("day", "status", "momentum", "rationale"),
        [(r.day, r.status, f"{arrows.get(r.momentum, '')} {r.momentum}", r.rationale) for r in rows],
    )
    print(body or f"{track}: no history yet")
    if changes:
        print("\nanalyst changes:")
        for c in changes:
            what = (
                f"set {c.status}" + (f" — {safe_cell(c.note or '')}" if c.note else "")
                if c.action == "set"
                else "cleared"
            )
            print(f"  {local_time(c.set_at, tz)}  {what}  ({safe_cell(c.set_by)})")
    return 0
