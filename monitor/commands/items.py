"""`sitmon items`: query stored items by track, full-text search and time."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from monitor.commands.output import dumps, item_json, local_time, parse_iso, table

if TYPE_CHECKING:
    from monitor.cli import Context


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("items", help="list stored items")
    p.add_argument("--track", help="track id, `all`, or `untracked`")
    p.add_argument("--search", metavar="QUERY", help="full-text search over title and summary")
    p.add_argument("--since", metavar="ISO", help="published at or after")
    p.add_argument("--until", metavar="ISO", help="published before")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--unread", action="store_true", help="unread items only")
    p.add_argument("--starred", action="store_true", help="starred items only")
    p.add_argument("--format", choices=("table", "json", "jsonl"), default="table")
    p.set_defaults(func=run)


def run(ctx: Context) -> int:
    from monitor.cli import CliError
    from monitor.store import ALL, UNTRACKED

    args, config = ctx.args, ctx.config
    tz = config.settings.tz
    if args.track and args.track not in (*config.track_ids, ALL, UNTRACKED):
        raise CliError(
            f"unknown track {args.track!r} (tracks: {', '.join(config.track_ids)}, all, untracked)", 2
        )
    if args.limit < 1:
        raise CliError("--limit must be at least 1", 2)
    items = ctx.store.query_items(
        track=args.track,
        search=args.search,
        since=parse_iso(args.since, tz) if args.since else None,
        until=parse_iso(args.until, tz) if args.until else None,
        limit=args.limit,
        unread_only=args.unread,
        starred_only=args.starred,
    )
    if args.format == "json":
        print(dumps([item_json(i) for i in items]))
    elif args.format == "jsonl":
        for item in items:
            print(json.dumps(item_json(item), ensure_ascii=False))
    else:
        rows = [(local_time(i.published, tz), ",".join(i.tracks) or "-", i.source, i.title) for i in items]
        print(table(("published", "tracks", "source", "title"), rows) or "no items")
    return 0
