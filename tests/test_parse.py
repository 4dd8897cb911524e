"""parse_feed: formats, fallback and repair paths, errors, and id parity with feedparser on real feeds."""

from __future__ import annotations

import io
import pickle
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from monitor import parse as parse_module
from monitor.clean import clean_entry, html_to_text
from monitor.models import ParsedFeed, RawEntry
from monitor.parse import ParseError, parse_date, parse_feed, parse_with_feedparser
from tests.conftest import fresh_python

FEEDS = Path(__file__).parent / "data" / "feeds"
NOW = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
FEED_URL = "https://news.example/feed.xml"


def sample(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def fields(entry: RawEntry) -> tuple[object, ...]:
    """What must agree between the two parsers.

    Summaries are compared as text: feedparser re-serialises stray markup (<br/> as <br></br>).
    Author formats legitimately differ ("News Desk" vs "desk@x (News Desk)").
    """
    return (entry.guid, entry.link, entry.title, html_to_text(entry.summary, multiline=True), entry.published)


def ids_and_titles(parsed: ParsedFeed, feed_url: str = FEED_URL) -> list[tuple[str, str]]:
    cleaned = (clean_entry(e, feed_url=feed_url, now=NOW) for e in parsed.entries)
    return [(c.id, c.title) for c in cleaned if c is not None]


def rss(items: str, *, namespaces: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"{namespaces}><channel><title>T</title>'
        f"{items}</channel></rss>"
    ).encode()


# --------------------------------------------------------------------------- formats


def test_rss20_sample_fields() -> None:
    parsed = parse_feed(sample("rss20.xml"))
    assert parsed.parser == "lxml"
    assert not parsed.malformed
    assert parsed.title == "Sample Wire &amp; Co"
    first, second, third, fourth, fifth, sixth = parsed.entries
    assert first == RawEntry(
        guid="https://news.example/world/talks-resume",
        link="https://news.example/world/talks-resume",
        title="Talks resume in Geneva",
        summary="<p>Delegations met on <b>Tuesday</b>.</p><p>More talks are due.</p>",
        published=datetime(2026, 2, 17, 10, 0, tzinfo=UTC),
        author="Jane Reporter",
    )
    assert second.guid == "item-0002"
    assert second.link == "/world/ceasefire-holds?id=7&src=rss"
    assert second.title == "Ceasefire <b>holds</b> &amp; aid arrives"
    assert second.summary == "Short summary"  # description wins over content:encoded
    assert second.published == datetime(2026, 2, 17, 11, 30, tzinfo=UTC)
    assert second.author == "News Desk"
    # A permalink guid doubles as the link when there is no <link>.
    assert third.link == third.guid == "https://news.example/world/permalink-only"
    assert (fourth.guid, fourth.link) == (None, None)
    assert fifth.title is None and fifth.summary == "A summary without a title."
    assert sixth == RawEntry(guid=None, link=None, title=None, summary=None, published=None)


def test_atom_sample_fields() -> None:
    parsed = parse_feed(sample("atom.xml"))
    assert parsed.parser == "lxml"
    # type="text" is escaped so html_to_text later shows it literally.
    assert parsed.title == "Atom &lt;Sample&gt;"
    first, second, third = parsed.entries
    assert first.guid == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    assert first.link == "https://atom.example/blog/posts/first"  # xml:base applied, enclosure ignored
    assert first.title == "Plain text with a &lt;tag&gt; &amp; an ampersand"
    assert first.published == datetime(2026, 2, 17, 7, 0, tzinfo=UTC)  # published beats updated, in UTC
    assert first.author == "Ann Author (ann@atom.example)"
    assert first.summary == "<p>An <em>HTML</em> summary</p>"
    assert second.link == second.guid  # no alternate link: the id stands in, as in feedparser
    assert second.summary == "<p>XHTML <b>content</b> &amp;lt;kept&amp;gt;</p>"
    assert third.guid == "https://atom.example/blog/posts/third"
    assert third.link == "https://elsewhere.example/third"
    assert third.title == "XHTML <b>title</b>"
    assert third.summary == "<p>Body only, no summary</p>"  # content stands in for a missing summary
    cleaned = [clean_entry(e, feed_url=FEED_URL, now=NOW) for e in parsed.entries]
    assert [c.title for c in cleaned if c] == [
        "Plain text with a <tag> & an ampersand",
        "HTML title & italics",
        "XHTML title",
    ]


def test_rdf_sample_fields() -> None:
    parsed = parse_feed(sample("rdf.xml"))
    assert parsed.parser == "lxml"
    assert parsed.title == "RDF Sample"
    first, second = parsed.entries
    assert first.guid == "https://rdf.example/a"  # rdf:about
    assert first.published == datetime(2026, 2, 17, 10, 0, tzinfo=UTC)  # dc:date
    assert first.author == "Desk A"
    assert second.link == "https://rdf.example/b?x=1&y=2"
    assert second.published == datetime(2026, 2, 16, tzinfo=UTC)


def test_rss091_with_netscape_doctype_and_html_entities() -> None:
    body = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old &amp; gold</title>
<item><title>Caf&eacute; &nbsp;news &mdash; \xe9t\xe9</title><link>https://old.example/1</link></item>
</channel></rss>"""
    parsed = parse_feed(body)
    assert parsed.parser == "lxml"  # HTML entity names no longer force the slow path
    (entry,) = parsed.entries
    assert entry.title == "Caf\u00e9 \u00a0news \u2014 \u00e9t\u00e9"
    assert entry.link == "https://old.example/1"
    assert [fields(e) for e in parse_with_feedparser(body).entries] == [fields(entry)]


def test_rss090_items_beside_the_channel() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
  <channel><title>RSS 0.90</title><link>https://ninety.example/</link></channel>
  <item><title>Ninety one</title><link>https://ninety.example/1</link></item>
  <item><title>Ninety two</title><link>https://ninety.example/2</link></item>
</rdf:RDF>"""
    parsed = parse_feed(body)
    assert parsed.parser == "lxml"
    assert parsed.title == "RSS 0.90"
    assert [(e.title, e.link) for e in parsed.entries] == [
        ("Ninety one", "https://ninety.example/1"),
        ("Ninety two", "https://ninety.example/2"),
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in FEEDS.glob("*.xml")))
def test_samples_agree_between_parsers(name: str) -> None:
    fast = parse_feed(sample(name))
    fallback = parse_with_feedparser(sample(name))
    if fast.parser == "lxml-repair":
        assert fallback.entries == []  # repair runs only where feedparser found nothing
        return
    assert [fields(e) for e in fast.entries] == [fields(e) for e in fallback.entries]
    assert ids_and_titles(fast) == ids_and_titles(fallback)


