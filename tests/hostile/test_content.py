"""Hostile feed content from the issue, parse and clean level: one named test per case, on both parser paths."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.clean import TITLE_MAX_CHARS, clean_entry, safe_link
from monitor.models import CleanEntry, ParsedFeed, RawEntry
from monitor.parse import ParseError, parse_feed, parse_with_feedparser

NOW = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
FEED_URL = "https://hostile.example/feed.xml"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")

Reader = Callable[..., ParsedFeed]


@pytest.fixture(params=["fast", "fallback"])
def read(request: pytest.FixtureRequest) -> Reader:
    """parse_feed (lxml first) and the feedparser fallback path: hostile input must be safe on both."""
    return parse_feed if request.param == "fast" else parse_with_feedparser


def rss(items: str, *, encoding: str = "utf-8", declare: str | None = "utf-8", head: str = "") -> bytes:
    decl = f'<?xml version="1.0" encoding="{declare}"?>\n' if declare else ""
    text = f'{decl}{head}<rss version="2.0"><channel><title>Hostile</title>{items}</channel></rss>'
    return text.encode(encoding)


def item(title: str = "t", *, guid: str | None = None, extra: str = "") -> str:
    guid_xml = f"<guid>{guid}</guid>" if guid is not None else ""
    return f"<item><title>{title}</title>{guid_xml}{extra}</item>"


def clean_all(parsed: ParsedFeed) -> list[CleanEntry]:
    cleaned = (clean_entry(e, feed_url=FEED_URL, now=NOW) for e in parsed.entries)
    return [c for c in cleaned if c is not None]


def text_fields(entry: CleanEntry) -> list[str]:
    return [entry.id, entry.guid, entry.link or "", entry.title, entry.summary, entry.author or ""]


def assert_terminal_safe(entries: list[CleanEntry]) -> None:
    for entry in entries:
        for value in text_fields(entry):
            assert not UNSAFE.search(value), repr(value)


# --------------------------------------------------------------------------- malformed XML


def test_malformed_xml_is_salvaged_and_flagged() -> None:
    body = rss(
        item("Kept one", guid="k1", extra="<description>bold <b>never closed</description>")
        + item("Kept two", guid="k2")
    )
    parsed = parse_feed(body)
    assert parsed.parser == "feedparser"
    assert parsed.malformed and parsed.malformed_reason
    assert [e.title for e in clean_all(parsed)] == ["Kept one", "Kept two"]


# --------------------------------------------------------------------------- charsets


def test_cp1251_declared_and_sent(read: Reader) -> None:
    body = rss(item("Переговоры в Женеве", guid="ru"), encoding="cp1251", declare="windows-1251")
    (entry,) = clean_all(read(body))
    assert entry.title == "Переговоры в Женеве"


def test_iso_8859_7_declared_and_sent(read: Reader) -> None:
    body = rss(item("Συνομιλίες στη Γενεύη", guid="el"), encoding="iso-8859-7", declare="iso-8859-7")
    (entry,) = clean_all(read(body))
    assert entry.title == "Συνομιλίες στη Γενεύη"


@pytest.mark.parametrize("pad", ["", " "])  # odd and even byte counts: UTF-16 "decodes" even-length junk
def test_utf16_declared_but_utf8_sent(read: Reader, pad: str) -> None:
    body = rss(item(f"Київ — Kyiv{pad}", guid="uk"), declare="utf-16")
    parsed = read(body)
    (entry,) = clean_all(parsed)
    assert entry.title == "Київ — Kyiv"
    if read is parse_feed:
        assert parsed.malformed and "utf-16" in (parsed.malformed_reason or "")


def test_missing_charset_with_latin1_bytes(read: Reader) -> None:
    body = rss(item("Últimas Notícias", guid="pt"), encoding="latin-1", declare=None)
    (entry,) = clean_all(read(body))
    assert entry.title == "Últimas Notícias"


def test_wrong_http_charset_on_utf8_bytes(read: Reader) -> None:
    body = rss(item("Zürich – Genève", guid="ch"), declare=None)
    (entry,) = clean_all(read(body, content_type="text/xml; charset=ISO-8859-1"))
    assert entry.title == "Zürich – Genève"


# --------------------------------------------------------------------------- control bytes


def test_nul_and_xml_illegal_control_bytes(read: Reader) -> None:
    body = rss(
        item("nul\x00 bell\x07 esc\x1b[31m form\x0c ref&#0;&#x1b;&#27;", guid="c\x00tl")
        + item("second", guid="c2", extra="<description>a\x01b\x08c</description>")
    )
    parsed = read(body)
    entries = clean_all(parsed)
    assert [e.title for e in entries] == ["nul bell esc[31m form ref", "second"]
    assert entries[0].guid == "ctl"
    assert entries[1].summary == "abc"
    assert_terminal_safe(entries)
    if read is parse_feed:
        assert parsed.parser == "lxml"  # illegal bytes are dropped, not a reason to fall back


# --------------------------------------------------------------------------- entities


def billion_laughs() -> str:
    lines = ['<!ENTITY lol "lol">']
    for i in range(1, 10):
        previous = "lol" if i == 1 else f"lol{i - 1}"
        lines.append(f'<!ENTITY lol{i} "{f"&{previous};" * 10}">')
    return "<!DOCTYPE rss [\n" + "\n".join(lines) + "\n]>\n"


def test_billion_laughs_never_expanded(read: Reader) -> None:
    body = rss(item("boom &lol9; end", guid="b"), head=billion_laughs())
    start = time.perf_counter()
    entries = clean_all(read(body))
    assert time.perf_counter() - start < 1.0
    (entry,) = entries
    assert "lollol" not in entry.title
    assert len(entry.title) < 40


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        '<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file://{secret}">\n]>\n',
        '<!DOCTYPE rss [<!ENTITY % ext SYSTEM "file://{secret}"> %ext; <!ENTITY xxe "x">]>',
        '<!DOCTYPE rss SYSTEM "file://{secret}">',
    ],
)
def test_external_entities_never_read_local_files(read: Reader, tmp_path: Path, doctype: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = rss(item("A &xxe; B", guid="x"), head=doctype.format(secret=secret))
    parsed = read(body)
    for entry in parsed.entries:
        assert "TOP-SECRET" not in repr(entry)
    assert "TOP-SECRET" not in repr(parsed)


def test_external_entities_never_fetched(read: Reader, httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/evil")
    head = (
        f'<!DOCTYPE rss SYSTEM "{url}.dtd" [<!ENTITY xxe SYSTEM "{url}/entity">'
        f'<!ENTITY % remote SYSTEM "{url}/param"> %remote;]>'
    )
    include = f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}/xinclude"/>'
    read(rss(item("A &xxe; B", guid="x", extra=include), head=head))
    assert httpserver.log == []


# --------------------------------------------------------------------------- size


def test_very_large_feed() -> None:
    count = 5_000
    items = "".join(
        item(
            f"Story {i} about talks",
            guid=f"https://big.example/{i}",
            extra="<description>" + "x " * 100 + "</description>",
        )
        for i in range(count)
    )
    body = rss(items)
    assert len(body) > 1_000_000
    start = time.perf_counter()
    parsed = parse_feed(body)
    entries = clean_all(parsed)
    elapsed = time.perf_counter() - start
    assert parsed.parser == "lxml"
    assert len(entries) == count
    assert len({e.id for e in entries}) == count
    assert elapsed < 5.0


def test_100k_character_title_is_truncated_fast(read: Reader) -> None:
    body = rss(item("A" * 50_000 + " <b>bold</b> " + "B" * 50_000, guid="long"))
    start = time.perf_counter()
    (entry,) = clean_all(read(body))
    assert time.perf_counter() - start < 1.0
    assert len(entry.title) == TITLE_MAX_CHARS
    assert entry.title.endswith("…")


# --------------------------------------------------------------------------- markup in text


def test_html_and_double_encoded_entities_in_titles(read: Reader) -> None:
    body = rss(
        item("AT&amp;amp;T &amp;lt;b&amp;gt; &amp;#8217; &amp;amp;lt;", guid="d1")
        + item("&lt;b&gt;Bold&lt;/b&gt; &amp;amp; &lt;i&gt;news&lt;/i&gt;", guid="d2")
        + item("<![CDATA[Caf&eacute; &amp; <em>bar</em>]]>", guid="d3")
    )
    titles = [e.title for e in clean_all(read(body))]
    # The XML layer decodes once, the HTML layer once more: never a third time.
    assert titles == ["AT&T <b> ’ &lt;", "Bold & news", "Café & bar"]


RICH_MARKUP = [
    "[bold]loud[/bold]",
    "[link=file:///etc/passwd]x[/link]",
    "[@click=app.quit]q[/]",
    "[/",
    "[0]",
    "[red on white]c[/] \\[escaped]",
]


def test_rich_markup_kept_literally(read: Reader) -> None:
    items = "".join(
        item(markup, guid=f"m{i}", extra=f"<description>{markup}</description><author>{markup}</author>")
        for i, markup in enumerate(RICH_MARKUP)
    )
    entries = clean_all(read(rss(items)))
    assert [e.title for e in entries] == RICH_MARKUP
    assert [e.summary for e in entries] == RICH_MARKUP


def test_html_injection_in_titles_comes_out_as_plain_text(read: Reader) -> None:
    body = rss(
        item(
            "&lt;script&gt;alert(1)&lt;/script&gt;Breaking &lt;img src=x onerror=alert(1)&gt;news", guid="h1"
        )
        + item('<![CDATA[<a href="javascript:alert(1)" onmouseover="alert(2)">Click</a> me]]>', guid="h2")
        + item("&amp;lt;script&amp;gt;shown&amp;lt;/script&amp;gt;", guid="h3")
        + item("<![CDATA[<style>body{}</style><iframe src=//evil></iframe>Styled]]>", guid="h4")
    )
    titles = [e.title for e in clean_all(read(body))]
    assert titles == ["Breaking news", "Click me", "<script>shown</script>", "Styled"]


# --------------------------------------------------------------------------- terminal escapes


def test_ansi_osc_and_c1_controls_in_every_field(read: Reader) -> None:
    esc = "&amp;#27;"  # double-encoded ESC: it only appears after the HTML layer decodes it
    body = rss(
        "<item>"
        f"<title>red{esc}[31m clip{esc}]52;c;ZXZpbA=={esc}\\ csi\u009b2J osc\u009d8;;https://evil\u009c end</title>"
        f"<description>sum{esc}[2J \u0085 \u009f</description>"
        f"<author>auth{esc}[5m\u009b</author>"
        "<guid>guid\u009d52;c;AAAA\u0007x</guid>"
        "<link>https://ok.example/a\u009d8;;https://evil.example\u009c</link>"
        "</item>"
    )
    entries = clean_all(read(body))
    assert_terminal_safe(entries)
    (entry,) = entries
    # What is left is inert text: ESC gone (an HTML-decoded &#27; is dropped), C1 bytes either
    # mapped to their cp1252 glyphs (as feedparser does: U+009B -> '›') or deleted.
    assert entry.title == "red[31m clip]52;c;ZXZpbA==\\ csi›2J osc8;;https://evilœ end"
    assert entry.link == "https://ok.example/a8;;https://evil.exampleœ"
    assert entry.guid == "guid52;c;AAAAx"


def test_escape_sequences_in_raw_entry_fields_are_removed() -> None:
    # Whatever a parser hands over (raw ESC cannot survive XML), cleaning makes it safe.
    raw = RawEntry(
        guid="g\x1b[1m",
        link="https://ok.example/\x1b]8;;https://evil.example\x07x\x1b]8;;\x07",
        title="\x1b[2J\x1b[Htitle\x1b]52;c;ZXZpbA==\x07 \x9b31mred\x9d0;title\x9c",
        summary="\x1bPdcs\x1b\\sum\x90x\x9c",
        published=None,
        author="\x1b]8;;file:///etc/passwd\x1b\\author\x1b]8;;\x1b\\",
    )
    entry = clean_entry(raw, feed_url=FEED_URL, now=NOW)
    assert entry is not None
    assert_terminal_safe([entry])
    assert entry.link == "https://ok.example/x"
    assert entry.title == "title red"
    assert entry.summary == "sum"
    assert entry.author == "author"


def test_bidi_overrides_and_zero_width_characters(read: Reader) -> None:
    body = rss(
        item("\u202eexe.fdp\u202c invoice \u2066iso\u2069 \u200e\u200fmark\u061c", guid="bi\u200bdi")
        + item(
            "zero\u200bwidth\u200c\u200d\u2060\ufeffjoin",
            guid="zw",
            extra="<link>https://ok.example/\u202ex</link>",
        )
    )
    entries = clean_all(read(body))
    assert [e.title for e in entries] == ["exe.fdp invoice iso mark", "zerowidthjoin"]
    assert entries[0].guid == "bidi"
    assert entries[1].link == "https://ok.example/x"
    assert_terminal_safe(entries)


# --------------------------------------------------------------------------- links


def test_unsafe_and_relative_links(read: Reader) -> None:
    links = {
        "js": ("javascript:alert(document.cookie)", None),
        "js-spaced": (" JaVa&#x09;Script:alert(1)", None),
        "data": ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", None),
        "file": ("file:///etc/passwd", None),
        "ftp": ("ftp://files.example/x", None),
        "relative": ("/world/story?id=1&amp;b=2", "https://hostile.example/world/story?id=1&b=2"),
        "protocol-relative": ("//cdn.example/x", "https://cdn.example/x"),
        "credentials": ("https://user:pw@ok.example/p", "https://ok.example/p"),
    }
    items = "".join(
        item(name, guid=name, extra=f"<link>{link}</link><description>s</description>")
        for name, (link, _) in links.items()
    )
    entries = {e.title: e for e in clean_all(read(rss(items)))}
    assert {name: entries[name].link for name in links} == {name: want for name, (_, want) in links.items()}


def test_unsafe_link_schemes_never_survive_safe_link() -> None:
    for url in ("javascript:x", "vbscript:x", "data:x", "file:///x", "about:blank", "blob:https://x/1"):
        assert safe_link(url, FEED_URL) is None


# --------------------------------------------------------------------------- dates


def test_missing_garbage_and_far_future_dates(read: Reader) -> None:
    dates = {
        "missing": "",
        "garbage": "<pubDate>not a date at all</pubDate>",
        "far-future": "<pubDate>Tue, 17 Feb 2099 10:00:00 GMT</pubDate>",
        "epoch": "<pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate>",
        "year-zero-ish": "<pubDate>0001-01-01T00:00:00Z</pubDate>",
        "good": "<pubDate>Tue, 17 Feb 2026 10:00:00 +0200</pubDate>",
    }
    items = "".join(item(name, guid=name, extra=extra) for name, extra in dates.items())
    entries = {e.title: e for e in clean_all(read(rss(items)))}
    for name in ("missing", "garbage", "far-future", "epoch", "year-zero-ish"):
        assert (entries[name].published, entries[name].date_estimated) == (NOW, True), name
    assert entries["good"].published == datetime(2026, 2, 17, 8, 0, tzinfo=UTC)
    assert not entries["good"].date_estimated


# --------------------------------------------------------------------------- identity


def test_duplicate_guids_in_one_feed_are_both_parsed(read: Reader) -> None:
    body = rss(item("First copy", guid="same") + item("Second copy", guid="same"))
    entries = clean_all(read(body))
    assert [e.title for e in entries] == ["First copy", "Second copy"]
    assert entries[0].id == entries[1].id  # the store keeps one row per id


def test_entries_without_guid_or_link_get_ids_from_title_and_date(read: Reader) -> None:
    body = rss(
        item("Same title", extra="<pubDate>Tue, 17 Feb 2026 10:00:00 GMT</pubDate>")
        + item("Same title", extra="<pubDate>Wed, 18 Feb 2026 10:00:00 GMT</pubDate>")
        + item("Other title", extra="<pubDate>Tue, 17 Feb 2026 10:00:00 GMT</pubDate>")
        + item("Undated")
    )
    first = clean_all(read(body))
    again = clean_all(parse_feed(body))
    assert len({e.id for e in first}) == 4
    assert [e.id for e in first] == [e.id for e in again]
    assert first[0].guid == "Same title\n2026-02-17T10:00:00+00:00"
    assert first[3].guid == "Undated\n"


PATHOLOGICAL = {
    "nested-items": b"<item><title>t</title>" * 250 + b"</item>" * 250,
    "bare-ampersands": b"<item><title>" + b"& " * 200_000 + b"</title></item>",
    "html-entities": b"<item><title>" + b"&nbsp;" * 100_000 + b"</title></item>",
    "xml-base-everywhere": b"".join(
        b'<item xml:base="https://b%d.example/"><link>x</link><guid>g%d</guid></item>' % (i, i)
        for i in range(5_000)
    ),
    "media-nesting": b"<item>"
    + b"<media:group>" * 200
    + b"<media:title>m</media:title>"
    + b"</media:group>" * 200
    + b"</item>",
    "many-children": b"<item>" + b"<title></title><description></description>" * 20_000 + b"</item>",
}


@pytest.mark.parametrize("body", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_structures_stay_fast(body: bytes) -> None:
    # The worker pool's parse timeout is the backstop; nothing here may be quadratic.
    doc = (
        b'<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>x</title>'
        + body
        + b"</channel></rss>"
    )
    start = time.perf_counter()
    parsed = parse_feed(doc)
    clean_all(parsed)
    assert time.perf_counter() - start < 3.0
    assert parsed.entries


def test_unterminated_doctype_flood_is_rejected_fast() -> None:
    start = time.perf_counter()
    with pytest.raises(ParseError):
        parse_feed(b"<!DOCTYPE rss [" + b"<!--" * 200_000 + b'<rss version="2.0"><channel/></rss>')
    assert time.perf_counter() - start < 1.0
