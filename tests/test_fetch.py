"""The fetcher's normal contract against a real local server: conditional GET, limits, headers, mapping."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from monitor.config import Settings
from monitor.fetch import Fetcher, parse_retry_after
from monitor.models import ErrorKind, FetchOutcome, FetchResult
from monitor.urls import host_key, is_http_url, redact, redact_text
from tests.http_fixtures import RSS, InFlight, Route, Server, redirect, serve

XML = {"Content-Type": "application/rss+xml; charset=utf-8"}


def settings(**changes: object) -> Settings:
    base = Settings(
        timeout=2.0, connect_timeout=1.0, max_bytes=1 << 20, user_agent="sitmon-test/1.0 (+tests)"
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def fetch_one(url: str, s: Settings | None = None, **kwargs: str | None) -> FetchResult:
    async with Fetcher(s or settings()) as fetcher:
        return await fetcher.fetch(url, **kwargs)


@pytest.fixture
def server() -> Iterator[Server]:
    with serve() as srv:
        yield srv


# -- success and conditional GET ----------------------------------------------


async def test_ok_returns_body_validators_and_metadata(server: Server) -> None:
    server.routes["/feed"] = Route(
        body=RSS, headers=XML, etag='W/"abc-1"', last_modified="Tue, 03 Mar 2026 10:00:00 GMT"
    )
    result = await fetch_one(server.url("/feed"))
    assert result.outcome is FetchOutcome.OK
    assert result.error_kind is None and result.error is None
    assert result.body == RSS
    assert result.http_status == 200
    assert result.content_type == XML["Content-Type"]
    assert result.etag == 'W/"abc-1"'
    assert result.last_modified == "Tue, 03 Mar 2026 10:00:00 GMT"
    assert result.final_url == server.url("/feed")
    assert result.url == server.url("/feed")
    assert result.permanent_redirect is None
    assert 0 < result.elapsed < 2


async def test_conditional_get_sends_validators_verbatim_and_304_is_not_modified(server: Server) -> None:
    server.routes["/feed"] = Route(
        body=RSS, headers=XML, etag='"v7"', last_modified="Mon, 02 Mar 2026 09:00:00 GMT"
    )
    result = await fetch_one(server.url("/feed"), etag='"v7"', last_modified="Mon, 02 Mar 2026 09:00:00 GMT")
    sent = server.requests[-1].headers
    assert sent["if-none-match"] == '"v7"'
    assert sent["if-modified-since"] == "Mon, 02 Mar 2026 09:00:00 GMT"
    assert result.outcome is FetchOutcome.NOT_MODIFIED
    assert result.http_status == 304
    assert result.body is None
    assert result.etag == '"v7"'
    assert result.last_modified == "Mon, 02 Mar 2026 09:00:00 GMT"


async def test_304_without_validators_in_response_carries_the_sent_ones(server: Server) -> None:
    server.routes["/feed"] = Route(status=304)
    result = await fetch_one(server.url("/feed"), etag='"x"', last_modified="Sun, 01 Mar 2026 00:00:00 GMT")
    assert result.outcome is FetchOutcome.NOT_MODIFIED
    assert result.etag == '"x"'
    assert result.last_modified == "Sun, 01 Mar 2026 00:00:00 GMT"


async def test_if_modified_since_alone_gets_not_modified(server: Server) -> None:
    server.routes["/feed"] = Route(body=RSS, headers=XML, last_modified="Mon, 02 Mar 2026 09:00:00 GMT")
    result = await fetch_one(server.url("/feed"), last_modified="Mon, 02 Mar 2026 09:00:00 GMT")
    assert "if-none-match" not in server.requests[-1].headers
    assert result.outcome is FetchOutcome.NOT_MODIFIED


async def test_no_validators_sent_on_first_fetch(server: Server) -> None:
    server.routes["/feed"] = Route(body=RSS, headers=XML, etag='"v1"')
    result = await fetch_one(server.url("/feed"))
    headers = server.requests[-1].headers
    assert "if-none-match" not in headers and "if-modified-since" not in headers
    assert result.outcome is FetchOutcome.OK and result.etag == '"v1"'


async def test_200_with_the_same_etag_is_not_modified(server: Server) -> None:
    # A server that ignores If-None-Match but still reports the unchanged ETag.
    server.routes["/feed"] = Route(body=RSS, headers={**XML, "ETag": '"same"'})
    result = await fetch_one(server.url("/feed"), etag='"same"')
    assert result.outcome is FetchOutcome.NOT_MODIFIED
    assert result.http_status == 200
    assert result.body is None
    assert result.etag == '"same"'


async def test_200_with_a_different_etag_is_ok(server: Server) -> None:
    server.routes["/feed"] = Route(body=RSS, headers={**XML, "ETag": '"new"'})
    result = await fetch_one(server.url("/feed"), etag='"old"')
    assert result.outcome is FetchOutcome.OK
    assert result.etag == '"new"'


async def test_unsendable_stored_validator_is_dropped_not_fatal(server: Server) -> None:
    server.routes["/feed"] = Route(body=RSS, headers=XML)
    result = await fetch_one(server.url("/feed"), etag='"bad\r\nX-Injected: 1"')
    assert result.outcome is FetchOutcome.OK
    assert "x-injected" not in server.requests[-1].headers
    assert "if-none-match" not in server.requests[-1].headers


async def test_unconditional_304_is_an_http_status_error(server: Server) -> None:
    server.routes["/feed"] = Route(status=304)
    result = await fetch_one(server.url("/feed"))
    assert result.outcome is FetchOutcome.ERROR
    assert result.error_kind is ErrorKind.HTTP_STATUS
    assert result.error is not None and "304" in result.error


# -- request headers --------------------------------------------------------------


async def test_user_agent_accept_and_accept_encoding_are_sent(server: Server) -> None:
    server.routes["/feed"] = Route(body=RSS, headers=XML)
    await fetch_one(server.url("/feed"), settings(user_agent="situation-monitor/9 (+https://example.org)"))
    headers = server.requests[-1].headers
    assert headers["user-agent"] == "situation-monitor/9 (+https://example.org)"
    assert headers["accept-encoding"] == "gzip, deflate"
    assert "application/rss+xml" in headers["accept"]


# -- concurrency limits ----------------------------------------------------------


async def test_global_concurrency_bounds_requests_in_flight(server: Server) -> None:
    server.routes["/slow"] = Route(body=RSS, headers=XML, delay=0.2)
    async with Fetcher(settings(concurrency=3, per_host=10)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url(f"/slow?{i}")) for i in range(9)))
    assert all(r.outcome is FetchOutcome.OK for r in results)
    assert server.gauge.peak == 3


async def test_per_host_limit_bounds_each_host_separately() -> None:
    overall = InFlight()
    with serve(gauges=(overall,)) as a, serve(gauges=(overall,)) as b:
        for srv in (a, b):
            srv.routes["/slow"] = Route(body=RSS, headers=XML, delay=0.2)
        async with Fetcher(settings(concurrency=10, per_host=2)) as fetcher:
            urls = [srv.url(f"/slow?{i}") for i in range(6) for srv in (a, b)]
            results = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    assert all(r.outcome is FetchOutcome.OK for r in results)
    assert a.gauge.peak == 2
    assert b.gauge.peak == 2
    assert overall.peak == 4  # both hosts busy at once: the limit is per host, not global


async def test_waiting_for_a_slot_does_not_count_against_the_deadline(server: Server) -> None:
    server.routes["/slow"] = Route(body=RSS, headers=XML, delay=0.3)
    async with Fetcher(settings(concurrency=1, timeout=0.8)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(server.url(f"/slow?{i}")) for i in range(4)))
    # 4 x 0.3 s queued behind one slot is longer than the 0.8 s deadline, yet each request is quick.
    assert [r.outcome for r in results] == [FetchOutcome.OK] * 4
    assert all(r.elapsed < 0.8 for r in results)


# -- bodies and content-coding -------------------------------------------------------


async def test_gzip_body_is_decoded(server: Server) -> None:
    server.routes["/feed"] = Route(body=RSS * 50, headers=XML, gzip=True)
    result = await fetch_one(server.url("/feed"))
    assert result.outcome is FetchOutcome.OK
    assert result.body == RSS * 50


@pytest.mark.parametrize("wbits", [15, -15], ids=["zlib-wrapped", "raw"])
async def test_deflate_body_is_decoded_with_or_without_zlib_header(server: Server, wbits: int) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    wire = compressor.compress(RSS) + compressor.flush()
    server.routes["/feed"] = Route(body=wire, headers={**XML, "Content-Encoding": "deflate"})
    result = await fetch_one(server.url("/feed"))
    assert result.outcome is FetchOutcome.OK
    assert result.body == RSS


async def test_concatenated_gzip_members_are_decoded(server: Server) -> None:
    wire = gzip.compress(RSS[:40]) + gzip.compress(RSS[40:])
    server.routes["/feed"] = Route(body=wire, headers={**XML, "Content-Encoding": "gzip"})
    result = await fetch_one(server.url("/feed"))
    assert result.body == RSS


async def test_truncated_gzip_is_a_decode_error(server: Server) -> None:
    server.routes["/feed"] = Route(
        body=gzip.compress(RSS * 20)[:-30], headers={**XML, "Content-Encoding": "gzip"}
    )
    result = await fetch_one(server.url("/feed"))
    assert result.error_kind is ErrorKind.DECODE


async def test_unrequested_content_encoding_is_a_decode_error(server: Server) -> None:
    server.routes["/feed"] = Route(body=b"\x8b\x00junk", headers={**XML, "Content-Encoding": "br"})
    result = await fetch_one(server.url("/feed"))
    assert result.error_kind is ErrorKind.DECODE
    assert result.error is not None and "br" in result.error


async def test_body_exactly_at_the_cap_is_accepted(server: Server) -> None:
    body = RSS + b" " * (4096 - len(RSS))
    server.routes["/feed"] = Route(body=body, headers=XML, gzip=True)
    result = await fetch_one(server.url("/feed"), settings(max_bytes=4096))
    assert result.outcome is FetchOutcome.OK
    assert len(result.body or b"") == 4096


async def test_one_decoded_byte_over_the_cap_is_too_large(server: Server) -> None:
    body = RSS + b" " * (4097 - len(RSS))
    server.routes["/feed"] = Route(body=body, headers=XML, gzip=True)
    result = await fetch_one(server.url("/feed"), settings(max_bytes=4096))
    assert result.outcome is FetchOutcome.ERROR
    assert result.error_kind is ErrorKind.TOO_LARGE


async def test_feed_served_as_text_html_is_still_accepted(server: Server) -> None:
    # Misconfigured servers label feeds text/html; the markers in the first 2 KB decide.
    server.routes["/feed"] = Route(body=RSS, headers={"Content-Type": "text/html; charset=utf-8"})
    result = await fetch_one(server.url("/feed"))
    assert result.outcome is FetchOutcome.OK


async def test_bom_and_whitespace_before_feed_are_fine(server: Server) -> None:
    server.routes["/feed"] = Route(body=b"\xef\xbb\xbf\n  " + RSS, headers=XML)
    result = await fetch_one(server.url("/feed"))
    assert result.outcome is FetchOutcome.OK


async def test_whitespace_only_body_is_empty(server: Server) -> None:
    server.routes["/feed"] = Route(body=b" \r\n\t ", headers=XML)
    result = await fetch_one(server.url("/feed"))
    assert result.error_kind is ErrorKind.EMPTY


async def test_204_no_content_is_empty(server: Server) -> None:
    server.routes["/feed"] = Route(status=204)
    result = await fetch_one(server.url("/feed"))
    assert result.error_kind is ErrorKind.EMPTY


async def test_connection_closed_without_answer_is_a_classified_error(server: Server) -> None:
    server.routes["/feed"] = Route(drop=True)
    result = await fetch_one(server.url("/feed"))
    assert result.outcome is FetchOutcome.ERROR
    assert result.error_kind is ErrorKind.OTHER
    assert result.error


# -- redirects beyond the hostile list ----------------------------------------------------


async def test_302_is_followed_but_not_permanent(server: Server) -> None:
    server.routes["/old"] = redirect("/new", 302)
    server.routes["/new"] = Route(body=RSS, headers=XML)
    result = await fetch_one(server.url("/old"))
    assert result.outcome is FetchOutcome.OK
    assert result.final_url == server.url("/new")
    assert result.permanent_redirect is None


async def test_mixed_permanent_and_temporary_chain_is_not_permanent(server: Server) -> None:
    server.routes["/a"] = redirect("/b", 301)
    server.routes["/b"] = redirect("/c", 307)
    server.routes["/c"] = Route(body=RSS, headers=XML)
    result = await fetch_one(server.url("/a"))
    assert result.outcome is FetchOutcome.OK
    assert result.final_url == server.url("/c")
    assert result.permanent_redirect is None


async def test_relative_location_is_resolved_against_the_current_url(server: Server) -> None:
    server.routes["/dir/feed"] = redirect("../other/feed.xml?x=1", 307)
    server.routes["/other/feed.xml?x=1"] = Route(body=RSS, headers=XML)
    result = await fetch_one(server.url("/dir/feed"))
    assert result.outcome is FetchOutcome.OK
    assert result.final_url == server.url("/other/feed.xml?x=1")


async def test_five_redirects_are_followed_and_six_fail(server: Server) -> None:
    for i in range(6):
        server.routes[f"/r{i}"] = redirect(f"/r{i + 1}", 302)
    server.routes["/r6"] = Route(body=RSS, headers=XML)
    five = await fetch_one(server.url("/r1"))
    six = await fetch_one(server.url("/r0"))
    assert five.outcome is FetchOutcome.OK
    assert six.error_kind is ErrorKind.REDIRECT
    assert six.error is not None and "more than 5 redirects" in six.error


async def test_redirect_without_location_is_a_redirect_error(server: Server) -> None:
    server.routes["/feed"] = Route(status=302)
    result = await fetch_one(server.url("/feed"))
    assert result.error_kind is ErrorKind.REDIRECT
    assert result.http_status == 302


async def test_permanent_redirect_is_not_reported_when_the_target_fails(server: Server) -> None:
    server.routes["/old"] = redirect("/missing", 301)
    result = await fetch_one(server.url("/old"))
    assert result.error_kind is ErrorKind.HTTP_STATUS
    assert result.final_url == server.url("/missing")
    assert result.permanent_redirect is None


# -- status mapping and Retry-After beyond the hostile list -------------------------------------


OTHER_STATUSES = [(400, "HTTP 400 Bad Request"), (502, "HTTP 502 Bad Gateway"), (599, "HTTP 599")]


@pytest.mark.parametrize(("status", "text"), OTHER_STATUSES)
async def test_other_error_statuses_map_to_http_status(server: Server, status: int, text: str) -> None:
    server.routes["/feed"] = Route(
        status=status, body=b"<html>oops</html>", headers={"Content-Type": "text/html"}
    )
    result = await fetch_one(server.url("/feed"))
    assert result.error_kind is ErrorKind.HTTP_STATUS
    assert result.error == text
    assert result.http_status == status


async def test_server_reason_phrase_is_not_trusted(server: Server) -> None:
    # The message uses the standard phrase, never text chosen by the server.
    server.routes["/feed"] = Route(status=404, body=b"x")
    result = await fetch_one(server.url("/feed"))
    assert result.error == "HTTP 404 Not Found"


async def test_retry_after_is_clamped_to_retry_after_max(server: Server) -> None:
    server.routes["/feed"] = Route(status=429, headers={"Retry-After": "999999"})
    result = await fetch_one(server.url("/feed"), settings(retry_after_max=3600))
    assert result.error_kind is ErrorKind.RATE_LIMITED
    assert result.retry_after == 3600


async def test_unparseable_retry_after_is_none(server: Server) -> None:
    server.routes["/feed"] = Route(status=503, headers={"Retry-After": "soon, maybe"})
    result = await fetch_one(server.url("/feed"))
    assert result.error_kind is ErrorKind.RATE_LIMITED
    assert result.retry_after is None


def test_parse_retry_after_forms() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(minutes=10), usegmt=True)
    earlier = format_datetime(now - timedelta(minutes=10), usegmt=True)
    assert parse_retry_after("120", limit=86400, now=now) == 120
    assert parse_retry_after(" 7 ", limit=86400, now=now) == 7
    assert parse_retry_after(later, limit=86400, now=now) == 600
    assert parse_retry_after(earlier, limit=86400, now=now) == 0  # dates in the past mean "now"
    assert parse_retry_after("-5", limit=86400, now=now) is None
    assert parse_retry_after("", limit=86400, now=now) is None
    assert parse_retry_after(None, limit=86400, now=now) is None
    assert parse_retry_after("9" * 400, limit=50, now=now) == 50


# -- classification without a server --------------------------------------------------------


BAD_URLS = [
    "ftp://example.com/feed",
    "file:///etc/passwd",
    "feed.xml",
    "http://",
    "http://exa mple.com/",
    "http://example.com:99999/",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("url", BAD_URLS)
async def test_non_http_urls_are_bad_url_without_network(url: str) -> None:
    result = await fetch_one(url)
    assert result.outcome is FetchOutcome.ERROR
    assert result.error_kind is ErrorKind.BAD_URL
    assert result.http_status is None
    assert result.elapsed == 0.0


async def test_tls_failure_is_classified_as_tls(server: Server) -> None:
    # An https URL pointed at a plain-HTTP port fails the handshake.
    result = await fetch_one(f"https://127.0.0.1:{server.port}/feed")
    assert result.outcome is FetchOutcome.ERROR
    assert result.error_kind is ErrorKind.TLS
    assert result.error is not None and "TLS" in result.error


async def test_fetch_outside_context_manager_is_a_programming_error() -> None:
    fetcher = Fetcher(settings())
    with pytest.raises(RuntimeError):
        await fetcher.fetch("http://127.0.0.1:9/feed")


# -- url helpers ----------------------------------------------------------------------


def test_redact_removes_userinfo() -> None:
    assert redact("https://user:pa%40ss@example.com:8443/f?q=1#x") == "https://example.com:8443/f?q=1#x"
    assert redact("http://token@example.com/") == "http://example.com/"
    assert redact("http://u:p@ss@example.com/feed") == "http://example.com/feed"
    assert redact("http://example.com/a@b") == "http://example.com/a@b"
    assert (
        redact_text("GET http://u:secret@h/x failed; see https://a:b@c/")
        == "GET http://h/x failed; see https://c/"
    )


def test_is_http_url_and_host_key() -> None:
    assert is_http_url("https://example.com/feed")
    assert not is_http_url("mailto:x@example.com")
    assert not is_http_url("http:///path")
    assert host_key("https://Example.COM/feed") == "example.com:443"
    assert host_key("http://u:p@example.com:8080/") == "example.com:8080"
    assert host_key("http://[::1]/") == "[::1]:80"


# --------------------------------------------------------------------------- TLS context


def test_the_tls_context_is_built_once_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl
    import threading

    import httpx

    from monitor import fetch

    built_in: list[str] = []
    real = httpx.create_ssl_context

    def create(**kwargs: object) -> ssl.SSLContext:
        built_in.append(threading.current_thread().name)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fetch, "_TLS_CONTEXTS", {})
    monkeypatch.setattr(httpx, "create_ssl_context", create)
    fetch.warm_tls(trust_env=False)
    fetch.warm_tls(trust_env=False)
    first = fetch._ssl_context(False)
    assert fetch._ssl_context(False) is first
    assert built_in == ["sitmon-tls"]


def test_a_tls_context_that_failed_to_build_is_built_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    import httpx

    from monitor import fetch

    calls: list[int] = []
    real = httpx.create_ssl_context

    def create(**kwargs: object) -> ssl.SSLContext:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("no such CA bundle")
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fetch, "_TLS_CONTEXTS", {})
    monkeypatch.setattr(httpx, "create_ssl_context", create)
    with pytest.raises(OSError, match="no such CA bundle"):
        fetch._ssl_context(False)
    assert isinstance(fetch._ssl_context(False), ssl.SSLContext)
    assert len(calls) == 2