# Constructs where feedparser has a particular reading; the fast path must match it field by field.
PARITY_CASES = {
    "guid-after-link": "<item><link>https://a.example/1</link><guid>https://a.example/g</guid></item>",
    "guid-before-link": "<item><guid>https://a.example/g</guid><link>https://a.example/1</link></item>",
    "guid-not-permalink": '<item><guid isPermaLink="false">x-1</guid><title>t</title></item>',
    "two-links-last-wins": "<item><link>https://a.example/1</link><link>https://a.example/2</link></item>",
    "empty-link-then-guid": "<item><link></link><guid>https://a.example/g</guid></item>",
    "double-escaped-link": "<item><link>https://a.example/?a=1&amp;amp;b=2&amp;c;d</link></item>",
    "slashes-after-scheme": "<item><link>http:////a.example/x</link><title>t</title></item>",
    "first-nonempty-title": "<item><title></title><title>Second</title><title>Third</title></item>",
    "media-title-fallback": "<item><media:title>Media</media:title><guid>g</guid></item>",
    "media-description": "<item><media:content><media:description>MD</media:description>"
    "</media:content><description>D</description></item>",
    "dc-title": "<item><dc:title>DC title</dc:title></item>",
    "cdata-html": "<item><title><![CDATA[<b>Bold</b> &amp; x]]></title></item>",
    "unescaped-html-child": "<item><description>Hi <b>there</b> &amp;amp; <i>you</i> tail</description></item>",
    "c1-controls": "<item><title>price \u0080 5 \u009b quote \u0093x\u0094</title></item>",
    "mojibake": "<item><title>caf\u00c3\u00a9</title></item>",
    "dates-rfc822-names": "<item><title>t</title><pubDate>Tue, 17 Feb 2026 10:00:00 EST</pubDate></item>",
    "dates-iso-nocolon": "<item><title>t</title><pubDate>2026-02-17T17:36:36-0500</pubDate></item>",
    "dates-garbage-then-dc": "<item><title>t</title><pubDate>yesterday</pubDate>"
    "<dc:date>2026-02-01T00:00:00Z</dc:date></item>",
    "dates-two-digit-year": "<item><title>t</title><pubDate>Tue, 17 Feb 26 10:00:00 GMT</pubDate></item>",
    "atom-link-in-rss": '<item><atom:link rel="alternate" href="https://a.example/alt"/>'
    "<guid>https://a.example/g</guid></item>",
    "xml-base": '<item xml:base="https://base.example/dir/"><link>rel/x</link><guid>g/1</guid></item>',
    "whitespace": "<item><title>\n  spaced  \n</title><guid>  g  </guid></item>",
    "html-entity-names": "<item><title>caf&eacute; &nbsp;&mdash; x</title></item>",
    "uppercase-tags": "<item><Title>Upper</Title><PubDate>Tue, 17 Feb 2026 10:00:00 GMT</PubDate></item>",
    "author-forms": "<item><title>t</title><dc:creator>Creator</dc:creator></item>",
}
NAMESPACES = (
    ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/"'
    ' xmlns:atom="http://www.w3.org/2005/Atom"'
)


