"""Conditional GET of feeds under hard limits: whole-request deadline, decoded-size cap, checked redirects."""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import http
import re
import socket
import ssl
import sys
import threading
import time
import zlib
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

# httpx imports its command-line client (click and rich: about 40% of httpx's import time) when it
# is installed. sitmon never runs it, and every `sitmon poll` process paid for it: None in
# sys.modules makes that import fail, and httpx then defines its placeholder `main` instead.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
import httpx  # noqa: E402

from monitor.config import Settings  # noqa: E402
from monitor.models import ErrorKind, FetchOutcome, FetchResult  # noqa: E402
from monitor.urls import host_key, is_http_url, redact, redact_text  # noqa: E402

MAX_REDIRECTS = 5
"""Redirect hops followed before a fetch fails as a redirect error."""

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
ACCEPT_ENCODING = "gzip, deflate"
"""Only codings we decode ourselves: brotli/zstd would need their own bounded decoders."""

_STEP = 64 * 1024
"""Largest piece inflated at once; keeps peak memory at cap + one step whatever the compression ratio."""
_SNIFF = 2048
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_RATE_LIMITED = frozenset({429, 503})
_GZIP_MAGIC = b"\x1f\x8b"
_FEED_MARKERS = (b"<rss", b"<feed", b"<rdf:rdf")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MAX_MESSAGE = 300


