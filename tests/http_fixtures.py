"""A real configurable HTTP server on 127.0.0.1 for fetch and poller tests: `serve(routes)`, `http_server`."""

from __future__ import annotations

import functools
import socket
import struct
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import pytest

Body = bytes | Callable[[], Iterable[bytes]]
"""Bytes, or a factory returning a fresh (lazy) iterable of chunks for every request."""

Framing = Literal["length", "chunked", "close"]

_HANG_LIMIT = 60.0
"""Longest a hanging or delayed handler waits; the server's stop event normally ends it much sooner."""


@dataclass(frozen=True)
class Route:
    """How the server answers one path. Defaults: `200` with an empty body and a Content-Length."""

    status: int = 200
    body: Body = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Sent verbatim after the status line (Content-Type, Location, Retry-After, Content-Encoding...)."""
    gzip: bool = False
    """Gzip the body (lazily for factories) and send `Content-Encoding: gzip`."""
    framing: Framing | None = None
    """`length`, `chunked` or `close` (end of body = connection close); default: length for bytes bodies,
    chunked for factories."""
    content_length: int | None = None
    """Declare this Content-Length instead of the real one (a lazily streamed 200 MB body, or a lie)."""
    trickle: float | None = None
    """Send the body at this many bytes per second, one byte per write, after prompt headers."""
    delay: float = 0.0
    """Seconds to wait before answering (counts as in flight)."""
    hang: bool = False
    """Read the request and never answer."""
    drop: bool = False
    """Read the request and close the connection without answering."""
    etag: str | None = None
    """Send this ETag and answer 304 when If-None-Match matches it."""
    last_modified: str | None = None
    """Send this Last-Modified and answer 304 when If-Modified-Since is not older."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]


Handler = Route | Callable[[RecordedRequest], Route]


class InFlight:
    """Thread-safe count of requests being answered, with the peak seen; share one between servers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current = 0
        self.peak = 0

    def enter(self) -> None:
        with self._lock:
            self.current += 1
            self.peak = max(self.peak, self.current)

    def leave(self) -> None:
        with self._lock:
            self.current -= 1


class Server:
    """A running test server: set `routes[path]`, read `requests`, `gauge.peak`; build URLs with `url()`."""

    def __init__(self, routes: Mapping[str, Handler], gauges: Sequence[InFlight]) -> None:
        self.routes: dict[str, Handler] = dict(routes)
        self.requests: list[RecordedRequest] = []
        self.gauge = InFlight()
        self.gauges = (self.gauge, *gauges)
        self.stop = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _RequestHandler)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def url(self, path: str = "/", *, userinfo: str = "") -> str:
        """Absolute URL of `path`; `userinfo="user:pw"` embeds credentials."""
        auth = f"{userinfo}@" if userinfo else ""
        return f"http://{auth}127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.stop.set()  # releases hanging, delayed and trickling handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class _HTTPServer(ThreadingHTTPServer):
    owner: Server
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-body (size caps, deadlines) are the point of these tests, not errors.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections end on their own
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        owner.requests.append(request)
        for gauge in owner.gauges:
            gauge.enter()
        try:
            self._answer(owner, request)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        finally:
            for gauge in owner.gauges:
                gauge.leave()

    def _answer(self, owner: Server, request: RecordedRequest) -> None:
        handler = owner.routes.get(self.path) or owner.routes.get(self.path.split("?", 1)[0])
        if handler is None:
            route = Route(status=404, body=b"not found", headers={"Content-Type": "text/plain"})
        else:
            route = handler if isinstance(handler, Route) else handler(request)
        if route.hang:
            owner.stop.wait(_HANG_LIMIT)
            self.close_connection = True
            return
        if route.drop:
            self.close_connection = True
            return
        if route.delay:
            owner.stop.wait(min(route.delay, _HANG_LIMIT))
        if _not_modified(route, request):
            self.send_response(304)
            self._validators(route)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(owner, route)

    def _validators(self, route: Route) -> None:
        if route.etag is not None:
            self.send_header("ETag", route.etag)
        if route.last_modified is not None:
            self.send_header("Last-Modified", route.last_modified)

    def _send(self, owner: Server, route: Route) -> None:
        body = route.body
        chunks: Iterable[bytes] = [body] if isinstance(body, bytes) else body()
        if route.gzip:
            chunks = _gzip_lazily(chunks)
        framing = route.framing or ("length" if isinstance(body, bytes) else "chunked")
        if framing == "length" and route.content_length is None:
            chunks = [b"".join(chunks)]
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        self._validators(route)
        if route.gzip:
            self.send_header("Content-Encoding", "gzip")
        if framing == "length":
            length = route.content_length if route.content_length is not None else len(next(iter(chunks)))
            self.send_header("Content-Length", str(length))
        elif framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()
        for chunk in chunks:
            if owner.stop.is_set():
                self.close_connection = True
                return
            if route.trickle:
                for i in range(len(chunk)):
                    self._write(chunk[i : i + 1], framing)
                    if owner.stop.wait(1 / route.trickle):
                        self.close_connection = True
                        return
            elif chunk:
                self._write(chunk, framing)
        if framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write(self, data: bytes, framing: Framing) -> None:
        if framing == "chunked":
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.wfile.write(data)
        self.wfile.flush()


def _not_modified(route: Route, request: RecordedRequest) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if route.etag is not None and if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or route.etag.removeprefix("W/") in tags
    since = request.headers.get("if-modified-since")
    if route.last_modified is not None and since is not None:
        if since == route.last_modified:
            return True
        try:
            return parsedate_to_datetime(route.last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _gzip_lazily(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


@contextmanager
def serve(
    routes: Mapping[str, Handler] | None = None, *, gauges: Sequence[InFlight] = ()
) -> Iterator[Server]:
    """Run a server on 127.0.0.1 (free port) for the block; `server.base_url` is `http://127.0.0.1:PORT`."""
    server = Server(routes or {}, gauges)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def http_server() -> Iterator[Server]:
    """A running `Server` with no routes; tests fill `http_server.routes`."""
    with serve() as server:
        yield server


# -- payload helpers ---------------------------------------------------------


def redirect(location: str, status: int = 301) -> Route:
    return Route(status=status, headers={"Location": location})


def repeated(total: int, chunk: bytes = b"x" * 65536) -> Callable[[], Iterator[bytes]]:
    """A body factory streaming `total` bytes lazily (nothing of that size is ever held in memory)."""

    def body() -> Iterator[bytes]:
        left = total
        while left > 0:
            piece = chunk if left >= len(chunk) else chunk[:left]
            left -= len(piece)
            yield piece

    return body


@functools.cache
def gzip_bomb(decoded: int = 1 << 30, block: int = 1 << 20) -> bytes:
    """A valid single-member gzip stream of `decoded` zero bytes, about 1 KB per MiB on the wire.

    Built by repeating one full-flushed deflate block instead of compressing a gigabyte (3 s); the flush
    resets the compressor, so every block compresses to the same bytes."""
    assert decoded % block == 0
    zeros = bytes(block)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = compressor.flush()
    crc = 0
    for _ in range(decoded // block):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, decoded & 0xFFFFFFFF)
    return header + one * (decoded // block) + final + trailer


def closed_port() -> int:
    """A local port nothing listens on (bound, then released), for connection-refused tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>T</title>'
    b"<item><title>One</title><link>http://example.com/1</link><guid>1</guid></item>"
    b"</channel></rss>\n"
)
"""A minimal valid RSS document."""