@pytest.mark.parametrize("case", sorted(PARITY_CASES))
def test_fast_path_reads_like_feedparser(case: str) -> None:
    body = rss(PARITY_CASES[case], namespaces=NAMESPACES)
    fast = parse_feed(body)
    assert fast.parser == "lxml"
    fallback = parse_with_feedparser(body)
    assert [fields(e) for e in fast.entries] == [fields(e) for e in fallback.entries]
    alone = parse_with_feedparser(body, prepare=False)
    assert [fields(e) for e in fast.entries] == [fields(e) for e in alone.entries]


def test_atom_parity_cases() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
      <entry><id>urn:a</id><link href="https://a.example/pdf" type="application/pdf"/><title>pdf</title></entry>
      <entry><id>urn:b</id><link href="https://a.example/b"/><link rel="alternate" href="https://a.example/b2"/></entry>
      <entry><id>urn:c</id><title type="html">&lt;b&gt;x&lt;/b&gt;</title><summary>a &lt; b</summary></entry>
      <entry><title>no id</title><link rel="alternate" type="text/html" href="https://a.example/d"/></entry>
    </feed>"""
    fast = parse_feed(body)
    assert fast.parser == "lxml"
    fallback = parse_with_feedparser(body)
    assert [fields(e) for e in fast.entries] == [fields(e) for e in fallback.entries]


# Random mixtures of the constructs above (and more): feedparser's rules are stateful (title
# locking, summary demotion, xml:base leaking between items), so pairs and orders matter.
RSS_PARTS = [
    "<title>T {n}</title>",
    "<title></title>",
    "<title>  </title>",
    "<title><![CDATA[<b>B</b> &amp; {n}]]></title>",
    "<title>a &amp;amp; b &lt;i&gt;{n}&lt;/i&gt;</title>",
    "<title>caf\u00e9 \u0093q\u0094 {n}</title>",
    "<title>\u00c3\u00a9t{n}</title>",
    "<Title>Up{n}</Title>",
    "<dc:title>DT{n}</dc:title>",
    "<media:title>MT{n}</media:title>",
    "<link>https://x.example/{n}</link>",
    "<link></link>",
    "<link>/rel/{n}?a=1&amp;b=2</link>",
    "<link> https://x.example/sp{n} </link>",
    "<link><![CDATA[https://x.example/cdl{n}?a&b]]></link>",
    '<link href="https://h.example/{n}"/>',
    "<guid>g{n}</guid>",
    '<guid isPermaLink="false">np{n}</guid>',
    "<guid>https://x.example/g{n}</guid>",
    '<guid isPermaLink="true">  </guid>',
    "<guid><![CDATA[https://x.example/cd{n}?a=1&b=2]]></guid>",
    '<atom:link rel="alternate" href="https://alt.example/{n}"/>',
    '<atom:link rel="self" href="https://self.example/{n}"/>',
    '<atom:link href="https://alt.example/t{n}" type="application/pdf"/>',
    "<atom:id>urn:a:{n}</atom:id>",
    "<description>d {n} <![CDATA[<p>x</p>]]></description>",
    "<description>&lt;p&gt;para {n}&lt;/p&gt;</description>",
    "<description>x &nbsp; &eacute; {n}</description>",
    "<description></description>",
    "<dc:description>DD{n}</dc:description>",
    "<summary>S{n}</summary>",
    "<itunes:summary>IS{n}</itunes:summary>",
    "<atom:summary>AS{n}</atom:summary>",
    "<content:encoded><![CDATA[<div>c{n}</div>]]></content:encoded>",
    "<content:encoded></content:encoded>",
    '<atom:content type="html">&lt;b&gt;AC{n}&lt;/b&gt;</atom:content>',
    '<media:content url="u"><media:description>MD{n}</media:description></media:content>',
    '<media:group><media:title>G{n}</media:title><media:content url="u"><media:title>GC{n}</media:title>'
    "<media:description>GD{n}</media:description></media:content></media:group>",
    "<pubDate>Tue, 17 Feb 2026 10:0{m}:00 GMT</pubDate>",
    "<pubDate>garbage {n}</pubDate>",
    "<pubDate></pubDate>",
    "<pubDate>2026-02-17</pubDate>",
    "<dc:date>2026-02-1{m}T00:00:00Z</dc:date>",
    "<dc:date>garbage</dc:date>",
    '<source url="https://s.example/">Src {n}</source>',
    "<image><title>IT{n}</title><link>https://img.example/</link></image>",
    '<enclosure url="https://e.example/{n}.mp3" type="audio/mpeg"/>',
    "<comments>https://c.example/{n}</comments>",
    "<dc:creator>C{n}</dc:creator>",
]
RSS_NAMESPACES = (
    NAMESPACES + ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
)
ATOM_PARTS = [
    "<title>T{n}</title>",
    '<title type="html">&lt;b&gt;H{n}&lt;/b&gt; &amp;amp;</title>',
    '<title type="text">a &lt;b&gt; {n}</title>',
    '<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">X <b>{n}</b></div></title>',
    "<title></title>",
    "<id>urn:x:{n}</id>",
    "<id>rel/{n}</id>",
    "<id></id>",
    '<link href="https://l.example/{n}"/>',
    '<link rel="alternate" type="text/html" href="rel/{n}"/>',
    '<link rel="self" href="https://s.example/{n}"/>',
    '<link rel="alternate" type="application/pdf" href="https://p.example/{n}"/>',
    '<link href=""/>',
    '<link xml:base="https://lb.example/x/" href="y{n}"/>',
    "<summary>S{n}</summary>",
    '<summary type="html">&lt;p&gt;SH{n}&lt;/p&gt;</summary>',
    "<summary></summary>",
    '<content type="html">&lt;p&gt;C{n}&lt;/p&gt;</content>',
    '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>CX{n}</p></div></content>',
    '<content type="image/png" src="https://i.example/{n}.png"/>',
    "<content>plain {n} &amp; &lt;x&gt;</content>",
    "<published>2026-02-1{m}T10:00:00Z</published>",
    "<updated>2026-02-1{m}T11:00:00+02:00</updated>",
    "<published>bad</published>",
    '<source><title>SRC{n}</title><id>urn:src:{n}</id><link href="https://src.example/"/></source>',
    "<media:title>M{n}</media:title>",
]


def random_feed(rng: random.Random, atom: bool) -> bytes:
    parts = ATOM_PARTS if atom else RSS_PARTS
    entries = []
    for n in range(rng.randint(1, 4)):
        base = rng.choice(["", "", ' xml:base="https://eb.example/e/"', ' xml:base="sub/"'])
        body = "".join(rng.choice(parts).format(n=n, m=rng.randint(0, 9)) for _ in range(rng.randint(0, 7)))
        entries.append(f"<entry{base}>{body}</entry>" if atom else f"<item{base}>{body}</item>")
    if atom:
        feed_base = rng.choice(["", ' xml:base="https://fb.example/f/"'])
        return (
            f'<feed xmlns="http://www.w3.org/2005/Atom"{NAMESPACES}{feed_base}><title>F</title>'
            + "".join(entries)
            + "</feed>"
        ).encode()
    return rss("".join(entries), namespaces=RSS_NAMESPACES)


@pytest.mark.parametrize("atom", [False, True], ids=["rss", "atom"])
def test_random_feeds_read_the_same_by_both_parsers(atom: bool) -> None:
    rng = random.Random(20260218)
    for _ in range(250):
        body = random_feed(rng, atom)
        fast = parse_feed(body)
        assert fast.parser == "lxml"
        fallback = parse_with_feedparser(body)
        assert [fields(e) for e in fast.entries] == [fields(e) for e in fallback.entries], body.decode()


def test_xml_base_schemes_match_feedparser() -> None:
    assert frozenset(feedparser.urls.ACCEPTABLE_URI_SCHEMES) == parse_module._ACCEPTABLE_URI_SCHEMES


# --------------------------------------------------------------------------- fallback, repair, errors


def test_malformed_xml_falls_back_to_feedparser_and_is_flagged() -> None:
    parsed = parse_feed(sample("malformed.xml"))
    assert parsed.parser == "feedparser"
    assert parsed.malformed
    assert parsed.malformed_reason and "mismatched tag" in parsed.malformed_reason
    assert [e.title for e in parsed.entries] == ["First survives", "Second survives"]


def test_bare_ampersands_are_repaired_on_the_fast_path() -> None:
    parsed = parse_feed(sample("bare_ampersand.xml"))
    assert parsed.parser == "lxml"
    assert parsed.malformed and "&" in (parsed.malformed_reason or "")
    assert parsed.title == "R&D Weekly"
    (entry,) = parsed.entries
    assert entry.title == "Q&A: what next"  # feedparser alone would say "Q&A;: what next"
    assert entry.link == "https://amp.example/qa?id=1&ref=rss"
    assert entry.summary == "Fish & chips &amp; more"  # CDATA left exactly as written


def test_hand_rolled_xml_is_repaired_when_feedparser_finds_nothing() -> None:
    body = sample("repairable.xml")
    assert feedparser.parse(io.BytesIO(body)).entries == []
    parsed = parse_feed(body)
    assert parsed.parser == "lxml-repair"
    assert parsed.malformed
    assert [(e.title, e.link) for e in parsed.entries] == [
        ("First hand-rolled post", "https://hand.example/1"),
        ("Second hand-rolled post", "https://hand.example/2"),
    ]
    assert parsed.entries[0].published == datetime(2026, 1, 14, tzinfo=UTC)


def test_valid_empty_feed_has_no_entries() -> None:
    parsed = parse_feed(sample("empty.xml"))
    assert parsed.entries == []
    assert parsed.title == "Nothing yet"
    assert not parsed.malformed


@pytest.mark.parametrize("body", [b"", b"   \r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf  \n"])
def test_empty_body(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body, url="https://e.example/")
    assert info.value.kind == "empty-body"


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
        b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title></head><body/></html>',
        b'{"items": [{"title": "json feed"}]}',
        b"just some text",
        b"/etc/passwd",
    ],
)
def test_not_a_feed(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body)
    assert info.value.kind == "not-a-feed"
    assert "root:" not in info.value.message


def test_broken_feed_with_nothing_salvageable_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</ti')
    assert info.value.kind == "parse-error"


def test_unterminated_doctype_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(b'<!DOCTYPE rss [<!ENTITY a "b">' + b"<!--" * 1000 + b"<rss><channel></channel></rss>")
    assert info.value.kind == "parse-error"


def test_parse_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(ParseError("not-a-feed", "https://x.example/: an HTML page")))
    assert (error.kind, error.message) == ("not-a-feed", "https://x.example/: an HTML page")


def test_feedparser_only_ever_gets_a_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    real = feedparser.parse

    def spy(source: Any, **kwargs: Any) -> Any:
        seen.append(source)
        assert kwargs["sanitize_html"] is False and kwargs["resolve_relative_uris"] is False
        return real(source, **kwargs)

    monkeypatch.setattr(feedparser, "parse", spy)
    parse_feed(sample("malformed.xml"), url="file:///etc/passwd")
    parse_with_feedparser(b"/etc/passwd", prepare=False)
    with pytest.raises(ParseError):
        parse_feed(b"/etc/passwd")
    assert seen and all(isinstance(s, io.BytesIO) for s in seen)


def test_http_charset_used_when_the_document_declares_none() -> None:
    body = '<rss version="2.0"><channel><item><title>Ελλάδα</title></item></channel></rss>'.encode(
        "iso-8859-7"
    )
    parsed = parse_feed(body, content_type="application/rss+xml; charset=ISO-8859-7")
    assert parsed.entries[0].title == "Ελλάδα"


def test_utf16_with_bom_is_read() -> None:
    body = '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><item><title>Київ</title></item></channel></rss>'
    parsed = parse_feed(body.encode("utf-16"))
    assert parsed.entries[0].title == "Київ"
    assert not parsed.malformed


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 17 Feb 2026 10:00:00 +0000", datetime(2026, 2, 17, 10, 0, tzinfo=UTC)),
        ("Tue, 17 Feb 2026 10:00:00 EST", datetime(2026, 2, 17, 15, 0, tzinfo=UTC)),
        ("2026-02-17T17:36:36Z", datetime(2026, 2, 17, 17, 36, 36, tzinfo=UTC)),
        ("2026-02-17T17:36:36-0500", datetime(2026, 2, 17, 22, 36, 36, tzinfo=UTC)),
        ("2026-02-17T17:36:36.123+01:00", datetime(2026, 2, 17, 16, 36, 36, tzinfo=UTC)),
        ("Seg, 24 Set 2018 10:00:00 -0300", None),
        ("January, 29 Jan 2021", None),
        ("", None),
        (None, None),
        ("garbage", None),
    ],
)
def test_parse_date(value: str | None, expected: datetime | None) -> None:
    assert parse_date(value) == expected


def feedparser_date(value: str) -> datetime | None:
    """What feedparser's own date parser makes of `value`, as parse_date returns it."""
    from feedparser.datetimes import _parse_date

    try:
        parsed = _parse_date(value)
    except Exception:
        return None
    return parse_module._struct_to_datetime(parsed)


