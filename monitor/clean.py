"""Normalise raw entries: HTML to plain text, safe links, UTC dates, stable ids (pure functions)."""

from __future__ import annotations

import functools
import hashlib
import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

from monitor.models import CleanEntry, RawEntry
from monitor.textsafe import strip_controls

TITLE_MAX_CHARS = 1_000
"""Longest title kept, ellipsis included; real headlines stay far below it."""
SUMMARY_MAX_CHARS = 10_000
"""Longest summary kept, ellipsis included; enough for a long lede, not a whole article."""
AUTHOR_MAX_CHARS = 200
FEED_TITLE_MAX_CHARS = 200
LINK_MAX_CHARS = 4_096
"""Longer links are dropped: no real article URL needs more, and they only bloat rows."""
RAW_INPUT_FACTOR = 20
"""html_to_text reads at most limit x this many characters of markup, so a megabyte field costs no more
than a short one; markup rarely outweighs its text twentyfold."""
UNTITLED_CHARS = 120
"""An entry without a title is shown under this much of its summary."""
FUTURE_TOLERANCE = timedelta(days=1)
"""Dates further ahead than this are clock or timezone errors; such entries are stamped `now`."""
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
"""Dates before this are placeholders (epoch 0, year 1) rather than news."""
ELLIPSIS = "…"

