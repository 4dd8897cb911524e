"""`sitmon digest`: one calendar day per track as Markdown, HTML or JSON, on stdout or to a file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.cli import Context


def _utc_now() -> datetime:
    return datetime.now(UTC)


clock: Callable[[], datetime] = _utc_now
"""The command's clock; tests replace it."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "digest",
        help="write a daily digest (Markdown, HTML or JSON)",
        description="One calendar day in the configured timezone, per track: negotiation status and what "
        "changed, item and source counts against the day before, top stories by number of outlets, "
        "other news in one line, and feed health.",
    )
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the day to digest (default: today)")
    p.add_argument("--format", choices=("md", "html", "json"), help="default: settings.digest_format")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout (`-` is stdout)")
    p.set_defaults(func=run)


def run(ctx: Context) -> int:
    from monitor.cli import CliError
    from monitor.digest import digest_text, write_atomic

    args, config = ctx.args, ctx.config
    day: date | None = None
    if args.date:
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            raise CliError(f"--date must be YYYY-MM-DD, got {args.date!r}", 2) from None
    text = digest_text(ctx.store, config, clock(), fmt=args.format or config.settings.digest_format, day=day)
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        return 0
    path = Path(args.output).expanduser()
    if path.is_dir():
        raise CliError(f"--output {path} is a directory; give a file name", 2)
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"wrote {path}", file=sys.stderr)
    return 0