def common_layout_dates() -> list[str]:
    """Dates in the two layouts parse_date reads itself, with the edge cases of each field."""
    values = []
    for day_name in ("", "Tue, ", "tue, ", "TUE, "):
        for day in ("1", "01", "28", "29", "30", "31", "0", "32"):
            for month in ("Feb", "nov", "DEC", "Jan"):
                for year in ("1970", "1971", "2024", "2026", "2199", "2200"):
                    for zone in ("GMT", "ut", "UTC", "Z", "EST", "edt", "CST", "PDT", "+0000", "-0500",
                                 "+0530", "-0930", "+1400", "+9999", "-0060"):  # fmt: skip
                        values.append(f"{day_name}{day} {month} {year} 10:00:00 {zone}")
    for clock in ("00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "09:05:07"):
        values.append(f"Wed, 25 Nov 2026 {clock} +0100")
        for zone in ("Z", "z", "+00:00", "-05:00", "+05:30", "-09:30", "+14:00", "+99:99", "-00:00"):
            for fraction in ("", ".1", ".123456", ".123456789"):
                for sep in ("T", "t"):
                    values.append(f"2026-11-25{sep}{clock}{fraction}{zone}")
    for date in (
        "2024-02-29",
        "2026-02-29",
        "2026-11-31",
        "2026-13-01",
        "2026-00-10",
        "1970-01-01",
        "2200-01-01",
    ):
        values.append(f"{date}T10:00:00Z")
    return values


def test_common_layouts_are_read_exactly_as_feedparser_reads_them() -> None:
    values = common_layout_dates()
    shortcut = [v for v in values if parse_module._parse_common_date(v) is not None]
    assert len(shortcut) > len(values) // 3  # the shortcut is taken, not only the fallback
    for value in values:
        assert parse_date(value) == feedparser_date(value), value


def test_near_misses_of_the_common_layouts_are_left_to_feedparser() -> None:
    # Mutations of common dates: a character dropped, doubled or swapped for another. Whatever the
    # shortcut accepts must read as feedparser reads it; whatever it refuses goes to feedparser.
    rng = random.Random(20261126)
    bases = ["Tue, 25 Nov 2026 10:00:00 GMT", "25 Nov 2026 10:00:00 +0100", "2026-11-25T10:00:00.5-05:00"]
    alphabet = "0123456789 :+-TtZzGMTESDaeoNvJ,."
    for _ in range(3000):
        chars = list(rng.choice(bases))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(chars))
            action = rng.randrange(3)
            if action == 0:
                del chars[at]
            elif action == 1:
                chars.insert(at, chars[at])
            else:
                chars[at] = rng.choice(alphabet)
        value = "".join(chars)
        assert parse_date(value) == feedparser_date(value), value


