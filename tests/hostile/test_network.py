"""Hostile network cases from the issue, fetch level: each must end as one classified, readable error."""

from __future__ import annotations

import dataclasses
import gzip
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from monitor.config import Settings
from monitor.fetch import Fetcher
from monitor.models import ErrorKind, FetchOutcome, FetchResult
from tests.http_fixtures import RSS, Route, Server, closed_port, gzip_bomb, redirect, repeated, serve

XML = {"Content-Type": "application/rss+xml"}
MB = 1024 * 1024
SECRET = "s3cr3t-Pa55"


def settings(**changes: object) -> Settings:
    base = Settings(timeout=2.0, connect_timeout=1.0, max_bytes=MB)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def fetch_one(url: str, s: Settings | None = None) -> FetchResult:
    async with Fetcher(s or settings()) as fetcher:
        return await fetcher.fetch(url)


def assert_error(result: FetchResult, kind: ErrorKind) -> None:
    assert result.outcome is FetchOutcome.ERROR, result
    assert result.error_kind is kind, result.error
    assert result.error and result.error.strip()
    assert result.body is None


@pytest.fixture
def server() -> Iterator[Server]:
    with serve() as srv:
        yield srv


# -- cannot connect ---------------------------------------------------------------------------


async def test_dns_failure() -> None:
    # The reserved .invalid TLD never resolves, so no traffic leaves the machine.
    result = await fetch_one("http://feeds.sitmon-test.invalid/rss.xml")
    assert_error(result, ErrorKind.DNS)
    assert "feeds.sitmon-test.invalid" in (result.error or "")


async def test_refused_connection() -> None:
    port = closed_port()
    result = await fetch_one(f"http://127.0.0.1:{port}/feed")
    assert_error(result, ErrorKind.CONNECT)
    assert result.error == f"connection refused by 127.0.0.1:{port}"


# -- slow servers ---------------------------------------------------------------------------------


async def test_server_that_never_answers_times_out(server: Server) -> None:
    server.routes["/feed"] = Route(hang=True)
    result = await fetch_one(server.url("/feed"), settings(timeout=0.5))
    assert_error(result, ErrorKind.TIMEOUT)
    assert 0.4 < result.elapsed < 1.5


async def test_headers_then_one_byte_per_second_fails_at_the_whole_request_deadline(server: Server) -> None:
    # httpx's own read timeout is per chunk and never fires here; only the overall deadline does.
    server.routes["/feed"] = Route(body=RSS, headers=XML, trickle=1.0)
    started = time.monotonic()
    result = await fetch_one(server.url("/feed"), settings(timeout=1.0))
    assert_error(result, ErrorKind.TIMEOUT)
    assert result.http_status == 200  # headers arrived; the body did not in time
    assert 0.9 < result.elapsed < 1.8
    assert time.monotonic() - started < 2.5


# -- huge bodies ---------------------------------------------------------------------------------


async def test_200_mb_body_with_content_length_stops_at_the_cap(server: Server) -> None:
    size = 200 * MB
    server.routes["/feed"] = Route(body=repeated(size), headers=XML, framing="length", content_length=size)
    result = await fetch_one(server.url("/feed"))
    assert_error(result, ErrorKind.TOO_LARGE)
    assert result.elapsed < 1.5


@pytest.mark.parametrize("framing", ["chunked", "close"])
async def test_200_mb_body_without_content_length_stops_at_the_cap(server: Server, framing: str) -> None:
    server.routes["/feed"] = Route(body=repeated(200 * MB), headers=XML, framing=framing)  # type: ignore[arg-type]
    result = await fetch_one(server.url("/feed"))
    assert_error(result, ErrorKind.TOO_LARGE)
    assert result.elapsed < 1.5


async def test_gzip_bomb_stops_at_the_decoded_cap_with_small_peak_memory(server: Server) -> None:
    bomb = gzip_bomb()  # about 1 MB on the wire, 1 GiB of zeros decoded
    assert len(bomb) < 1.1 * MB
    server.routes["/feed"] = Route(body=bomb, headers={**XML, "Content-Encoding": "gzip"})
    cap = 5 * MB
    tracemalloc.start()
    try:
        result = await fetch_one(server.url("/feed"), settings(max_bytes=cap))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_error(result, ErrorKind.TOO_LARGE)
    assert "decoded" in (result.error or "")
    assert peak < 30 * MB, f"peak {peak / MB:.1f} MiB"


