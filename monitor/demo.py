"""The bundled demo: sample feeds served on 127.0.0.1 with recent dates, and a config that points at them."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.config import Config, build_config, default_tables

Clock = Callable[[], datetime]

PLACEHOLDER = re.compile(r"\{\{([+-])((?:\d+[dhm])+)\}\}")
"""`{{-3h}}`, `{{-1d2h}}`, `{{+4m}}`: a moment relative to when the server started. Entries dated in
the future are withheld until their moment comes, so the demo shows news arriving live."""
_PART = re.compile(r"(\d+)([dhm])")
_ENTRY = re.compile(r"<(item|entry)\b.*?</\1>", re.DOTALL)
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}

DEMO_POLL_INTERVAL = 60
"""Seconds between demo polls: short, so withheld items show up within a minute of their moment."""

GONE_PATH = "/feeds/defunct-gazette.xml"
"""A feed that always answers 404, so the feed-health screen has a failing feed to show."""


@dataclass(frozen=True, slots=True)
class DemoFeed:
    """One bundled sample feed."""

    file: str
    title: str

    @property
    def path(self) -> str:
        return f"/feeds/{self.file}"

    @property
    def atom(self) -> bool:
        return ".atom." in self.file


DEMO_FEEDS = (
    DemoFeed("harbor-wire.rss.xml", "Harbor Wire"),
    DemoFeed("meridian-ledger.atom.xml", "Meridian Ledger"),
    DemoFeed("levant-dispatch.rss.xml", "Levant Dispatch"),
    DemoFeed("steppe-observer.atom.xml", "Steppe & Sea Observer"),
    DemoFeed("caribe-courier.rss.xml", "Caribe Courier"),
)
"""Fictional outlets; every story in them is invented for the demo."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def feed_template(feed: DemoFeed) -> str:
    return resources.files("monitor").joinpath("demo_feeds", feed.file).read_text(encoding="utf-8")


def _offset(sign: str, spec: str) -> timedelta:
    delta = timedelta(**{_UNITS[unit]: int(n) for n, unit in _PART.findall(spec)})
    return delta if sign == "+" else -delta


def render_feed(template: str, *, start: datetime, now: datetime, atom: bool) -> bytes:
    """Fill in the date placeholders relative to `start`; drop entries whose moment is still to come."""

    def released(match: re.Match[str]) -> str:
        moments = [start + _offset(sign, spec) for sign, spec in PLACEHOLDER.findall(match.group(0))]
        return "" if any(moment > now for moment in moments) else match.group(0)

    def date(match: re.Match[str]) -> str:
        moment = (start + _offset(match.group(1), match.group(2))).astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if atom else format_datetime(moment, usegmt=True)

    body = _ENTRY.sub(released, template)
    return PLACEHOLDER.sub(date, body).encode("utf-8")


class DemoServer:
    """A threaded HTTP server on 127.0.0.1 (port 0: the OS picks) serving the sample feeds with ETags."""

    def __init__(self, *, clock: Clock = utc_now, host: str = "127.0.0.1", port: int = 0) -> None:
        self.clock = clock
        self.start_time = clock().replace(second=0, microsecond=0)
        self.templates = {feed.path: (feed, feed_template(feed)) for feed in DEMO_FEEDS}
        self.requests = 0
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        # A short poll interval makes close() quick; the cost is a few wake-ups a second.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.1,), name="sitmon-demo-server", daemon=True
        )

    def start(self) -> DemoServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def feed_tables(self) -> list[dict[str, str]]:
        tables = [{"url": self.base_url + feed.path, "title": feed.title} for feed in DEMO_FEEDS]
        tables.append({"url": self.base_url + GONE_PATH, "title": "Defunct Gazette (demo: always 404)"})
        return tables

    def body(self, path: str) -> tuple[bytes, str] | None:
        """(body, content type) for a feed path, rendered for this moment."""
        found = self.templates.get(path)
        if found is None:
            return None
        feed, template = found
        body = render_feed(template, start=self.start_time, now=self.clock(), atom=feed.atom)
        kind = "application/atom+xml" if feed.atom else "application/rss+xml"
        return body, f"{kind}; charset=utf-8"


def _handler_for(server: DemoServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # the TUI owns the terminal

        def do_GET(self) -> None:
            server.requests += 1
            found = server.body(self.path.split("?", 1)[0])
            if found is None:
                self._reply(404, b"not found\n", "text/plain; charset=utf-8")
                return
            body, kind = found
            # The body only changes when a withheld entry is released, so its hash is a stable ETag.
            etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:20] + '"'
            if etag in (self.headers.get("If-None-Match") or ""):
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self._reply(200, body, kind, etag)

        def _reply(self, status: int, body: bytes, kind: str, etag: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def demo_config(server: DemoServer, *, digest_dir: Path, poll_interval: int = DEMO_POLL_INTERVAL) -> Config:
    """The built-in tracks and settings with the demo feeds, a short poll interval and a temp digest dir."""
    demo = {
        "settings": {"poll_interval": poll_interval, "digest_dir": str(digest_dir), "max_backoff": 600},
        "feeds": server.feed_tables(),
    }
    return build_config([*default_tables(), ("<demo>", demo)])
