"""clean.py and textsafe.py: HTML to text, terminal safety, links, ids, dates and skip rules."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.clean import (
    ELLIPSIS,
    SUMMARY_MAX_CHARS,
    TITLE_MAX_CHARS,
    _checked_link,
    clean_entry,
    clean_feed_title,
    entry_id,
    html_to_text,
    safe_link,
)
from monitor.models import RawEntry
from monitor.textsafe import one_line, strip_controls
from tests.conftest import SHARED_DIR

NOW = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
FEED = "https://news.example/feed.xml"


def raw(**changes: object) -> RawEntry:
    values: dict[str, object] = {
        "guid": "g-1",
        "link": "https://news.example/a",
        "title": "Title",
        "summary": "Summary",
        "published": datetime(2026, 2, 17, 10, 0, tzinfo=UTC),
    }
    values.update(changes)
    return RawEntry(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- textsafe


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("a\x1b[31mred\x1b[0m b", "ared b"),
        ("x\x1b]52;c;ZXZpbA==\x07y", "xy"),  # OSC 52 clipboard write, BEL-terminated
        ("x\x1b]52;c;ZXZpbA==\x1b\\y", "xy"),  # ... ST-terminated
        ("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink
        ("a\x9b31mb", "ab"),  # 8-bit CSI
        ("a\x9d8;;u\x9cb", "ab"),  # 8-bit OSC
        ("a\x90qpayload\x9cb", "ab"),  # DCS
        ("a\x85b\x9fc", "abc"),  # other C1
        ("\x1b]unterminated", "unterminated"),
        ("a\x1b", "a"),
        ("nul\x00del\x7fbell\x07", "nuldelbell"),
        ("keep\ttab\nnewline\rcr", "keep\ttab\nnewlinecr"),
        ("\u202eevil\u202c \u2066iso\u2069 \u200e\u200f\u061c", "evil iso "),
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff", "zerowidth"),
        ("tag\U000e0041\U000e0042s", "tags"),
        ("line\u2028sep", "line\nsep"),
    ],
)
def test_strip_controls(text: str, expected: str) -> None:
    assert strip_controls(text) == expected


def test_strip_controls_returns_clean_text_unchanged() -> None:
    text = "Ukraine talks in Geneva — «quoted» 日本語 emoji 🚀"
    assert strip_controls(text) is text


def test_strip_controls_is_linear_on_hostile_input() -> None:
    for text in ("\x9d" * 200_000, "\x1b]" * 100_000, "\x9b" + "0" * 200_000, "\x1b[" * 100_000):
        start = time.perf_counter()
        assert "\x1b" not in strip_controls(text)
        assert time.perf_counter() - start < 0.5


def test_one_line() -> None:
    assert one_line("  a\n\tb\u00a0 c\u2028d\x1b[1m ") == "a b c d"


# --------------------------------------------------------------------------- html_to_text


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("&amp;lt;", "&lt;"),  # decoded exactly once
        ("AT&amp;T &#8217;s &#x2019; &nbsp;x", "AT&T ’s ’ x"),
        ("a &notes b & c", "a &notes b & c"),  # references need their ';'
        ("<p>Hello</p><p>world</p>", "Hello world"),
        ("<b>bold</b>text", "boldtext"),
        ("a<br>b<br/>c", "a b c"),
        ("<script>alert(1)</script>Hi<style>p{}</style>", "Hi"),
        ("<SCRIPT type='x'>alert(1)</SCRIPT>Hi", "Hi"),
        ("x<!-- hidden -->y", "xy"),
        ("<a href=\"x>y\" title='a>b'>link</a>", "link"),
        ("<img src=x onerror=alert(1)>Breaking", "Breaking"),
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
        (
            "[bold]x[/bold] [link=file:///etc/passwd]y[/link] [/",
            "[bold]x[/bold] [link=file:///etc/passwd]y[/link] [/",
        ),
        ("  lots \n\n of\t\twhite   space ", "lots of white space"),
        ("&#27;[31mred &#x9b;x", "[31mred ›x"),  # HTML maps C1 references to cp1252
        ("unterminated <a href='x", "unterminated"),
        ("<![CDATA[inside]]> cdata", "inside cdata"),
        ("<p>a</p><ScRiPt src=x>b()</sCrIpT><TEMPLATE>c</TEMPLATE>d", "a d"),
        ("<p>kept</p> <b>x</b> <img src='cut", "kept x"),  # dangling only at the end
        ("a <b>b</b> c < d", "a b c < d"),
        ("bell\x07 and\rreturn\fform\vtab", "bell and return form tab"),
        ("", ""),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


def test_html_to_text_none() -> None:
    assert html_to_text(None) == ""


def test_html_to_text_multiline_keeps_blocks() -> None:
    html = "<p>First  para</p>\n\n<p>Second <b>para</b></p><ul><li>one</li><li>two</li></ul>"
    assert html_to_text(html, multiline=True) == "First para\nSecond para\none\ntwo"


def test_html_to_text_limit_adds_ellipsis() -> None:
    text = html_to_text("word " * 100, limit=20)
    assert len(text) <= 20 and text.endswith(ELLIPSIS)
    assert html_to_text("short", limit=20) == "short"


HOSTILE_MARKUP = {
    "unclosed-tags": "<a" * 100_000,
    "unclosed-quotes": '<p "' * 50_000,
    "unclosed-script": "<script" * 30_000,
    "unclosed-comments": "<!--" * 50_000,
    "entities": "&amp;" * 50_000,
    "dangling-attributes": '<a<a href="' * 20_000,
    "quoted-tags": '<p "<a" ' * 25_000,
}


@pytest.mark.parametrize("hostile", HOSTILE_MARKUP.values(), ids=HOSTILE_MARKUP.keys())
def test_html_to_text_has_no_quadratic_case(hostile: str) -> None:
    start = time.perf_counter()
    html_to_text(hostile, limit=SUMMARY_MAX_CHARS, multiline=True)
    html_to_text(hostile, limit=TITLE_MAX_CHARS)
    assert time.perf_counter() - start < 1.0


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://news.example/a?b=1#c", None, "https://news.example/a?b=1#c"),
        ("HTTPS://News.EXAMPLE/A", None, "https://news.example/A"),
        ("/world/x", FEED, "https://news.example/world/x"),
        ("story.html", FEED, "https://news.example/story.html"),
        ("//cdn.example/x", FEED, "https://cdn.example/x"),
        ("/world/x", None, None),  # relative with nothing to resolve against
        ("/world/x", "file:///etc/", None),  # an unsafe base is no base
        ("javascript:alert(1)", FEED, None),
        (" JaVaScRiPt:alert(1)", FEED, None),
        ("java\tscript:alert(1)", FEED, None),
        ("data:text/html;base64,PHNjcmlwdD4=", FEED, None),
        ("file:///etc/passwd", FEED, None),
        ("ftp://files.example/x", FEED, None),
        ("mailto:a@b.example", FEED, None),
        ("http://user:pass@news.example:8080/x", None, "http://news.example:8080/x"),
        ("http://[::1]:8080/x", None, "http://[::1]:8080/x"),
        ("http://news.example:99999/", None, None),
        ("http:news.example", None, None),
        ("https://news.example/\x1b]8;;https://evil\x07a", None, "https://news.example/a"),
        ("https://news.example/\u202eexe.txt", None, "https://news.example/exe.txt"),
        ("  https://news.example/a b  ", None, "https://news.example/a%20b"),
        ("", FEED, None),
        (None, FEED, None),
        ("https://news.example/" + "a" * 5000, None, None),
    ],
)
def test_safe_link(url: str | None, base: str | None, expected: str | None) -> None:
    assert safe_link(url, base) == expected


def _links_to_compare() -> list[str]:
    links = [
        "https://news.example/a",
        "http://news.example",
        "http://news.example:8080/x?y=1#z",
        "http://news.example:0/",
        "https://news.example/a\\b[c]{d}|e^f`g~",
        "https://news.example/@user",
        "https://news.example#frag",
        "https://news.example?q",
        "https://news-1.example.co.uk/2026/11/25/story-3-10000",
        "https://news.example:/x",
        "https://NEWS.example/x",
        "https://news.example/a b",
        "https://news.example/a\tb",
        "https://news.example/caf\u00e9",
        "https://xn--caf-dma.example/x",
        "https://user@news.example/x",
        "https://news.example:65536/x",
        "https://news.example:99999/x",
        "https://[::1]/x",
        "https:/news.example/x",
        "https://news..example/x",
        "https://-news.example/x",
        "https://news.example/\x7f",
    ]
    realfeeds = SHARED_DIR / "realfeeds"
    if realfeeds.is_dir():  # thousands of real links, when the shared corpus is there
        links += re.findall(
            r"https?://[^\s<>\"']+",
            " ".join(p.read_text(errors="replace") for p in realfeeds.iterdir() if p.is_file()),
        )
    return links


def test_the_plain_link_shortcut_agrees_with_the_full_check() -> None:
    for link in _links_to_compare():
        for base in (None, FEED):
            assert safe_link(link, base) == _checked_link(link, base), link


# --------------------------------------------------------------------------- ids


def test_entry_id_prefers_guid_then_link_then_title_and_date() -> None:
    when = datetime(2026, 2, 17, 10, 0, tzinfo=UTC)
    by_guid = entry_id(FEED, "g-1", "https://news.example/a", "T", when)
    assert by_guid[1] == "g-1"
    assert entry_id(FEED, "g-1", "https://other.example/", "Other", None)[0] == by_guid[0]
    by_link = entry_id(FEED, None, "https://news.example/a", "T", when)
    assert by_link[1] == "https://news.example/a"
    assert entry_id(FEED, "  ", "https://news.example/a", "T", when) == by_link
    by_title = entry_id(FEED, None, None, "T", when)
    assert by_title[1] == "T\n2026-02-17T10:00:00+00:00"
    assert len({by_guid[0], by_link[0], by_title[0]}) == 3
    assert all(len(x[0]) == 40 for x in (by_guid, by_link, by_title))


def test_entry_id_is_stable_and_scoped_to_the_feed() -> None:
    first = entry_id(FEED, "g-1", None, "T", None)
    assert entry_id(FEED, "g-1", None, "Changed title", None) == first
    assert entry_id("https://other.example/feed", "g-1", None, "T", None)[0] != first[0]
    # Pinned: a change here re-keys every stored item (duplicates on the next poll).
    assert first[0] == "2431f7701bca685f056150572946209209669b60"  # sha1("<feed url>\ng-1")
    when = datetime(2026, 2, 17, 10, 0, tzinfo=UTC)
    assert entry_id(FEED, None, None, "T", when)[0] == "85a00f0ea4a545f930c5084c0943ae3c52e481ae"


def test_entry_id_same_instant_in_any_timezone() -> None:
    utc = datetime(2026, 2, 17, 10, 0, tzinfo=UTC)
    kyiv = utc.astimezone(timezone(timedelta(hours=2)))
    assert entry_id(FEED, None, None, "T", utc) == entry_id(FEED, None, None, "T", kyiv)


def test_entry_id_ignores_controls_and_whitespace_around_guid() -> None:
    assert entry_id(FEED, " g-1\u200b\n", None, "T", None) == entry_id(FEED, "g-1", None, "T", None)


# --------------------------------------------------------------------------- clean_entry


def test_clean_entry_basic() -> None:
    entry = clean_entry(
        raw(title="Talks &amp; <b>aid</b>", summary="<p>One</p><p>Two</p>", author="  Jane  "),
        feed_url=FEED,
        now=NOW,
    )
    assert entry is not None
    assert entry.title == "Talks & aid"
    assert entry.summary == "One\nTwo"
    assert entry.link == "https://news.example/a"
    assert entry.guid == "g-1"
    assert entry.id == entry_id(FEED, "g-1", "https://news.example/a", "Talks & aid", None)[0]
    assert entry.published == datetime(2026, 2, 17, 10, 0, tzinfo=UTC)
    assert not entry.date_estimated
    assert entry.author == "Jane"


def test_clean_entry_skips_entries_with_nothing_to_show() -> None:
    assert clean_entry(raw(title=None, summary=None, link=None), feed_url=FEED, now=NOW) is None
    assert clean_entry(raw(title=" <b> </b> ", summary="<p></p>", link=None), feed_url=FEED, now=NOW) is None
    # A link that cleaning rejects does not count as a link.
    assert clean_entry(raw(title=None, summary=None, link="javascript:x()"), feed_url=FEED, now=NOW) is None


def test_clean_entry_untitled_uses_summary_then_link() -> None:
    from_summary = clean_entry(raw(title=None, summary="<p>Only a summary</p>"), feed_url=FEED, now=NOW)
    assert from_summary is not None and from_summary.title == "Only a summary"
    from_link = clean_entry(raw(title=None, summary=None), feed_url=FEED, now=NOW)
    assert from_link is not None and from_link.title == "https://news.example/a"


def test_clean_entry_resolves_relative_links_against_the_feed() -> None:
    entry = clean_entry(raw(link="/world/1"), feed_url=FEED, now=NOW)
    assert entry is not None and entry.link == "https://news.example/world/1"


@pytest.mark.parametrize(
    ("published", "expected", "estimated"),
    [
        (None, NOW, True),
        (datetime(1970, 1, 1, tzinfo=UTC), NOW, True),  # epoch placeholder
        (datetime(1989, 12, 31, tzinfo=UTC), NOW, True),
        (datetime(1990, 1, 2, tzinfo=UTC), datetime(1990, 1, 2, tzinfo=UTC), False),
        (NOW + timedelta(hours=23), NOW + timedelta(hours=23), False),  # timezone slop is fine
        (NOW + timedelta(days=2), NOW, True),  # far future: clamped
        (datetime(2099, 1, 1, tzinfo=UTC), NOW, True),
        (
            datetime(2026, 2, 17, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            datetime(2026, 2, 17, 6, 30, tzinfo=UTC),
            False,
        ),
        (datetime(2026, 2, 17, 12, 0), datetime(2026, 2, 17, 12, 0, tzinfo=UTC), False),  # noqa: DTZ001
    ],
)
def test_clean_entry_dates(published: datetime | None, expected: datetime, estimated: bool) -> None:
    entry = clean_entry(raw(published=published), feed_url=FEED, now=NOW)
    assert entry is not None
    assert entry.published == expected
    assert entry.published.utcoffset() == timedelta(0)
    assert entry.date_estimated is estimated


def test_clean_entry_id_does_not_use_the_estimated_date() -> None:
    undated = raw(guid=None, link=None, published=None)
    first = clean_entry(undated, feed_url=FEED, now=NOW)
    later = clean_entry(undated, feed_url=FEED, now=NOW + timedelta(hours=5))
    assert first is not None and later is not None
    assert first.id == later.id
    assert first.published != later.published


def test_clean_entry_caps_lengths() -> None:
    entry = clean_entry(raw(title="t" * 5000, summary="s " * 20_000), feed_url=FEED, now=NOW)
    assert entry is not None
    assert len(entry.title) == TITLE_MAX_CHARS and entry.title.endswith(ELLIPSIS)
    assert len(entry.summary) <= SUMMARY_MAX_CHARS and entry.summary.endswith(ELLIPSIS)


def test_clean_feed_title() -> None:
    assert clean_feed_title("Sample Wire &amp;amp; Co\x1b[2J") == "Sample Wire &amp; Co"
    assert clean_feed_title(None) == ""
    assert clean_feed_title("  News\n\t<b>Desk</b> ") == "News Desk"


def test_block_tags_are_found_whatever_order_they_are_tried_in() -> None:
    # `_BLOCK` tries the common tags first; an alphabetical alternation must find exactly the same.
    import random
    import re

    from monitor import clean

    names = clean._BLOCK_TAGS.split("|")
    alphabetical = re.compile(clean._BLOCK.pattern.replace(clean._BLOCK_TAGS, "|".join(sorted(names))), re.I)
    words = ["p", "pre", "pa", "br", "brx", "div", "dl", "dd", "h1", "h7", "hr", "header", "a", "span",
             "li", "link", "table", "tbody", "th", "thead", "tr", "td", "ul", "ol", "main", "nav", "em"]  # fmt: skip
    rng = random.Random(5)
    for _ in range(3000):
        parts = []
        for _ in range(rng.randint(1, 6)):
            name = "".join(c.upper() if rng.random() < 0.3 else c for c in rng.choice(words))
            attrs = rng.choice(["", " class='x'", ' title="a>b"', " id=1", "/"])
            parts.append(f"<{rng.choice(['', '/'])}{name}{attrs}>{rng.choice(['text', '', ' ', '<'])}")
        html = "".join(parts)
        assert clean._BLOCK.sub("\n", html) == alphabetical.sub("\n", html), html


@pytest.mark.parametrize(
    "text",
    [
        "<SCRIPT>x</SCRIPT>",
        "<ſcript>x</ſcript>",
        "<scrİpt>x",
        "<scriptİ>",
        "<Style>",
        "<templatE>",
        "<\u212aey>",
        "< script>",
        "<scrip t>",
        "a<STYLEx",
        "plain <b>bold</b>",
    ],
)
def test_hidden_content_is_looked_for_as_in_the_lowercase_text(text: str) -> None:
    from monitor import clean

    lowered = text.lower()
    expected = "<script" in lowered or "<style" in lowered or "<template" in lowered
    assert bool(clean._HIDDEN_OPENER.search(text)) == expected
