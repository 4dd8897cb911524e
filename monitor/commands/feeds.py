"""`sitmon feeds`: list feed health, add/remove/import feeds (editing the user's config, comments kept), export OPML."""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomlkit
from tomlkit.items import AoT

from monitor.commands.output import dumps, iso, local_time, table
from monitor.config import FeedConfig, default_tables, validate_feed_url
from monitor.urls import redact

if TYPE_CHECKING:
    from monitor.cli import Context


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("feeds", help="list, add, remove, import and export feeds")
    fs = p.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    ls = fs.add_parser("list", help="feed health: status, last/next poll, errors, items")
    ls.add_argument("--format", choices=("table", "json"), default="table")
    ls.set_defaults(func=run_list)
    add = fs.add_parser("add", help="add a feed to your config file")
    add.add_argument("url")
    add.add_argument("--title", default="")
    add.set_defaults(func=run_add)
    rm = fs.add_parser("remove", help="remove a feed from your config file")
    rm.add_argument("url")
    rm.set_defaults(func=run_remove)
    imp = fs.add_parser("import", help="add every feed of an OPML file to your config file")
    imp.add_argument("file")
    imp.set_defaults(func=run_import)
    exp = fs.add_parser("export", help="write the configured feeds as OPML 2.0")
    exp.add_argument("--output", metavar="FILE")
    exp.set_defaults(func=run_export)
    retry = fs.add_parser("retry", help="poll a feed marked gone (or backing off) again at the next poll")
    retry.add_argument("url")
    retry.set_defaults(func=run_retry)


def run_list(ctx: Context) -> int:
    from monitor.poller import utc_now

    ctx.store.sync_feeds(ctx.config.feeds, utc_now())
    states = ctx.store.feed_states()
    if ctx.args.format == "json":
        print(
            dumps(
                [
                    {
                        "url": redact(s.url),
                        "title": s.title,
                        "status": str(s.status),
                        "last_polled": iso(s.last_polled),
                        "last_success": iso(s.last_success),
                        "next_poll": iso(s.next_poll),
                        "last_error": s.last_error,
                        "error_kind": s.error_kind,
                        "error_count": s.error_count,
                        "malformed": s.malformed,
                        "items": s.items,
                        "redirect_target": redact(s.redirect_target) if s.redirect_target else None,
                    }
                    for s in states
                ]
            )
        )
        return 0
    tz = ctx.config.settings.tz
    rows = [
        (
            str(s.status),
            s.title,
            local_time(s.last_polled, tz, "%m-%d %H:%M"),
            local_time(s.next_poll, tz, "%m-%d %H:%M"),
            str(s.items),
            str(s.error_count),
            redact(s.last_error or "") or redact(s.url),
        )
        for s in states
    ]
    print(
        table(("status", "title", "polled", "next", "items", "errors", "last error / url"), rows)
        or "no feeds"
    )
    return 0


# ---- editing the user's config file -------------------------------------------------------------


def _user_file(ctx: Context) -> Path:
    from monitor.config import user_config_path
    from monitor.locations import default_config_file

    return user_config_path(ctx.args.config) or default_config_file()


def _load_document(path: Path) -> tomlkit.TOMLDocument:
    if path.exists():
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    doc = tomlkit.document()
    doc.add(tomlkit.comment("situation-monitor user config; layered over the built-in defaults"))
    return doc


def _feeds_table(doc: tomlkit.TOMLDocument) -> AoT:
    """The user's [[feeds]] list; seeded with the defaults first, because a user list replaces them."""
    feeds = doc.get("feeds")
    if isinstance(feeds, AoT):
        return feeds
    seeded = tomlkit.aot()
    for _, table_ in default_tables():
        for feed in table_.get("feeds", []):
            seeded.append(_feed_entry(feed["url"], feed.get("title", "")))
    doc["feeds"] = seeded
    return doc["feeds"]  # type: ignore[return-value]


def _feed_entry(url: str, title: str) -> Any:
    entry = tomlkit.table()
    entry["url"] = url
    if title:
        entry["title"] = title
    return entry


def _save(ctx: Context, path: Path, doc: tomlkit.TOMLDocument) -> None:
    from monitor.config import build_config, read_toml

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    # Validate before replacing, so an edit can never leave an unloadable config behind.
    build_config([*default_tables(), (str(path), read_toml(tmp))], path)
    tmp.replace(path)


def _add(feeds: AoT, url: str, title: str) -> bool:
    from monitor.cli import CliError

    problem = validate_feed_url(url)
    if problem:
        raise CliError(f"feed url {problem}", 2)
    if any(f.get("url") == url for f in feeds):
        return False
    feeds.append(_feed_entry(url, title))
    return True


def run_add(ctx: Context) -> int:
    path = _user_file(ctx)
    doc = _load_document(path)
    feeds = _feeds_table(doc)
    if not _add(feeds, ctx.args.url, ctx.args.title):
        print(f"already configured: {redact(ctx.args.url)}")
        return 0
    _save(ctx, path, doc)
    print(f"added {redact(ctx.args.url)} to {path}")
    return 0


def run_remove(ctx: Context) -> int:
    from monitor.cli import CliError

    path = _user_file(ctx)
    doc = _load_document(path)
    feeds = _feeds_table(doc)
    index = next((i for i, f in enumerate(feeds) if f.get("url") == ctx.args.url), None)
    if index is None:
        raise CliError(f"no such feed in the configuration: {redact(ctx.args.url)}")
    del feeds[index]
    _save(ctx, path, doc)
    print(f"removed {redact(ctx.args.url)} from {path}")
    return 0


def read_opml(path: Path) -> list[FeedConfig]:
    from monitor.cli import CliError

    try:
        # OPML files are small, local and chosen by the user; entities are still not expanded by ET.
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise CliError(f"cannot read OPML {path}: {exc}") from None
    feeds = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl")
        if url and validate_feed_url(url) is None:
            feeds.append(FeedConfig(url=url, title=outline.get("title") or outline.get("text") or ""))
    return feeds


def run_import(ctx: Context) -> int:
    path = _user_file(ctx)
    found = read_opml(Path(ctx.args.file))
    doc = _load_document(path)
    feeds = _feeds_table(doc)
    added = sum(_add(feeds, f.url, f.title) for f in found)
    _save(ctx, path, doc)
    print(f"imported {added} new feeds ({len(found) - added} already configured) into {path}")
    return 0


def opml(feeds: list[FeedConfig]) -> str:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = "situation-monitor feeds"
    body = ET.SubElement(root, "body")
    for feed in feeds:
        ET.SubElement(
            body,
            "outline",
            type="rss",
            text=feed.title or feed.url,
            title=feed.title or feed.url,
            xmlUrl=feed.url,
        )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def run_export(ctx: Context) -> int:
    text = opml(list(ctx.config.feeds))
    if ctx.args.output:
        Path(ctx.args.output).write_text(text, encoding="utf-8")
        print(f"wrote {len(ctx.config.feeds)} feeds to {ctx.args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_retry(ctx: Context) -> int:
    from monitor.cli import CliError

    if not ctx.store.revive_feed(ctx.args.url):
        raise CliError(f"no such feed in the database: {redact(ctx.args.url)}")
    print(f"{redact(ctx.args.url)} will be polled at the next poll")
    return 0
