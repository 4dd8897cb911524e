"""A small, fast HTTP/1.1 feed server on 127.0.0.1 for the benchmarks: files from a folder, ETag/Last-Modified.

Run it in its own process (`python -m tests.benchmarks.feedserver DIR --ports 40`) so its CPU never
competes with the client under test for one interpreter lock. Any port serves any file; harnesses spread
feeds over ports so each "host" carries a few feeds, as on the real web. `GET /_stats` answers with
request counts (and resets them), for checking that a run really made the requests it claims.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import signal
import sys
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

MAX_HEADER_BYTES = 64 * 1024
"""Requests with larger headers are refused: the benchmark clients never send anything near this."""


@dataclass(slots=True)
class _File:
    key: tuple[int, int]
    body: bytes
    gzipped: bytes | None
    etag: str
    last_modified: str
    lm_seconds: int


class FeedFiles:
    """Folder contents with validators; a file rewritten on disk is re-read on its next request."""

    def __init__(self, root: Path, *, gzip_bodies: bool) -> None:
        self.root = root
        self.gzip_bodies = gzip_bodies
        self._cache: dict[str, _File] = {}
        self._last_lm: dict[str, int] = {}

    def get(self, name: str) -> _File | None:
        if "/" in name or name.startswith("."):
            return None
        path = self.root / name
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (st.st_mtime_ns, st.st_size)
        cached = self._cache.get(name)
        if cached is not None and cached.key == key:
            return cached
        body = path.read_bytes()
        # Last-Modified has one-second resolution: make every new version strictly newer than the last,
        # so a client that only sends If-Modified-Since still sees a rewrite within the same second.
        lm = max(int(st.st_mtime), self._last_lm.get(name, 0) + 1)
        self._last_lm[name] = lm
        entry = _File(
            key=key,
            body=body,
            gzipped=gzip.compress(body, 6, mtime=0) if self.gzip_bodies else None,
            etag='"' + hashlib.sha1(body).hexdigest()[:20] + '"',
            last_modified=formatdate(lm, usegmt=True),
            lm_seconds=lm,
        )
        self._cache[name] = entry
        return entry


class Stats:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, status: int) -> None:
        key = str(status)
        self.counts[key] = self.counts.get(key, 0) + 1

    def take(self) -> dict[str, int]:
        counts, self.counts = self.counts, {}
        return counts


class FeedProtocol(asyncio.Protocol):
    """One keep-alive connection: requests answered in order, each after the configured latency."""

    def __init__(self, files: FeedFiles, stats: Stats, latency: float) -> None:
        self.files = files
        self.stats = stats
        self.latency = latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > MAX_HEADER_BYTES and b"\r\n\r\n" not in self.buffer:
            self._close()
            return
        self._next()

    def _next(self) -> None:
        if self.busy or self.transport is None:
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if len(parts) != 3:
            self._close()
            return
        method, target, version = parts
        keep_alive = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        response = self._respond(method, target, headers, keep_alive)
        if self.latency > 0:
            self.busy = True
            asyncio.get_running_loop().call_later(self.latency, self._send, response, keep_alive)
        else:
            self._send(response, keep_alive)

    def _send(self, response: bytes, keep_alive: bool) -> None:
        self.busy = False
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(response)
        if not keep_alive:
            self._close()
        elif self.buffer:
            self._next()

    def _respond(self, method: str, target: str, headers: dict[str, str], keep_alive: bool) -> bytes:
        path = target.split("?", 1)[0]
        if path == "/_stats":
            return _response(200, json.dumps(self.stats.take()).encode(), {"Content-Type": "application/json"},
                             keep_alive)  # fmt: skip
        found = self.files.get(path.lstrip("/")) if method in ("GET", "HEAD") else None
        if found is None:
            self.stats.add(404)
            return _response(404, b"not found", {"Content-Type": "text/plain"}, keep_alive)
        validators = {"ETag": found.etag, "Last-Modified": found.last_modified}
        if _not_modified(found, headers):
            self.stats.add(304)
            return _response(304, b"", validators, keep_alive)
        self.stats.add(200)
        extra = {"Content-Type": "application/rss+xml; charset=utf-8" if b"<rss" in found.body[:300]
                 else "application/atom+xml; charset=utf-8", **validators}  # fmt: skip
        body = found.body
        if found.gzipped is not None and "gzip" in headers.get("accept-encoding", ""):
            body = found.gzipped
            extra["Content-Encoding"] = "gzip"
            extra["Vary"] = "Accept-Encoding"
        return _response(200, b"" if method == "HEAD" else body, extra, keep_alive, length=len(body))

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _not_modified(found: _File, headers: dict[str, str]) -> bool:
    inm = headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or found.etag in tags
    ims = headers.get("if-modified-since")
    if ims:
        try:
            return int(parsedate_to_datetime(ims).timestamp()) >= found.lm_seconds
        except (TypeError, ValueError):
            return False
    return False


_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found"}


def _response(
    status: int, body: bytes, headers: dict[str, str], keep_alive: bool, length: int | None = None
) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}", "Server: sitmon-bench"]
    lines.extend(f"{k}: {v}" for k, v in headers.items())
    if status != 304:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def serve(root: Path, ports: int, latency: float, gzip_bodies: bool, ready: Path | None) -> None:
    loop = asyncio.get_running_loop()
    files = FeedFiles(root, gzip_bodies=gzip_bodies)
    stats = Stats()
    servers = []
    for _ in range(ports):
        server = await loop.create_server(
            lambda: FeedProtocol(files, stats, latency), "127.0.0.1", 0, backlog=512, reuse_address=True
        )
        servers.append(server)
    port_numbers = [s.sockets[0].getsockname()[1] for s in servers]
    info = json.dumps({"pid": os.getpid(), "ports": port_numbers})
    if ready is not None:
        tmp = ready.with_suffix(".tmp")
        tmp.write_text(info)
        tmp.replace(ready)
    else:
        print(info, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder of feed files")
    parser.add_argument("--ports", type=int, default=40, help="listening ports (stand-ins for hosts)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each response")
    parser.add_argument("--gzip", action="store_true", help="gzip bodies for clients that accept it")
    parser.add_argument("--ready", type=Path, help="write {pid, ports} JSON here once listening")
    args = parser.parse_args()
    if not args.root.is_dir():
        sys.exit(f"{args.root} is not a folder")
    asyncio.run(serve(args.root, args.ports, args.latency, args.gzip, args.ready))


if __name__ == "__main__":
    main()