# Comments and script/style bodies end at their closer or, when unterminated, at the end of the
# input (as in a browser); matching "or end" keeps an unterminated opener from rescanning.
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_HIDDEN = re.compile(r"<(script|style|template)\b[^<>]*>.*?(?:</\1\s*>|\Z)", re.DOTALL | re.IGNORECASE)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|\Z)", re.DOTALL)
# The engine tries these in order at every '<': the common ones first (each name is a whole word,
# so the order never changes what matches).
_BLOCK_TAGS = (
    "p|br|div|li|h[1-6]|ul|ol|tr|td|th|address|article|aside|blockquote|dd|dl|dt|figcaption|figure|"
    "footer|header|hr|main|nav|pre|section|table|tbody|tfoot|thead"
)
_BLOCK = re.compile(rf"</?(?:{_BLOCK_TAGS})\b(?:[^<>\"']|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE)
# A tag is '<' + name (or '/', '!', '?') up to the first '>' outside quotes.  The unquoted class
# excludes '<' so an unclosed tag stops at the next one instead of scanning to the end.
_TAG = re.compile(r"<[/!?]?[A-Za-z](?:[^<>\"']|\"[^\"]*\"|'[^']*')*>")
_DANGLING_TAG = re.compile(r"<[/!?]?[A-Za-z][^<>]*\Z")
# ASCII-only case folding, like searching the text's lowercase for "<script" (re.IGNORECASE alone
# would also take "<ſcript" for one).
_HIDDEN_OPENER = re.compile(r"<(?:script|style|template)", re.IGNORECASE | re.ASCII)
# Only complete references (with ';') are decoded: "&notes" in a headline stays "&notes".
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_LAYOUT_WS = re.compile("[\r\f\v]")  # whitespace that strip_controls would delete outright
_ALLOWED_SCHEMES = frozenset({"http", "https"})
_URL_WS = re.compile(r"[\t\n\r]")
# An absolute http(s) link with a lowercase ASCII host, no credentials, a port that is surely valid
# and nothing but printable ASCII after it: nothing in it to strip, resolve or normalise.
_PLAIN_LINK = re.compile(r"https?://[a-z0-9.-]+(?::[0-9]{1,4})?(?:[/?#][!-~]*)?\Z")


def _decode_entity(match: re.Match[str]) -> str:
    return _unescape(match.group())


@functools.lru_cache(maxsize=4096)
def _unescape(reference: str) -> str:
    # Feeds repeat a handful of references ("&#8211;", "&amp;") in every item.
    return html.unescape(reference)


def _truncate(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS


def html_to_text(s: str | None, *, limit: int | None = None, multiline: bool = False) -> str:
    """Plain text from an HTML fragment: tags removed, entities decoded exactly once, controls stripped.

    Block-level tags separate words; with `multiline` they become line breaks (one per block,
    blank lines dropped), otherwise everything is one line.  `limit` caps the result (ellipsis
    included) and bounds the work done on huge input.
    """
    if not s:
        return ""
    if limit is not None and len(s) > limit * RAW_INPUT_FACTOR:
        s = _DANGLING_TAG.sub("", s[: limit * RAW_INPUT_FACTOR])
    if "<" in s:
        # Each pass scans the whole text: the rare ones run only when a cheap substring test says
        # they can match (most summaries carry plain <p> and <a> markup and nothing else).
        if "<!--" in s:
            s = _COMMENT.sub("", s)
        if _HIDDEN_OPENER.search(s):
            s = _HIDDEN.sub("", s)
        if "<![CDATA[" in s:
            s = _CDATA.sub(r"\1", s)
        s = _BLOCK.sub("\n", s)
        s = _TAG.sub("", s)
        last = s.rfind("<")
        if last != -1 and ">" not in s[last:]:
            s = s[:last] + _DANGLING_TAG.sub("", s[last:])
    if "&" in s:
        s = _ENTITY.sub(_decode_entity, s)
    if "\r" in s or "\f" in s or "\v" in s:
        s = _LAYOUT_WS.sub(" ", s)
    s = strip_controls(s)
    if multiline:
        lines = (" ".join(line.split()) for line in s.split("\n"))
        s = "\n".join(line for line in lines if line)
    else:
        s = " ".join(s.split())
    return _truncate(s, limit)


def safe_link(url: str | None, base: str | None) -> str | None:
    """An absolute http(s) link without credentials, resolved against `base`; None for anything else."""
    if not url:
        return None
    if len(url) <= LINK_MAX_CHARS and _PLAIN_LINK.match(url):
        return url  # what `_checked_link` returns for it, at a tenth of the cost
    return _checked_link(url, base)


def _checked_link(url: str, base: str | None) -> str | None:
    url = _URL_WS.sub("", strip_controls(url)).strip()
    if not url or len(url) > LINK_MAX_CHARS:
        return None
    url = url.replace(" ", "%20")
    try:
        parts = urlsplit(url)
        if not parts.scheme:
            base_url = _safe_base(base)
            if base_url is None:
                return None
            url = urljoin(base_url, url)
            parts = urlsplit(url)
        scheme = parts.scheme  # urlsplit lowercases it
        host = parts.hostname  # lowercased, without credentials
        if scheme not in _ALLOWED_SCHEMES or not host:
            return None
        port = parts.port  # ValueError for a non-numeric or out-of-range port
    except ValueError:
        return None
    netloc = parts.netloc
    if "@" in netloc or not url.startswith(f"{scheme}://") or netloc != netloc.lower():
        # Rebuild only when something must go (credentials) or be normalised (case):
        # most links come back as the very string the feed gave.
        host = f"[{host}]" if ":" in host else host
        netloc = f"{host}:{port}" if port is not None else host
        url = urlunsplit(SplitResult(scheme, netloc, parts.path, parts.query, parts.fragment))
    return url if len(url) <= LINK_MAX_CHARS else None


@functools.lru_cache(maxsize=256)
def _safe_base(base: str | None) -> str | None:
    """The feed URL as a join base, only when it is itself an absolute http(s) URL (cached: one per feed)."""
    if not base:
        return None
    base = strip_controls(base).strip()
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    if parts.scheme not in _ALLOWED_SCHEMES or not parts.netloc:
        return None
    return base


def _identity(value: str | None) -> str:
    """A guid or link as used for identity: controls and surrounding whitespace removed, else untouched."""
    return strip_controls(value).strip() if value else ""


def entry_id(
    feed_url: str, guid: str | None, link: str | None, title: str, published: datetime | None
) -> tuple[str, str]:
    """Return (id, guid_used): sha1 of the feed URL and the entry's guid, else its link, else title+date.

    `link` should be the link as the feed gave it (not resolved) and `published` the feed's own
    date (None when missing), never the time the entry was first seen, so the id is the same
    on every poll and whichever parser read the feed.
    """
    key = _identity(guid) or _identity(link)
    if not key:
        when = published.astimezone(UTC).isoformat() if published is not None else ""
        key = f"{title}\n{when}"
    digest = hashlib.sha1(f"{feed_url}\n{key}".encode("utf-8", "surrogatepass"), usedforsecurity=False)
    return digest.hexdigest(), key


def _entry_date(published: datetime | None, now: datetime) -> tuple[datetime, bool]:
    """(date to show, estimated?) from the feed's date: missing, pre-1990 or far-future -> now."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC)
    if published is None:
        return now, True
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)  # RawEntry promises UTC; be lenient with naive ones
    published = published.astimezone(UTC)
    if published < EARLIEST_PLAUSIBLE or published > now + FUTURE_TOLERANCE:
        return now, True
    return published, False


def clean_entry(raw: RawEntry, *, feed_url: str, now: datetime) -> CleanEntry | None:
    """Clean one raw entry; None when it has no title, no summary and no usable link."""
    title = html_to_text(raw.title, limit=TITLE_MAX_CHARS)
    summary = html_to_text(raw.summary, limit=SUMMARY_MAX_CHARS, multiline=True)
    link = safe_link(raw.link, feed_url)
    if not title and not summary and not link:
        return None
    if not title:
        # Something must head the row: the start of the summary, else the link itself.
        title = _truncate(" ".join(summary.split()), UNTITLED_CHARS) if summary else (link or "")
    item_id, guid_used = entry_id(feed_url, raw.guid, raw.link, title, raw.published)
    published, estimated = _entry_date(raw.published, now)
    author = html_to_text(raw.author, limit=AUTHOR_MAX_CHARS) or None
    return CleanEntry(
        id=item_id,
        guid=guid_used,
        link=link,
        title=title,
        summary=summary,
        published=published,
        date_estimated=estimated,
        author=author,
    )


def clean_feed_title(s: str | None) -> str:
    """A feed's title as one plain-text line (empty when the feed has none)."""
    return html_to_text(s, limit=FEED_TITLE_MAX_CHARS)