async def test_corrupt_gzip_body(server: Server) -> None:
    wire = bytearray(gzip.compress(RSS * 40))
    wire[20:40] = b"\xff" * 20  # damage the deflate stream after the header
    server.routes["/feed"] = Route(body=bytes(wire), headers={**XML, "Content-Encoding": "gzip"})
    result = await fetch_one(server.url("/feed"))
    assert_error(result, ErrorKind.DECODE)
    assert "gzip" in (result.error or "")


async def test_body_claiming_gzip_that_is_not_gzip(server: Server) -> None:
    server.routes["/feed"] = Route(body=RSS, headers={**XML, "Content-Encoding": "gzip"})
    result = await fetch_one(server.url("/feed"))
    assert_error(result, ErrorKind.DECODE)


# -- redirects ---------------------------------------------------------------------------------


async def test_redirect_loop(server: Server) -> None:
    server.routes["/a"] = redirect("/b", 302)
    server.routes["/b"] = redirect("/c", 302)
    server.routes["/c"] = redirect("/a", 302)
    result = await fetch_one(server.url("/a"))
    assert_error(result, ErrorKind.REDIRECT)
    assert "loop" in (result.error or "")
    assert server.hits("/a") == 1  # detected without going round again


async def test_redirect_to_itself(server: Server) -> None:
    server.routes["/feed"] = redirect("/feed", 301)
    result = await fetch_one(server.url("/feed"))
    assert_error(result, ErrorKind.REDIRECT)


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://ftp.example.com/feed.xml"])
async def test_redirect_to_file_or_ftp(server: Server, target: str) -> None:
    server.routes["/feed"] = redirect(target, 302)
    result = await fetch_one(server.url("/feed"))
    assert_error(result, ErrorKind.REDIRECT)
    assert target in (result.error or "")
    assert result.permanent_redirect is None


@pytest.mark.parametrize("codes", [(301,), (308,), (301, 308, 301)])
async def test_permanent_redirects_are_followed_and_target_recorded(
    server: Server, codes: tuple[int, ...]
) -> None:
    for i, code in enumerate(codes):
        server.routes[f"/hop{i}"] = redirect(f"/hop{i + 1}", code)
    server.routes[f"/hop{len(codes)}"] = Route(body=RSS, headers=XML)
    result = await fetch_one(server.url("/hop0"))
    assert result.outcome is FetchOutcome.OK
    assert result.body == RSS
    assert result.final_url == server.url(f"/hop{len(codes)}")
    assert result.permanent_redirect == server.url(f"/hop{len(codes)}")


async def test_permanent_redirect_to_another_host_is_recorded() -> None:
    with serve() as old, serve() as new:
        new.routes["/rss"] = Route(body=RSS, headers=XML)
        old.routes["/feed"] = redirect(new.url("/rss"), 308)
        result = await fetch_one(old.url("/feed"))
    assert result.outcome is FetchOutcome.OK
    assert result.permanent_redirect == new.url("/rss")


# -- status codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (404, ErrorKind.HTTP_STATUS, "HTTP 404 Not Found"),
        (410, ErrorKind.GONE, "HTTP 410 Gone"),
        (401, ErrorKind.HTTP_STATUS, "HTTP 401 Unauthorized"),
        (403, ErrorKind.HTTP_STATUS, "HTTP 403 Forbidden"),
        (500, ErrorKind.HTTP_STATUS, "HTTP 500 Internal Server Error"),
    ],
)
async def test_error_status(server: Server, status: int, kind: ErrorKind, message: str) -> None:
    page = b"<html><body>nope</body></html>"
    server.routes["/feed"] = Route(status=status, body=page, headers={"Content-Type": "text/html"})
    result = await fetch_one(server.url("/feed"))
    assert_error(result, kind)
    assert result.error == message
    assert result.http_status == status
    assert result.retry_after is None