class _Failure(Exception):
    """A classified failure raised inside the fetch and turned into an error FetchResult."""

    def __init__(self, kind: ErrorKind, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after


@dataclass(slots=True)
class _Trace:
    """What is known so far about one fetch, so any failure can still report where it happened."""

    original: str
    """The caller's URL, returned as given: it is the feed's key, never rewritten."""
    url: str
    """The hop being requested (credentials kept for the request, redacted in every report)."""
    status: int | None = None
    content_type: str | None = None
    hops: int = 0
    all_permanent: bool = True
    started: float | None = None


class Fetcher:
    """One HTTP client plus global and per-host request limits; use as `async with Fetcher(s) as f`."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        trust_env: bool = True,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._trust_env = trust_env
        self._client: httpx.AsyncClient | None = None
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Self:
        s = self.settings
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(s.timeout, connect=s.connect_timeout),
            limits=httpx.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency),
            headers={"User-Agent": s.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
            transport=self._transport,
            trust_env=self._trust_env,
            verify=_ssl_context(self._trust_env),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET `url` conditionally; never raises for network, HTTP or content problems."""
        trace = _Trace(original=url, url=url)
        if not is_http_url(url):
            return self._error(trace, ErrorKind.BAD_URL, f"not an http(s) URL: {redact(url)}")
        if self._client is None:
            raise RuntimeError("Fetcher.fetch() called outside 'async with Fetcher(...)'")
        try:
            result = await self._run(trace, etag, last_modified)
        except _Failure as failure:
            result = self._error(trace, failure.kind, failure.message, retry_after=failure.retry_after)
        except TimeoutError:
            result = self._error(
                trace, ErrorKind.TIMEOUT, f"no complete response within {self.settings.timeout:g} s"
            )
        except Exception as exc:
            # Anything from the network stack (httpx, h11, ssl, sockets) becomes a classified error:
            # one broken feed must never take the poll cycle down.
            kind, message = self._classify(exc, trace.url)
            result = self._error(trace, kind, message)
        elapsed = time.monotonic() - trace.started if trace.started is not None else 0.0
        return dataclasses.replace(result, elapsed=elapsed)

    # -- the request chain -------------------------------------------------

    async def _run(self, trace: _Trace, etag: str | None, last_modified: str | None) -> FetchResult:
        assert self._client is not None
        headers: dict[str, str] = {}
        if etag and _header_safe(etag):
            headers["If-None-Match"] = etag
        if last_modified and _header_safe(last_modified):
            headers["If-Modified-Since"] = last_modified
        sent_etag = headers.get("If-None-Match")
        sent_lm = headers.get("If-Modified-Since")
        visited = {_visit_key(trace.url)}
        loop = asyncio.get_running_loop()
        # The deadline starts once the first hop holds its slots: time queued behind other feeds is not
        # this feed's fault. Later hops queue inside the deadline, as they are part of the same request.
        async with asyncio.timeout(None) as deadline:
            while True:
                async with self._slot(trace.url):
                    if trace.started is None:
                        trace.started = time.monotonic()
                        deadline.reschedule(loop.time() + self.settings.timeout)
                    async with self._client.stream("GET", trace.url, headers=headers) as response:
                        trace.status = response.status_code
                        trace.content_type = response.headers.get("content-type")
                        location = response.headers.get("location")
                        if response.status_code not in _REDIRECTS or not location:
                            return await self._finish(trace, response, sent_etag, sent_lm)
                        target = self._redirect_target(trace, location, visited)
                trace.hops += 1
                trace.all_permanent = trace.all_permanent and response.status_code in _PERMANENT
                trace.url = target
                visited.add(_visit_key(target))

    @asynccontextmanager
    async def _slot(self, url: str) -> AsyncIterator[None]:
        # Host before global, always: a request waiting on a busy host must not sit on a global slot,
        # and one fixed order (each hop releases both) rules out deadlocks between redirecting feeds.
        key = host_key(url)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = asyncio.Semaphore(self.settings.per_host)
        async with host, self._global:
            yield

    def _redirect_target(self, trace: _Trace, location: str, visited: set[str]) -> str:
        if trace.hops >= MAX_REDIRECTS:
            raise _Failure(ErrorKind.REDIRECT, f"more than {MAX_REDIRECTS} redirects")
        try:
            # RFC 3986 resolution keeps userinfo only for references without an authority, i.e. on the
            # same origin: credentials are never handed to another host.
            target_url = httpx.URL(trace.url).join(location.strip())
        except (httpx.InvalidURL, ValueError):
            raise _Failure(ErrorKind.REDIRECT, f"redirect to an invalid URL: {location!r}") from None
        if target_url.scheme not in ("http", "https"):
            raise _Failure(ErrorKind.REDIRECT, f"redirect to a non-http(s) URL: {redact(location.strip())}")
        target = str(target_url)
        if not is_http_url(target):
            raise _Failure(ErrorKind.REDIRECT, f"redirect to an invalid URL: {redact(target)}")
        if _visit_key(target) in visited:
            raise _Failure(ErrorKind.REDIRECT, f"redirect loop at {redact(target)}")
        return target

    async def _finish(
        self, trace: _Trace, response: httpx.Response, sent_etag: str | None, sent_lm: str | None
    ) -> FetchResult:
        status = response.status_code
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        if status == 304:
            if sent_etag is None and sent_lm is None:
                raise _Failure(ErrorKind.HTTP_STATUS, f"{_status_line(status)} to an unconditional request")
            return self._result(
                trace,
                FetchOutcome.NOT_MODIFIED,
                etag=etag or sent_etag,
                last_modified=last_modified or sent_lm,
            )
        if 300 <= status < 400:
            kind = ErrorKind.REDIRECT if status in _REDIRECTS else ErrorKind.HTTP_STATUS
            suffix = " without a Location header" if status in _REDIRECTS else ""
            raise _Failure(kind, f"{_status_line(status)}{suffix}")
        if not 200 <= status < 300:
            raise self._status_failure(status, response.headers.get("retry-after"))
        if sent_etag is not None and etag is not None and _same_etag(sent_etag, etag):
            # The server ignored If-None-Match but says the representation is unchanged.
            return self._result(
                trace, FetchOutcome.NOT_MODIFIED, etag=etag, last_modified=last_modified or sent_lm
            )
        body = await self._read_body(response)
        if not body.strip():
            raise _Failure(ErrorKind.EMPTY, f"empty response body ({_status_line(status)})")
        if _looks_like_html(body, trace.content_type):
            raise _Failure(ErrorKind.NOT_A_FEED, "the server returned an HTML page, not a feed")
        return self._result(trace, FetchOutcome.OK, body=body, etag=etag, last_modified=last_modified)

    def _status_failure(self, status: int, retry_after_header: str | None) -> _Failure:
        line = _status_line(status)
        if status == 410:
            return _Failure(ErrorKind.GONE, line)
        if status in _RATE_LIMITED:
            retry_after = parse_retry_after(retry_after_header, limit=self.settings.retry_after_max)
            if retry_after is not None:
                line += f" (retry after {retry_after:.0f} s)"
            return _Failure(ErrorKind.RATE_LIMITED, line, retry_after=retry_after)
        return _Failure(ErrorKind.HTTP_STATUS, line)

    async def _read_body(self, response: httpx.Response) -> bytes:
        limit = self.settings.max_bytes
        header = response.headers.get("content-encoding", "")
        codings = [c for c in (p.strip().lower() for p in header.split(",")) if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise _Failure(ErrorKind.DECODE, f"unsupported Content-Encoding {_clip(header)!r}")
        if not codings:
            declared = _content_length(response)
            if declared is not None and declared > limit:
                raise _Failure(
                    ErrorKind.TOO_LARGE,
                    f"Content-Length {declared} bytes is over the max_bytes limit ({_size(limit)})",
                )
        decoder = _BoundedDecoder(codings[0] if codings else None, limit)
        async for chunk in response.aiter_raw():
            decoder.feed(chunk)
        return decoder.finish()

    # -- results ------------------------------------------------------------

    def _result(
        self,
        trace: _Trace,
        outcome: FetchOutcome,
        *,
        body: bytes | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        permanent = None
        if trace.hops and trace.all_permanent:
            permanent = redact(trace.url)
        return FetchResult(
            url=trace.original,
            outcome=outcome,
            body=body,
            http_status=trace.status,
            content_type=trace.content_type,
            final_url=redact(trace.url),
            etag=etag,
            last_modified=last_modified,
            permanent_redirect=permanent,
        )

    def _error(
        self, trace: _Trace, kind: ErrorKind, message: str, *, retry_after: float | None = None
    ) -> FetchResult:
        return FetchResult(
            url=trace.original,
            outcome=FetchOutcome.ERROR,
            http_status=trace.status,
            content_type=trace.content_type,
            final_url=redact(trace.url),
            error_kind=kind,
            error=_clip(redact_text(message)),
            retry_after=retry_after,
        )

    def _classify(self, exc: BaseException, url: str) -> tuple[ErrorKind, str]:
        where = host_key(url)
        host = where.rpartition(":")[0] or where
        causes = _causes(exc)
        if isinstance(exc, httpx.ConnectTimeout):
            return (
                ErrorKind.TIMEOUT,
                f"connecting to {where} timed out after {self.settings.connect_timeout:g} s",
            )
        if isinstance(exc, httpx.TimeoutException):
            return ErrorKind.TIMEOUT, f"{where} stopped responding ({type(exc).__name__})"
        # SSLError is an OSError too, so TLS is checked before the socket-level causes.
        tls = next((c for c in causes if isinstance(c, ssl.SSLError | ssl.CertificateError)), None)
        if tls is not None:
            return ErrorKind.TLS, f"TLS with {where} failed: {tls}"
        dns = next((c for c in causes if isinstance(c, socket.gaierror)), None)
        if dns is not None:
            return ErrorKind.DNS, f"DNS lookup for {host} failed: {dns.strerror or dns}"
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return ErrorKind.CONNECT, f"connection refused by {where}"
        if isinstance(exc, httpx.ConnectError):
            return ErrorKind.CONNECT, f"cannot connect to {where}: {exc}"
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return ErrorKind.BAD_URL, f"unusable URL: {exc}"
        if isinstance(exc, httpx.RemoteProtocolError):
            return ErrorKind.OTHER, f"{where} broke the HTTP protocol: {exc}"
        if isinstance(exc, httpx.NetworkError | OSError):
            return ErrorKind.CONNECT, f"connection to {where} failed: {exc or type(exc).__name__}"
        return ErrorKind.OTHER, f"{type(exc).__name__}: {exc}"


class _BoundedDecoder:
    """Decode a response body in bounded steps, failing as soon as the decoded size passes the limit."""

    def __init__(self, coding: str | None, limit: int) -> None:
        self._coding = coding
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self._z: zlib._Decompress | None = None
        self._pending = b""
        self._members = 0
        self._trailing_junk = False

    def feed(self, chunk: bytes) -> None:
        if self._coding is None:
            self._append(chunk)
            return
        data = chunk
        while data:
            if self._z is None:
                if self._trailing_junk:
                    return
                # Two bytes decide the format (gzip magic, zlib header or raw deflate).
                self._pending += data
                if len(self._pending) < 2:
                    return
                data, self._pending = self._pending, b""
                if self._members and data[:2] != _GZIP_MAGIC:
                    # Bytes after a complete stream: browsers ignore them, so do we.
                    self._trailing_junk = True
                    return
                self._z = zlib.decompressobj(self._wbits(data[:2]))
            data = self._inflate(self._z, data)
            if self._z.eof:
                # Concatenated gzip members are legal (RFC 1952); the loop starts the next one.
                self._members += 1
                self._z = None

    def finish(self) -> bytes:
        if self._coding is not None and (self._z is not None or (self._pending and not self._members)):
            raise _Failure(ErrorKind.DECODE, f"{self._coding} body ends mid-stream (truncated)")
        return b"".join(self._parts)

    def _wbits(self, head: bytes) -> int:
        zlib_header = head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        if head == _GZIP_MAGIC or zlib_header or self._coding != "deflate":
            return 47  # 32 + 15: zlib or gzip header, detected automatically
        return -15  # many servers send "deflate" as a raw stream without the zlib header

    def _inflate(self, z: zlib._Decompress, data: bytes) -> bytes:
        """Inflate `data` into the body; return input left over after the end of the stream."""
        while True:
            step = min(_STEP, self._limit - self._size + 1)  # one byte past the cap proves overflow
            try:
                piece = z.decompress(data, step)
            except zlib.error as exc:
                raise _Failure(ErrorKind.DECODE, f"corrupt {self._coding} body: {exc}") from None
            self._append(piece)
            data = z.unconsumed_tail
            if z.eof:
                return z.unused_data
            # A full output buffer may mean zlib still holds output even with no input left.
            if not data and len(piece) < step:
                return b""

    def _append(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self._limit:
            what = "decoded body" if self._coding else "body"
            raise _Failure(ErrorKind.TOO_LARGE, f"{what} is over the max_bytes limit ({_size(self._limit)})")
        if piece:
            self._parts.append(piece)


def parse_retry_after(value: str | None, *, limit: float, now: datetime | None = None) -> float | None:
    """Seconds from Retry-After (delta-seconds or HTTP-date), clamped to [0, limit]; None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # "-0000" parses as naive; HTTP-dates are always GMT
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), float(limit))


_TLS_LOCK = threading.Lock()
_TLS_CONTEXTS: dict[bool, Future[ssl.SSLContext]] = {}
"""trust_env -> the shared TLS context, built once (contexts are thread-safe)."""


def warm_tls(trust_env: bool = True) -> None:
    """Start building the TLS context in a thread now, so the first fetch does not wait for it.

    Loading the CA bundle costs 35-60 ms, and OpenSSL does it without holding the GIL. Started when a
    poller is made, it never stalls the event loop the TUI draws on at the first poll; a poll command
    starts it before its config and database work, which it overlaps (a cold poll's time does not
    measurably change: the first answer came at a median 328 ms either way, 15 alternating runs)."""
    _tls_context_future(trust_env)


def _tls_context_future(trust_env: bool) -> Future[ssl.SSLContext]:
    with _TLS_LOCK:
        future = _TLS_CONTEXTS.get(trust_env)
        if future is None:
            future = _TLS_CONTEXTS[trust_env] = Future()
            threading.Thread(
                target=_build_tls_context, args=(future, trust_env), name="sitmon-tls", daemon=True
            ).start()
    return future


def _build_tls_context(future: Future[ssl.SSLContext], trust_env: bool) -> None:
    try:
        future.set_result(httpx.create_ssl_context(trust_env=trust_env))
    except BaseException as exc:  # handed to whoever waits for the context
        with _TLS_LOCK:
            del _TLS_CONTEXTS[trust_env]  # a failure (say, a bad SSL_CERT_FILE) is not kept: retried
        future.set_exception(exc)


def _ssl_context(trust_env: bool) -> ssl.SSLContext:
    return _tls_context_future(trust_env).result()


def _status_line(status: int) -> str:
    try:
        return f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _header_safe(value: str) -> bool:
    # Stored validators came from a server; one with controls or non-ASCII would make httpx raise.
    return all(" " <= ch <= "~" or ch == "\t" for ch in value)


def _same_etag(a: str, b: str) -> bool:
    # Weak comparison (RFC 9110 8.8.3.2), the one If-None-Match itself uses.
    return a.strip().removeprefix("W/") == b.strip().removeprefix("W/")


def _visit_key(url: str) -> str:
    try:
        return str(httpx.URL(url).copy_with(fragment=None))
    except (httpx.InvalidURL, ValueError):
        return url


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "").strip()
    return int(value) if value.isdigit() else None


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    head = body[: _SNIFF + 3].removeprefix(b"\xef\xbb\xbf").lstrip()[:_SNIFF].lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return True
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return mime == "text/html" and not any(marker in head for marker in _FEED_MARKERS)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 16:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MiB"
    if n >= 1024:
        return f"{n / 1024:g} KiB"
    return f"{n} bytes"


def _clip(text: str) -> str:
    # Error strings reach the terminal UI: no control characters, bounded length.
    text = _CONTROL.sub("?", text)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"
