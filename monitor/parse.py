"""Turn feed bytes into raw entries: a hardened lxml fast path, feedparser as the lenient fallback."""

from __future__ import annotations

import calendar
import codecs
import contextlib
import functools
import html
import html.entities
import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from monitor.models import ParsedFeed, RawEntry

# feedparser is imported where it is first needed (a fallback parse, a date in an unusual format):
# with its HTTP and e-mail modules it is 40 ms of each fork server's start, and the feeds most
# people follow never need it.


class ParseError(Exception):
    """Nothing usable came out of a body; `kind` is an ErrorKind value ("empty-body", "not-a-feed", "parse-error")."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, str]]:
        # Survive pickling across a process pool with both fields intact.
        return (ParseError, (self.kind, self.message))


# --------------------------------------------------------------------------- namespaces

_NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_NS_ATOM = "http://www.w3.org/2005/Atom"
_NS_ATOM03 = "http://purl.org/atom/ns#"
# Namespaces (lowercased, as feedparser matches them) whose elements are plain RSS/Atom ones.
_CORE_NS = frozenset(
    {
        "",
        "http://backend.userland.com/rss",
        "http://blogs.law.harvard.edu/tech/rss",
        "http://purl.org/rss/1.0/",
        "http://my.netscape.com/rdf/simple/0.9/",
        "http://purl.org/rss/1.0/modules/rss091#",
        _NS_ATOM.lower(),
        _NS_ATOM03,
    }
)
_PREFIXED_NS = {
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://search.yahoo.com/mrss/": "media",
    "http://search.yahoo.com/mrss": "media",
    "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes",
    "http://www.w3.org/1999/xhtml": "xhtml",
    _NS_RDF: "rdf",
}
_STANDARD_PREFIXES = frozenset(_PREFIXED_NS.values())
# Placeholder namespace for prefixes a broken feed uses without declaring (repair path only).
_UNDECLARED_NS = "urn:x-situation-monitor:undeclared"

# Elements, by feedparser's name for them, that feed each RawEntry field.
_TITLE = frozenset({"title", "dc:title"})
_SUMMARY = frozenset({"description", "summary", "dc:description", "media:description", "itunes:summary"})
_CONTENT = frozenset({"content", "content:encoded", "fullitem", "body", "xhtml:body"})
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms:issued"})
_UPDATED = frozenset({"updated", "modified", "dc:date", "dcterms:modified"})
_AUTHOR = frozenset({"author", "dc:creator", "dc:author", "itunes:author"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_CONTENT_TYPE_ALIASES = {"text": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}

# --------------------------------------------------------------------------- byte/text preparation

_UTF_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_XML_DECL_ENCODING = re.compile(rb"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._:+-]{1,40})[\"']")
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:+-]{1,40})", re.IGNORECASE)
_WIDE_ENCODINGS = ("utf-16", "utf-32", "ucs-2", "ucs-4", "utf_16", "utf_32")
_XML_DECL_AT_START = re.compile(rb"<\?xml\s[^>]*>")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_DOCTYPE_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?(?:-->|\Z)|[\[\]>]", re.DOTALL)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
# Characters XML 1.0 forbids (NUL, most C0, U+FFFE/U+FFFF) and references to them: lxml and
# expat reject the whole document for one of these, and they are never meant as text.  The
# work is done on UTF-8 bytes, where C0 bytes are exactly C0 characters and scans are cheap.
_XML_ILLEGAL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_NONCHARACTERS = re.compile(b"\xef\xbf[\xbe\xbf]")  # U+FFFE, U+FFFF
_XML_ILLEGAL_REF = re.compile(rb"&#(?:0*(?:[0-8]|1[124-9]|2\d|3[01])|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]));")
# Named references other than XML's five; the lookahead keeps the common ones off the slow callback.
_HTML_ENTITY = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]{1,31});")
# Text holding U+0080-U+00BF (raw or as a reference) is the only text feedparser's two repairs
# (C1 -> cp1252, UTF-8 mojibake) can change; one search per document spares every field.
_NEEDS_FIXUPS_RAW = re.compile(b"\xc2[\x80-\xbf]")
_NEEDS_FIXUPS_REF = re.compile(rb"&#(?:0*1(?:2[89]|[3-8][0-9]|9[01])|[xX]0*[89aAbB][0-9a-fA-F]);")
_LOOKS_LIKE_ITEMS = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]", re.IGNORECASE)
_LOOKS_LIKE_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE)
_HEAD_BYTES = 4096


def _lookup_codec(name: str | None) -> str | None:
    """Return a Python codec name for a declared charset, or None when unknown or impossible here."""
    if not name:
        return None
    name = name.strip().lower()
    if name in ("gb2312", "gbk", "x-gbk"):
        name = "gb18030"  # superset; feeds labelled gb2312 routinely use GBK characters
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _to_utf8(body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """The body as UTF-8 bytes (no BOM) and a note when its encoding label was wrong or missing.

    Order of belief: a BOM; UTF-16/32 markup sniffed from NUL bytes; valid UTF-8; the XML
    declaration; the HTTP charset; windows-1252.  UTF-8 comes before the labels because valid
    non-ASCII UTF-8 is almost never meant as anything else, whatever the labels say (a
    "utf-16" declaration on single-byte text, a server-wide latin-1 default).
    """
    for bom, codec in _UTF_BOMS:
        if body.startswith(bom):
            if codec == "utf-8":
                body = body[len(bom) :]
                break
            return body[len(bom) :].decode(codec, errors="replace").encode("utf-8"), None
    head = body[:4]
    wide: str | None = None
    if head == b"\x00\x00\x00<":
        wide = "utf-32-be"
    elif head == b"<\x00\x00\x00":
        wide = "utf-32-le"
    elif len(head) >= 2 and head[0] == 0 and head[1] != 0:
        wide = "utf-16-be"
    elif len(head) >= 2 and head[0] != 0 and head[1] == 0:
        wide = "utf-16-le"
    if wide:
        text = body.decode(wide, errors="replace")
        # Only believe the sniff when it yields markup; NUL-prefixed junk is not UTF-16.
        if text.lstrip().startswith("<"):
            return text.encode("utf-8"), None

    match = _XML_DECL_ENCODING.search(body, 0, 1024)
    declared_name = match.group(1).decode("ascii").lower() if match else None
    declared = _lookup_codec(declared_name)
    http_match = _CHARSET_PARAM.search(content_type or "")
    http = _lookup_codec(http_match.group(1)) if http_match else None

    try:
        body.decode("utf-8")  # validation only: the bytes are used as they are
    except UnicodeDecodeError:
        pass
    else:
        if declared and declared != "utf-8" and not body.isascii():
            return body, f"declared {declared_name} but the bytes are UTF-8"
        if declared_name and declared_name.startswith(_WIDE_ENCODINGS):
            return body, f"declared {declared_name} but the bytes are single-byte/UTF-8"
        return body, None

    for candidate in (declared, http):
        if candidate and not candidate.startswith(_WIDE_ENCODINGS):
            try:
                return body.decode(candidate).encode("utf-8"), None
            except UnicodeDecodeError:
                continue
    for fallback in ("cp1252", "latin-1"):
        try:
            text = body.decode(fallback)
        except UnicodeDecodeError:
            continue
        if declared_name:
            note = f"declared {declared_name} but the bytes do not decode as it; read as {fallback}"
        else:
            note = f"no encoding declared and the bytes are not UTF-8; read as {fallback}"
        return text.encode("utf-8"), note
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _strip_doctype(data: bytes) -> bytes:
    """Remove a DOCTYPE (and its internal subset) from the prolog so no entity is ever declared.

    Without declarations an entity reference is an error, never an expansion: no billion
    laughs, no external (XXE) fetch, in lxml or in feedparser.
    """
    match = _DOCTYPE.search(data, 0, 65536)
    if match is None:
        return data
    if _FIRST_ELEMENT.search(data, 0, match.start()) is not None:
        return data  # a DOCTYPE after the root element is not a DOCTYPE declaration
    depth = 0
    for token in _DOCTYPE_TOKEN.finditer(data, match.end()):
        kind = token.group()
        if kind == b"[":
            depth += 1
        elif kind == b"]":
            depth = max(depth - 1, 0)
        elif kind == b">" and depth == 0:
            return data[: match.start()] + data[token.end() :]
    # Unterminated: drop the rest of the prolog rather than hand half a DTD to a parser.
    return data[: match.start()]


def _prepare(body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """Neutralise a body for either parser; return (UTF-8 bytes, encoding problem).

    The result has no XML declaration, no DOCTYPE, no XML-illegal characters or references to
    them, and HTML entity names turned into character references.
    """
    data, problem = _to_utf8(body, content_type)
    data = data.lstrip(b" \t\r\n")
    match = _XML_DECL_AT_START.match(data)
    if match:
        data = data[match.end() :].lstrip(b" \t\r\n")
    data = _strip_doctype(data)
    cleaned = data.translate(None, _XML_ILLEGAL_BYTES)
    if len(cleaned) != len(data):
        data = cleaned
    if _NONCHARACTERS.search(data):
        data = _NONCHARACTERS.sub(b"", data)
    if _XML_ILLEGAL_REF.search(data):
        data = _XML_ILLEGAL_REF.sub(b"", data)
    if _HTML_ENTITY.search(data):
        data = _HTML_ENTITY.sub(_html_entity_to_ref, data)
    return data, problem


def _html_entity_to_ref(match: re.Match[bytes]) -> bytes:
    """`&nbsp;` -> `&#160;`: HTML names are undefined in XML and would sink the strict parse."""
    return _html_entity_ref(match.group(1)) or match.group()


@functools.lru_cache(maxsize=512)
def _html_entity_ref(name: bytes) -> bytes | None:
    value = html.entities.html5.get(name.decode("ascii") + ";")
    if value is None:
        return None  # unknown: leave it for the parsers to reject or keep literally
    return "".join(f"&#{ord(c)};" for c in value).encode("ascii")


# --------------------------------------------------------------------------- shared helpers

# feedparser maps C1 code points to the cp1252 characters they were almost certainly meant to be.
_CP1252: dict[int, str] = {
    c: bytes([c]).decode("cp1252") for c in range(0x80, 0xA0) if c not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_XMLNS_DECL = re.compile(r"\sxmlns(?::[\w.-]+)?=\"[^\"]*\"")
_C1 = re.compile("[\x80-\x9f]")
_URI_FIXER = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_LINK_ENTITY = re.compile(r"&([A-Za-z0-9_]+);")
_EMAIL_AND_NAME = re.compile(r"^[^\s()@]+@[^\s()]+\s*\((.+)\)$")


def _fix_text(s: str, doc: _Doc) -> str:
    """Apply the two repairs feedparser makes to every value, so both paths agree on the text."""
    if doc.fixups and not s.isascii():
        # Text that was UTF-8, read as latin-1 and re-encoded ("Ã©" for "é").
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            s = s.encode("latin-1").decode("utf-8")
        if _C1.search(s):
            s = _C1.sub(_cp1252_char, s)
    return s


def _cp1252_char(match: re.Match[str]) -> str:
    return _CP1252.get(ord(match.group()), match.group())


_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# feedparser.urls.ACCEPTABLE_URI_SCHEMES (6.0.x): schemes it keeps when joining against xml:base.
_ACCEPTABLE_URI_SCHEMES = frozenset(
    {
        *("file", "ftp", "gopher", "h323", "hdl", "http", "https", "imap", "magnet", "mailto", "mms"),
        *("news", "nntp", "prospero", "rsync", "rtsp", "rtspu", "sftp", "shttp", "sip", "sips", "snews"),
        *("svn", "svn+ssh", "telnet", "wais", "aim", "callto", "cvs", "facetime", "feed", "git"),
        *("gtalk", "irc", "ircs", "irc6", "itms", "msnim", "skype", "ssh", "smb", "ymsg"),
    }
)


def _urljoin(base: str, uri: str) -> str:
    """feedparser's join: collapse extra slashes after the scheme, then resolve; '' when unjoinable."""
    if ":///" in uri:
        uri = _URI_FIXER.sub(r"\1\3", uri)
    if not base:
        return uri  # what urljoin("", uri) returns, without its parsing cost
    try:
        return urljoin(base, uri)
    except ValueError:
        return ""