def _http_date(seconds_from_now: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


@pytest.mark.parametrize("status", [429, 503])
async def test_rate_limited_with_retry_after_seconds(server: Server, status: int) -> None:
    server.routes["/feed"] = Route(status=status, headers={"Retry-After": "120"})
    result = await fetch_one(server.url("/feed"))
    assert_error(result, ErrorKind.RATE_LIMITED)
    assert result.retry_after == 120
    assert result.error is not None and result.error.startswith(f"HTTP {status} ")
    assert "retry after 120 s" in result.error


@pytest.mark.parametrize("status", [429, 503])
async def test_rate_limited_with_retry_after_http_date(server: Server, status: int) -> None:
    server.routes["/feed"] = lambda _request: Route(status=status, headers={"Retry-After": _http_date(600)})
    result = await fetch_one(server.url("/feed"))
    assert_error(result, ErrorKind.RATE_LIMITED)
    assert result.retry_after is not None
    assert 595 <= result.retry_after <= 600  # HTTP-dates have whole-second resolution


@pytest.mark.parametrize("status", [429, 503])
async def test_rate_limited_without_retry_after(server: Server, status: int) -> None:
    server.routes["/feed"] = Route(status=status)
    result = await fetch_one(server.url("/feed"))
    assert_error(result, ErrorKind.RATE_LIMITED)
    assert result.retry_after is None


# -- bodies that are not feeds ----------------------------------------------------------------------


async def test_empty_200(server: Server) -> None:
    server.routes["/feed"] = Route(body=b"", headers=XML)
    result = await fetch_one(server.url("/feed"))
    assert_error(result, ErrorKind.EMPTY)
    assert result.http_status == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            b"\xef\xbb\xbf\n<!DOCTYPE html>\n<html><head><title>Parked</title></head></html>",
            "application/xml",
        ),
        (b"  <HTML lang='en'><body>Login</body></HTML>", "application/rss+xml"),
        (
            b"<head><title>Cloudflare</title></head><body>checking your browser</body>",
            "text/html; charset=utf-8",
        ),
    ],
    ids=["doctype-with-bom", "html-tag", "text-html-content-type"],
)
async def test_html_page_served_as_the_feed(server: Server, body: bytes, content_type: str) -> None:
    server.routes["/feed"] = Route(body=body, headers={"Content-Type": content_type})
    result = await fetch_one(server.url("/feed"))
    assert_error(result, ErrorKind.NOT_A_FEED)


# -- credentials ------------------------------------------------------------------------------------


async def test_credentials_in_feed_url_never_shown_in_errors(server: Server) -> None:
    userinfo = f"reader:{SECRET}"
    server.routes["/private"] = Route(status=403)
    server.routes["/moved"] = redirect("/gone", 301)
    server.routes["/gone"] = Route(status=410)
    server.routes["/loop"] = redirect("/loop?again", 302)
    server.routes["/loop?again"] = redirect("/loop", 302)
    server.routes["/to-ftp"] = redirect(f"ftp://{userinfo}@127.0.0.1/feed", 302)
    urls = [
        server.url("/private", userinfo=userinfo),
        server.url("/moved", userinfo=userinfo),
        server.url("/loop", userinfo=userinfo),
        server.url("/to-ftp", userinfo=userinfo),
        f"http://{userinfo}@feeds.sitmon-test.invalid/rss",
        f"http://{userinfo}@127.0.0.1:{closed_port()}/rss",
        f"gopher://{userinfo}@127.0.0.1/rss",
    ]
    async with Fetcher(settings()) as fetcher:
        results = [await fetcher.fetch(url) for url in urls]
    for result in results:
        assert result.outcome is FetchOutcome.ERROR
        shown = f"{result.error} {result.final_url} {result.permanent_redirect}"
        assert SECRET not in shown, shown
        assert "reader:" not in shown, shown
    # The credentials still worked: same-origin hops carried them as Basic auth.
    assert all("authorization" in r.headers for r in server.requests)


async def test_credentials_not_in_final_url_or_permanent_redirect(server: Server) -> None:
    server.routes["/old"] = redirect("/new", 308)
    server.routes["/new"] = Route(body=RSS, headers=XML)
    result = await fetch_one(server.url("/old", userinfo=f"reader:{SECRET}"))
    assert result.outcome is FetchOutcome.OK
    assert result.final_url == server.url("/new")
    assert result.permanent_redirect == server.url("/new")


async def test_credentials_not_sent_to_another_host_on_redirect() -> None:
    with serve() as origin, serve() as other:
        other.routes["/rss"] = Route(body=RSS, headers=XML)
        origin.routes["/feed"] = redirect(other.url("/rss"), 302)
        result = await fetch_one(origin.url("/feed", userinfo=f"reader:{SECRET}"))
    assert result.outcome is FetchOutcome.OK
    assert "authorization" in origin.requests[0].headers
    assert "authorization" not in other.requests[0].headers