def test_real_feed_dates_read_as_feedparser_reads_them(realfeeds_dir: Path) -> None:
    from lxml import etree

    date_tags = {"pubdate", "published", "updated", "date", "lastbuilddate", "modified", "issued"}
    seen = 0
    for path in sorted(realfeeds_dir.iterdir()):
        if path.suffix not in (".xml", ".rss"):
            continue
        root = etree.fromstring(path.read_bytes(), etree.XMLParser(recover=True, resolve_entities=False))
        if root is None:
            continue
        for el in root.iter():
            if isinstance(el.tag, str) and etree.QName(el).localname.lower() in date_tags and el.text:
                assert parse_date(el.text) == feedparser_date(el.text), (path.name, el.text)
                seen += 1
    assert seen > 100


def test_reading_a_plain_feed_never_loads_feedparser() -> None:
    # Workers (and the fork server that starts them) preload monitor.parse: feedparser would add
    # 40 ms to every cold start, for the rare feed that needs it.
    code = (
        "import sys, monitor.parse;"
        'body = b\'<rss version="2.0"><channel><item><title>t</title>'
        "<pubDate>Tue, 25 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>';"
        "assert monitor.parse.parse_feed(body).entries[0].published.hour == 10;"
        "print('feedparser' in sys.modules)"
    )
    assert fresh_python(code) == "False"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 17 Feb 2026 10:00:00 +0100", datetime(2026, 2, 17, 9, 0, tzinfo=UTC)),
        ("2026-02-17T17:36:36Z", datetime(2026, 2, 17, 17, 36, 36, tzinfo=UTC)),
        ("2026-02-17T17:36:36", datetime(2026, 2, 17, 17, 36, 36, tzinfo=UTC)),
        ("not a date", None),
    ],
)
def test_own_date_parser_used_if_feedparser_internals_move(value: str, expected: datetime | None) -> None:
    assert parse_module._parse_date_fallback(value) == expected