def parse_date(value: str | None) -> datetime | None:
    """Parse a feed date (RFC 822, ISO 8601 and the oddities feedparser knows) to aware UTC, or None.

    feedparser's date parser decides every date, on both parse paths, so `published` (and with it
    title+date ids) never depends on which parser read the entry. The two layouts nearly every feed
    uses are read here first, giving exactly what feedparser gives for them (tests compare the two);
    that costs a fifth of feedparser's chain of handlers."""
    if not value:
        return None
    common = _parse_common_date(value)
    if common is not None:
        return common
    if not value.strip():
        return None
    feedparser_parse_date = _feedparser_date_parser()
    if feedparser_parse_date is None:  # pragma: no cover - only when feedparser's internals move
        return _parse_date_fallback(value)
    try:
        parsed = feedparser_parse_date(value)
    except Exception:  # a date handler tripping on garbage must not lose the entry
        return None
    return _struct_to_datetime(parsed)


@functools.cache
def _feedparser_date_parser() -> Callable[[str], time.struct_time | None] | None:
    try:
        from feedparser.datetimes import _parse_date
    except ImportError:  # pragma: no cover - feedparser moved its internals; fall back to our own
        return None
    return _parse_date  # type: ignore[no-any-return]


# W3C date-times as feedparser's first handler (W3DTF) reads them: "2026-11-25T10:00:00Z",
# "...T10:00:00.123+05:30". Offsets with a colon only: W3DTF misreads "+0530" as 5 h 0 min.
_W3DTF_DATE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.\d{1,9})?(?:[Zz]|([+-])(\d\d):(\d\d))"
)
# RFC 822 dates as feedparser's second handler reads them: "Tue, 25 Nov 2026 10:00:00 GMT" or
# "... +0100" (W3DTF rejects all of them). Four-digit years only: it maps two-digit ones to 19xx/20xx.
_RFC822_DATE = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun), )?(\d\d?) (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) "
    r"(\d{4}) (\d\d):(\d\d):(\d\d) (?:([+-])(\d\d)(\d\d)|(gmt|ut|utc|z|[ecmp][sd]t))",
    re.IGNORECASE,
)
_RFC822_MONTHS = {
    month: number
    for number, month in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
# feedparser's rfc822 offsets (hours) for the zone names the pattern above accepts.
_RFC822_ZONES = {"gmt": 0, "ut": 0, "utc": 0, "z": 0, "edt": -4, "est": -5, "cdt": -5, "cst": -6,
                 "mdt": -6, "mst": -7, "pdt": -7, "pst": -8}  # fmt: skip
_COMMON_YEARS = range(1971, 2200)
"""Years the shortcut handles; feedparser alone handles the rest, range errors included."""


def _parse_common_date(value: str) -> datetime | None:
    """A date in one of the two common layouts, as feedparser would read it; None for anything else
    (including dates those layouts cannot hold, like 31 November: feedparser's other handlers get them)."""
    match = _W3DTF_DATE.fullmatch(value)
    if match is not None:
        year, month, day, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
        offset = 0 if sign is None else int(zone_hours) * 60 + int(zone_minutes)
        if sign == "-":
            offset = -offset
    else:
        match = _RFC822_DATE.fullmatch(value)
        if match is None:
            return None
        day, month_name, year, hour, minute, second, sign, zone_hours, zone_minutes, zone = match.groups()
        month = _RFC822_MONTHS[month_name.lower()]
        if zone is not None:
            offset = _RFC822_ZONES[zone.lower()] * 60
        else:
            offset = int(zone_hours) * 60 + int(zone_minutes)
            if sign == "-":
                offset = -offset
    if int(year) not in _COMMON_YEARS:
        return None
    try:
        stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    return stamp - timedelta(minutes=offset) if offset else stamp


def _struct_to_datetime(value: time.struct_time | None) -> datetime | None:
    """feedparser's UTC struct_time -> aware datetime (None when out of range)."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _parse_date_fallback(value: str) -> datetime | None:
    """RFC 822 then ISO 8601, tolerant of garbage; used only if feedparser's parser is unavailable."""
    value = value.strip()
    try:
        result = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        iso = value.replace("Z", "+00:00").replace("z", "+00:00")
        try:
            result = datetime.fromisoformat(iso)
        except ValueError:
            return None
    if result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    return result.astimezone(UTC).replace(microsecond=0)


def _none_if_empty(value: str | None) -> str | None:
    return value if value else None


# --------------------------------------------------------------------------- lxml fast path


def _make_parser(*, recover: bool) -> etree.XMLParser:
    # No DTD, no entity expansion, no network, no huge-tree escape hatch: a feed is data only.
    return etree.XMLParser(
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        recover=recover,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
        strip_cdata=True,
    )


# lxml parser objects must not be shared between threads: one pair per thread, made on first use.
_PARSERS = threading.local()


def _parser(*, recover: bool) -> etree.XMLParser:
    key = "lenient" if recover else "strict"
    parser: etree.XMLParser | None = getattr(_PARSERS, key, None)
    if parser is None:
        parser = _make_parser(recover=recover)
        setattr(_PARSERS, key, parser)
    return parser


@dataclass(frozen=True, slots=True)
class _Doc:
    """What the extraction functions need to know about the document being read."""

    atom: bool
    """Atom, where type="text" content is plain text (escaped so it survives html_to_text)."""
    fixups: bool
    """Whether feedparser's C1/mojibake repairs can change any text of this document."""
    feed_image: bool
    """A channel <image> came before the entries: an entry's own <image> then feeds that, not the entry."""
    bases: _Bases | None
    """feedparser's base URI at each element, when the document uses xml:base at all."""


@dataclass(frozen=True, slots=True)
class _Bases:
    """feedparser's idea of the base URI where each element starts and where it ends.

    feedparser keeps one running base and restores it from a stack only when the parent's base
    is non-empty, so an xml:base on one item leaks into the items after it.  Links and guids
    must be resolved against exactly that, or ids would change with the parser.
    """

    at_start: dict[etree._Element, str]
    at_end: dict[etree._Element, str]


# feedparser's names for tags whose name does not depend on the document's prefixes.
_NAME_CACHE: dict[str, str] = {}
_NAME_CACHE_MAX = 4096


def _name(el: etree._Element) -> str | None:
    """feedparser's name for an element ('title', 'dc:date', 'foo:bar', ...); None for non-elements."""
    tag = el.tag
    if not isinstance(tag, str):
        return None  # comments, PIs, entity references
    cached = _NAME_CACHE.get(tag)
    if cached is not None:
        return cached
    if tag[0] != "{":
        name = tag.lower()
    else:
        ns, _, local = tag[1:].partition("}")
        local = local.lower()
        ns = ns.lower()
        prefix = _PREFIXED_NS.get(ns)
        if ns in _CORE_NS or "backend.userland.com/rss" in ns:
            name = local
        elif prefix is not None:
            name = f"{prefix}:{local}"
        else:
            given = el.prefix.lower() if el.prefix else None
            if ns == _UNDECLARED_NS:
                return f"{given}:{local}" if given in _STANDARD_PREFIXES else local
            # feedparser names an unknown namespace by the prefix the document gave it, so a
            # mistyped dc URI still reads as dc:creator; an unknown default namespace is plain RSS.
            return f"{given}:{local}" if given else local
    if len(_NAME_CACHE) >= _NAME_CACHE_MAX:
        _NAME_CACHE.clear()  # a document inventing tags by the thousand must not grow this forever
    _NAME_CACHE[tag] = name
    return name


def _inner(el: etree._Element) -> str:
    """An element's content as a string: its text, or its serialised children when it has markup."""
    if len(el) == 0:
        return el.text or ""
    parts = [html.escape(el.text or "", quote=False)]
    for child in el:
        if isinstance(child.tag, str):
            markup = etree.tostring(child, encoding="unicode", with_tail=True)
            # lxml re-declares inherited namespaces on each fragment; feedparser's text has none.
            parts.append(_XMLNS_DECL.sub("", markup) if "xmlns" in markup else markup)
        elif child.tail:
            parts.append(html.escape(child.tail, quote=False))
    return "".join(parts)


def _content_text(el: etree._Element, doc: _Doc, *, atom: bool | None = None) -> str:
    """Element text as HTML-ish source; Atom type="text" is escaped so it survives html_to_text literally."""
    kind = el.get("type", "text").lower() if (doc.atom if atom is None else atom) else "html"
    source = el
    if kind in ("xhtml", "application/xhtml+xml"):
        # Atom wraps XHTML in one <div>; feedparser drops it, and so must we for equal text.
        children = [c for c in el if isinstance(c.tag, str)]
        if (
            len(children) == 1
            and _name(children[0]) in ("div", "xhtml:div")
            and not (el.text or "").strip()
            and not (children[0].tail or "").strip()
        ):
            source = children[0]
    value = _fix_text(_inner(source).strip(), doc)
    if kind in ("text", "text/plain"):
        return html.escape(value, quote=False)
    return value


def _plain_text(el: etree._Element, doc: _Doc) -> str:
    return _fix_text((el.text or "").strip(), doc)


def _text_base(el: etree._Element, doc: _Doc) -> str:
    """The base feedparser resolves an element's text against (it does so at the end tag)."""
    return doc.bases.at_end.get(el, "") if doc.bases is not None else ""


def _attribute_base(el: etree._Element, doc: _Doc) -> str:
    """The base feedparser resolves an element's href against (it does so at the start tag)."""
    return doc.bases.at_start.get(el, "") if doc.bases is not None else ""


def _feedparser_bases(root: etree._Element) -> _Bases:
    """Replay feedparser's xml:base bookkeeping over the whole document (see _Bases)."""
    at_start: dict[etree._Element, str] = {}
    at_end: dict[etree._Element, str] = {}
    current = ""
    stack: list[str] = []
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            given = el.get(_XML_BASE) or el.get("base") or current
            if current:
                current = _make_safe_absolute_uri(current, given) or current
            else:
                current = _urljoin(current, given)
            stack.append(current)
            at_start[el] = current
        else:
            at_end[el] = current
            if stack:
                stack.pop()
                if stack and stack[-1]:
                    current = stack[-1]
    return _Bases(at_start, at_end)


def _make_safe_absolute_uri(base: str, rel: str) -> str:
    """feedparser's join for xml:base: '' when the result's scheme is not one it accepts."""
    if not base:
        return rel
    if not rel:
        try:
            scheme = urlsplit(base).scheme
        except ValueError:
            return ""
        return base if not scheme or scheme in _ACCEPTABLE_URI_SCHEMES else ""
    uri = _urljoin(base, rel)
    if uri.strip().split(":", 1)[0] not in _ACCEPTABLE_URI_SCHEMES:
        return ""
    return uri


class _EntryState:
    """feedparser's bookkeeping for one entry's title and summary, replayed element by element.

    Its rules are stateful, and ids and titles must not depend on which parser read a feed:
    the first non-empty title "locks" the title (until a <source> or <image> unlocks it), a
    media:title fills in without locking, and shallower elements win over deeper ones; the
    first summary-like element is the summary, a second one becomes content, unless content
    was already seen, in which case it replaces the summary; HTML content doubles as the
    summary when there is none.
    """

    __slots__ = (
        "content",
        "has_content",
        "summary",
        "summary_depth",
        "summary_set",
        "title",
        "title_depth",
        "title_lock",
    )

    def __init__(self) -> None:
        self.title: str | None = None
        self.title_depth: int | None = None  # depth the stored title came from
        self.title_lock: int | None = None  # feedparser's title_depth (-1 there, None here)
        self.summary: str | None = None
        self.summary_depth: int | None = None
        self.summary_set = False  # 'summary' in feedparser's entry dict, even when empty
        self.has_content = False
        self.content: str | None = None  # first non-empty content value

    def offer_title(self, value: str, depth: int, *, locks: bool) -> None:
        if self.title_lock is not None and self.title_lock <= depth:
            return
        if self.title_depth is None or depth <= self.title_depth:
            self.title, self.title_depth = value, depth
        if locks and value:
            self.title_lock = depth

    def offer_summary(self, value: str, depth: int) -> None:
        if self.summary_set and not self.has_content:
            self.has_content = True  # demoted to content; it cannot become the summary
            if self.content is None and value:
                self.content = value
            return
        if self.summary_depth is None or depth <= self.summary_depth:
            self.summary, self.summary_depth = value, depth
        self.summary_set = True

    def offer_content(self, value: str, *, copies_to_summary: bool) -> None:
        self.has_content = True
        if self.content is None and value:
            self.content = value
        if copies_to_summary and not self.summary_set:
            self.summary, self.summary_set = value, True


def _media_children(el: etree._Element, depth: int) -> Iterator[tuple[str | None, etree._Element, int]]:
    """(name, element, depth) below a media:group/media:content, in document order."""
    for sub in el:
        name = _name(sub)
        yield name, sub, depth
        if name in ("media:group", "media:content"):
            yield from _media_children(sub, depth + 1)


def _copies_to_summary(el: etree._Element, doc: _Doc) -> bool:
    """feedparser copies text/HTML content (not images, not out-of-line src=) into a missing summary."""
    if not doc.atom:
        return True
    kind = el.get("type", "text").lower()
    return _CONTENT_TYPE_ALIASES.get(kind, kind) in ("text/plain", *_HTML_TYPES)


def _entry_from_element(item: etree._Element, doc: _Doc) -> RawEntry:
    guid: str | None = item.get(f"{{{_NS_RDF}}}about")
    link: str | None = None
    has_link = False
    guid_link: str | None = None
    state = _EntryState()
    published: str | None = None
    updated: str | None = None
    author: str | None = None

    # feedparser's rules, element by element: the last guid and link (an alternate HTML one
    # for Atom); a permalink guid stands in for a missing link; the last of each date; title
    # and summary as _EntryState describes.
    for child in item:
        name = _name(child)
        if name is None:
            continue
        if name in _TITLE:
            state.offer_title(_content_text(child, doc), 1, locks=True)
        elif name in ("guid", "id"):
            value = _plain_text(child, doc)
            permalink = name == "id" or child.get("isPermaLink", child.get("ispermalink", "true")) == "true"
            if permalink:
                if value:
                    value = _urljoin(_text_base(child, doc), value)
                if guid_link is None:
                    guid_link = value
            guid = value
        elif name == "link":
            href = child.get("href", child.get("url", child.get("uri")))
            if href is not None:
                rel = child.get("rel", "alternate").lower()
                kind = child.get("type", "text/html").lower()
                if rel == "alternate" and _CONTENT_TYPE_ALIASES.get(kind, kind) in _HTML_TYPES:
                    link, has_link = _urljoin(_attribute_base(child, doc), href), True
            else:
                value = _plain_text(child, doc)
                if value:
                    value = _urljoin(_text_base(child, doc), value)
                if "&" in value:
                    # feedparser undoes double-escaped query strings ("&amp;b=", "&b;=") in links.
                    value = _LINK_ENTITY.sub(r"&\1", value.replace("&amp;", "&"))
                link, has_link = value, True
        elif name in _SUMMARY:
            state.offer_summary(_content_text(child, doc), 1)
        elif name in _CONTENT:
            state.offer_content(_content_text(child, doc), copies_to_summary=_copies_to_summary(child, doc))
        elif name in _PUBLISHED:
            published = child.text
        elif name in _UPDATED:
            updated = child.text
        elif name in _AUTHOR:
            author = _author_text(child, doc) or author
        elif name in ("source", "textinput"):
            state.title_lock = None
        elif name == "image":
            state.title_lock = None
            if not doc.feed_image:
                # With no channel image, feedparser files an entry image's title and
                # description under the entry itself.
                for sub in child:
                    sub_name = _name(sub)
                    if sub_name in _TITLE:
                        state.offer_title(_content_text(sub, doc), 2, locks=True)
                    elif sub_name in _SUMMARY:
                        state.offer_summary(_content_text(sub, doc), 2)
        elif name == "media:title":
            state.offer_title(_content_text(child, doc, atom=False), 1, locks=False)
        elif name in ("media:group", "media:content"):
            for sub_name, sub, depth in _media_children(child, 2):
                if sub_name == "media:title":
                    state.offer_title(_content_text(sub, doc, atom=False), depth, locks=False)
                elif sub_name == "media:description":
                    state.offer_summary(_content_text(sub, doc, atom=False), depth)

    if not has_link:
        link = guid_link
    date = parse_date(published) or parse_date(updated)
    return RawEntry(
        guid=_none_if_empty(guid),
        link=_none_if_empty(link),
        title=_none_if_empty(state.title),
        summary=_none_if_empty(state.summary) or state.content,
        published=date,
        author=_none_if_empty(author),
    )


def _author_text(el: etree._Element, doc: _Doc) -> str:
    """RSS author/dc:creator text (the name part of "email (Name)"), or Atom's 'name (email)'."""
    if len(el) == 0:
        text = _plain_text(el, doc)
        match = _EMAIL_AND_NAME.match(text)
        return match.group(1).strip() if match else text
    name = email = ""
    for sub in el:
        sub_name = _name(sub)
        if sub_name == "name":
            name = _plain_text(sub, doc)
        elif sub_name == "email":
            email = _plain_text(sub, doc)
    if name and email:
        return f"{name} ({email})"
    return name or email


def _iter_entries(root: etree._Element) -> Iterator[etree._Element]:
    """Every item/entry element feedparser would see as an entry (not ones nested in another)."""
    # Memo of "this element is inside an entry", so nested junk costs O(n) in total, not O(n x depth).
    inside: dict[etree._Element, bool] = {}

    def within_entry(el: etree._Element) -> bool:
        chain: list[etree._Element] = []
        node = el.getparent()
        found = False
        while node is not None:
            if node in inside:
                found = inside[node]
                break
            if _name(node) in ("item", "entry"):
                found = True
                break
            chain.append(node)
            node = node.getparent()
        for passed in chain:
            inside[passed] = found
        return found

    for el in root.iter("{*}item", "{*}entry"):
        if _name(el) in ("item", "entry") and not within_entry(el):
            yield el


def _feed_title(root: etree._Element, doc: _Doc) -> str | None:
    channel = root
    for child in root:
        if _name(child) == "channel":
            channel = child
            break
    for child in channel:
        if _name(child) in _TITLE:
            value = _content_text(child, doc)
            if value:
                return value
    return None


def _root_kind(root: etree._Element) -> str | None:
    """'rss', 'rdf' or 'atom' for a recognised feed root, else None."""
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag == f"{{{_NS_RDF}}}RDF":
        return "rdf"
    if tag in (f"{{{_NS_ATOM}}}feed", f"{{{_NS_ATOM03}}}feed"):
        return "atom"
    if _name(root) == "rss":
        return "rss"
    return None


def _feed_image_first(root: etree._Element) -> bool:
    """Whether an <image> outside any entry precedes the first entry (feedparser's feeddata['image'])."""
    for el in root.iter():
        name = _name(el)
        if name in ("item", "entry"):
            return False
        if name == "image":
            return True
    return False


def _needs_fixups(data: bytes) -> bool:
    return bool(_NEEDS_FIXUPS_RAW.search(data) or _NEEDS_FIXUPS_REF.search(data))


def _parse_tree(root: etree._Element, data: bytes) -> tuple[str | None, list[RawEntry]] | None:
    """Title and entries of a parsed tree, or None when the root is not a feed we know."""
    kind = _root_kind(root)
    if kind is None:
        return None
    doc = _Doc(
        atom=kind == "atom",
        fixups=_needs_fixups(data),
        feed_image=_feed_image_first(root),
        # Only documents that mention a base pay for replaying feedparser's bookkeeping.
        bases=_feedparser_bases(root) if b"base=" in data else None,
    )
    entries = [_entry_from_element(item, doc) for item in _iter_entries(root)]
    return _feed_title(root, doc), entries


def _parse_lxml(data: bytes) -> tuple[str | None, list[RawEntry]] | None:
    """Strict lxml parse; None when the bytes are not well-formed or not a feed we know."""
    try:
        root = etree.fromstring(data, _parser(recover=False))
    except (etree.XMLSyntaxError, ValueError):
        return None
    return _parse_tree(root, data)


# --------------------------------------------------------------------------- repairs

# A CDATA section (kept as is: '&' is legal there) or an '&' that starts no reference.
_BARE_AMPERSAND = re.compile(
    rb"<!\[CDATA\[.*?(?:\]\]>|\Z)|&(?!(?:[A-Za-z_][\w.-]*|#[0-9]+|#[xX][0-9a-fA-F]+);)", re.DOTALL
)


def _escape_ampersand(match: re.Match[bytes]) -> bytes:
    return b"&amp;" if match.group() == b"&" else match.group()


def _escape_bare_ampersands(data: bytes) -> bytes:
    return _BARE_AMPERSAND.sub(_escape_ampersand, data) if b"&" in data else data


_MISPLACED_DECL = re.compile(r"<\?xml[^>]*>")
_START_TAG = re.compile(r"<[A-Za-z][^<>]*>")
_ATTRIBUTE = re.compile(r"(\s[\w:.-]+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'<>=]+)")
_USED_PREFIX = re.compile(r"</?([A-Za-z_][\w.-]*):[A-Za-z_]")
_ROOT_START = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?(?:rss|RDF|feed)\b")
_ROOT_START_BYTES = re.compile(_ROOT_START.pattern.encode())


def _repair(text: str) -> str:
    """Patch the common ways hand-rolled feeds break XML, for a recovering lxml parse.

    Used only after feedparser found no entries, so it never changes ids of a feed that
    either real parser can read.
    """
    root = _ROOT_START.search(text)
    if root is None:
        return text
    body = _MISPLACED_DECL.sub("", text[root.start() :])
    # Quote attribute values that are missing quotes (rss:version=2.0).
    body = _START_TAG.sub(_quote_attributes, body)
    declared = set(re.findall(r"xmlns:([A-Za-z_][\w.-]*)\s*=", body[:4096]))
    missing = sorted({p for p in _USED_PREFIX.findall(body) if p not in declared and p != "xml"})
    if missing:
        end = body.find(">")
        if end > 0:
            slash = end - 1 if body[end - 1] == "/" else end
            decls = "".join(f' xmlns:{p}="{_UNDECLARED_NS}"' for p in missing)
            body = body[:slash] + decls + body[slash:]
    return body


def _quote_attribute(match: re.Match[str]) -> str:
    name, value = match.groups()
    if value[0] in "\"'":
        return match.group()
    return f'{name}="{value}"'


def _quote_attributes(match: re.Match[str]) -> str:
    tag = match.group()
    return _ATTRIBUTE.sub(_quote_attribute, tag) if "=" in tag else tag


def _parse_repaired(data: bytes) -> tuple[str | None, list[RawEntry]] | None:
    repaired = _repair(data.decode("utf-8")).encode("utf-8")
    try:
        root = etree.fromstring(repaired, _parser(recover=True))
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None:
        return None
    return _parse_tree(root, repaired)


# --------------------------------------------------------------------------- feedparser path


def _fp_text(detail: Any, value: Any, atom: bool) -> str | None:
    """A feedparser value as HTML-ish source, escaping Atom plain text like the lxml path does."""
    if not isinstance(value, str) or not value:
        return None
    kind = detail.get("type") if isinstance(detail, dict) else None
    if atom and kind == "text/plain":
        return html.escape(value, quote=False)
    return value


def _entry_from_feedparser(entry: Any, atom: bool) -> RawEntry:
    title = _fp_text(entry.get("title_detail"), entry.get("title"), atom)
    raw_summary = entry.get("summary")
    detail = entry.get("summary_detail")
    if detail is None:
        # A summary feedparser copied from content has no detail of its own: use the content's type.
        detail = next((c for c in entry.get("content") or () if c.get("value") == raw_summary), None)
    summary = _fp_text(detail, raw_summary, atom)
    if not summary:
        for content in entry.get("content") or ():
            summary = _fp_text(content, content.get("value"), atom)
            if summary:
                break
    guid = entry.get("id")
    link = entry.get("link")
    author = entry.get("author")
    # dict.get: FeedParserDict.get maps a missing updated_parsed to published_parsed, with a warning.
    published = _struct_to_datetime(dict.get(entry, "published_parsed")) or _struct_to_datetime(
        dict.get(entry, "updated_parsed")
    )
    return RawEntry(
        guid=guid if isinstance(guid, str) and guid else None,
        link=link if isinstance(link, str) and link else None,
        title=title,
        summary=summary,
        published=published,
        author=author if isinstance(author, str) and author else None,
    )


def _run_feedparser(data: bytes, content_type: str | None = None) -> Any:
    """feedparser on prepared UTF-8 bytes (declared as such), or on raw bytes with their content type."""
    if content_type is None:
        data = b"<?xml version='1.0' encoding='utf-8'?>\n" + data
        content_type = "application/xml; charset=utf-8"
    import feedparser

    # Always a stream: given bytes or a str, feedparser may treat them as a path or URL and read it.
    return feedparser.parse(
        io.BytesIO(data),
        response_headers={"content-type": content_type},
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def _feedparser_result(result: Any) -> tuple[str | None, list[RawEntry]]:
    atom = str(result.get("version") or "").startswith("atom")
    feed = result.get("feed") or {}
    title = _fp_text(feed.get("title_detail"), feed.get("title"), atom)
    return title, [_entry_from_feedparser(e, atom) for e in result.get("entries") or ()]


def _bozo_reason(result: Any) -> str:
    exc = result.get("bozo_exception")
    return f"{type(exc).__name__}: {exc}"[:300] if exc is not None else "feedparser flagged the feed"


def parse_with_feedparser(
    body: bytes, content_type: str | None = None, url: str = "", *, prepare: bool = True
) -> ParsedFeed:
    """Parse with feedparser only (the fallback path), for comparisons and tests.

    With `prepare` (the default, and what parse_feed's fallback does) the body is first decoded
    and neutralised exactly as for the fast path; `prepare=False` hands feedparser the raw bytes
    as a stream, to measure feedparser alone.  `url` is informational only: feedparser never
    sees it, so it cannot fetch anything.
    """
    del url
    if prepare:
        data, _problem = _prepare(body, content_type)
        result = _run_feedparser(_escape_bare_ampersands(data))
    else:
        result = _run_feedparser(body, content_type or "application/xml")
    title, entries = _feedparser_result(result)
    bozo = bool(result.get("bozo"))
    return ParsedFeed(
        title=title,
        entries=entries,
        malformed=bozo and bool(entries),
        malformed_reason=_bozo_reason(result) if bozo else None,
        parser="feedparser",
    )


# --------------------------------------------------------------------------- public entry point


def parse_feed(body: bytes, *, content_type: str | None = None, url: str = "") -> ParsedFeed:
    """Parse a feed body: strict lxml first, feedparser when lxml cannot, a repair pass as last resort.

    Raises ParseError("empty-body") for an empty body, ("not-a-feed") for HTML or other
    non-feed documents, ("parse-error") for a feed-like document nothing could read.
    `url` is used only in error messages.
    """
    where = url or "feed"
    if not body or not body.lstrip(b"\xef\xbb\xbf").strip():
        raise ParseError("empty-body", f"{where}: the response body is empty")
    data, problem = _prepare(body, content_type)
    if not data.strip():
        # Something was there, but only a prolog (an unterminated DOCTYPE, say): broken XML.
        raise ParseError("parse-error", f"{where}: no document element after the XML prolog")

    fast = _parse_lxml(data)
    if fast is None:
        # The commonest breakage by far is a raw '&' (in a URL attribute, "Q&A").  Escaping it
        # (outside CDATA) is what the text meant; the fallback below reads the escaped bytes too,
        # or feedparser would turn "Q&A:" into "Q&A;:" and title-based ids would differ by path.
        escaped = _escape_bare_ampersands(data)
        if escaped != data:
            data = escaped
            fast = _parse_lxml(data)
            if fast is not None:
                problem = "; ".join(filter(None, ("unescaped '&' in the XML (repaired)", problem)))
    if fast is not None:
        title, entries = fast
        if entries or not _LOOKS_LIKE_ITEMS.search(data):
            return ParsedFeed(
                title=title,
                entries=entries,
                malformed=problem is not None,
                malformed_reason=problem,
                parser="lxml",
            )

    head = data[:_HEAD_BYTES]
    if _LOOKS_LIKE_HTML.search(head) and not _ROOT_START_BYTES.search(head):
        raise ParseError("not-a-feed", f"{where}: an HTML page, not a feed")

    result = _run_feedparser(data)
    title, entries = _feedparser_result(result)
    bozo = bool(result.get("bozo"))
    if entries:
        reasons = [r for r in (_bozo_reason(result) if bozo else None, problem) if r]
        return ParsedFeed(
            title=title,
            entries=entries,
            malformed=bool(reasons),
            malformed_reason="; ".join(reasons) or None,
            parser="feedparser",
        )

    repaired = _parse_repaired(data)
    if repaired is not None and repaired[1]:
        return ParsedFeed(
            title=repaired[0],
            entries=repaired[1],
            malformed=True,
            malformed_reason=f"repaired broken XML ({_bozo_reason(result) if bozo else 'not well-formed'})",
            parser="lxml-repair",
        )

    version = str(result.get("version") or "")
    if fast is not None:
        return ParsedFeed(title=fast[0], entries=[], parser="lxml")  # a well-formed feed, no entries
    if version and not bozo:
        return ParsedFeed(title=title, entries=[], parser="feedparser")
    if version or _ROOT_START_BYTES.search(head):
        raise ParseError("parse-error", f"{where}: {_bozo_reason(result)}")
    raise ParseError("not-a-feed", f"{where}: no RSS, RDF or Atom document found")


__all__: list[str] = ["ParseError", "parse_date", "parse_feed", "parse_with_feedparser"]