# --------------------------------------------------------------------------- the real-world corpus


def corpus(realfeeds: Path) -> list[Path]:
    return sorted(p for p in realfeeds.iterdir() if p.suffix in (".xml", ".rss"))


def test_every_real_feed_parses(realfeeds_dir: Path) -> None:
    for path in corpus(realfeeds_dir):
        parsed = parse_feed(path.read_bytes(), url=path.name)
        assert parsed.entries, path.name


def test_odd_real_feeds_yield_at_least_feedparsers_items(realfeeds_dir: Path) -> None:
    odd = [p for p in corpus(realfeeds_dir) if p.name.startswith("odd_")]
    assert odd
    for path in odd:
        body = path.read_bytes()
        alone = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
        ours = parse_feed(body)
        assert len(ours.entries) >= len(alone.entries), path.name
        # "Correct" items: every one has a title and a usable link, as feedparser's do.
        cleaned = [clean_entry(e, feed_url=f"https://x.example/{path.name}", now=NOW) for e in ours.entries]
        assert all(c is not None and c.title and c.link for c in cleaned), path.name


def test_real_feed_ids_do_not_depend_on_the_parser(realfeeds_dir: Path) -> None:
    for path in corpus(realfeeds_dir):
        body = path.read_bytes()
        url = f"https://feeds.example/{path.name}"
        ours = parse_feed(body, url=url)
        if ours.parser == "lxml-repair":
            continue  # feedparser reads nothing there to compare with
        fallback = parse_with_feedparser(body)
        alone = parse_with_feedparser(body, prepare=False)
        assert ids_and_titles(ours, url) == ids_and_titles(fallback, url), path.name
        assert ids_and_titles(ours, url) == ids_and_titles(alone, url), path.name
        assert [fields(e) for e in ours.entries] == [fields(e) for e in fallback.entries], path.name


def test_real_feed_paths_and_flags(realfeeds_dir: Path) -> None:
    def parsed(name: str) -> ParsedFeed:
        return parse_feed((realfeeds_dir / name).read_bytes())

    guardian = parsed("guardian_world_2022.xml")  # raw '&' in attributes
    assert (guardian.parser, guardian.malformed, len(guardian.entries)) == ("lxml", True, 54)
    utf16 = parsed("odd_utf16_declared_utf8_eliotjones_2026.xml")
    assert utf16.parser == "lxml" and utf16.malformed and "utf-16" in (utf16.malformed_reason or "")
    cp1251 = parsed("odd_windows-1251_ibash_2018.xml")
    assert cp1251.entries[0].title is not None and "Цитата" in cp1251.entries[0].title
    greek = parsed("odd_iso8859-7_liberal_greek_2020.xml")
    assert greek.title is not None and "Liberal" in greek.title
    assert any("\u0370" <= ch <= "\u03ff" for ch in greek.entries[0].title or "")
    harris = parsed("odd_malformed_xmldecl_dylanharris_2026.xml")
    assert harris.parser == "lxml-repair" and len(harris.entries) == 35
