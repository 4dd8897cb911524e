"""Plain data shared by every layer: fetch results, parsed entries, stored items, feed state."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from operator import attrgetter


class FetchOutcome(StrEnum):
    """What one HTTP fetch of a feed came to."""

    OK = "ok"
    NOT_MODIFIED = "not-modified"
    ERROR = "error"


class ErrorKind(StrEnum):
    """Classified reasons a feed poll failed; stored with the feed and shown to the user."""

    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    TOO_LARGE = "too-large"
    HTTP_STATUS = "http-status"
    RATE_LIMITED = "rate-limited"
    GONE = "gone"
    REDIRECT = "redirect"
    BAD_URL = "bad-url"
    DECODE = "decode"
    EMPTY = "empty-body"
    NOT_A_FEED = "not-a-feed"
    PARSE = "parse-error"
    STORAGE = "storage"
    OTHER = "other"


class FeedStatus(StrEnum):
    """A feed's health as shown by `sitmon feeds list` and the feed-health screen."""

    OK = "ok"
    NOT_MODIFIED = "not-modified"
    FAILING = "failing"
    GONE = "gone"
    NEVER_POLLED = "never-polled"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one conditional GET, with everything the poller needs to record."""

    url: str
    outcome: FetchOutcome
    body: bytes | None = None
    http_status: int | None = None
    content_type: str | None = None
    final_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error_kind: ErrorKind | None = None
    error: str | None = None
    retry_after: float | None = None
    """Seconds the server asked us to wait (Retry-After), already clamped."""
    permanent_redirect: str | None = None
    """Target of a 301/308 chain, when every hop was permanent."""
    elapsed: float = 0.0


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One feed entry as the parser saw it; text not yet cleaned."""

    guid: str | None
    link: str | None
    title: str | None
    summary: str | None
    published: datetime | None
    """Aware UTC datetime when the feed gave a parseable date, else None."""
    author: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed document reduced to its title and raw entries."""

    title: str | None
    entries: list[RawEntry]
    malformed: bool = False
    """True when the XML was broken but the lenient parser salvaged entries."""
    malformed_reason: str | None = None
    parser: str = "feedparser"


@dataclass(frozen=True, slots=True)
class CleanEntry:
    """An entry after normalisation: plain text, safe link, UTC date, stable id."""

    id: str
    guid: str
    link: str | None
    title: str
    summary: str
    published: datetime
    date_estimated: bool
    """True when `published` is the first-seen time because the feed's date was missing or unusable."""
    author: str | None = None

    def __reduce__(self) -> tuple[type[CleanEntry], tuple[object, ...]]:
        # Pickled by its fields in order: every entry crosses from a parse worker to the poller, and
        # the state methods dataclasses give a frozen class with slots cost twice as much each way.
        return (CleanEntry, _CLEAN_ENTRY_FIELDS(self))


_CLEAN_ENTRY_FIELDS = attrgetter(*(f.name for f in fields(CleanEntry)))


@dataclass(frozen=True, slots=True)
class Item:
    """A stored news item as every front end sees it."""

    id: str
    feed_url: str
    guid: str
    link: str | None
    title: str
    summary: str
    source: str
    published: datetime
    fetched_at: datetime
    tracks: tuple[str, ...] = ()
    matched: dict[str, list[str]] = field(default_factory=dict)
    read: bool = False
    starred: bool = False
    date_estimated: bool = False
    cluster_id: str | None = None
    cluster_size: int = 1
    """Number of distinct outlets carrying the item's story (1 when unclustered)."""
    rowid: int = 0
    """Storage position; with `published` it is the keyset cursor for paging."""


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed's stored polling state."""

    url: str
    title: str
    status: FeedStatus
    etag: str | None = None
    last_modified: str | None = None
    last_polled: datetime | None = None
    last_success: datetime | None = None
    next_poll: datetime | None = None
    error_count: int = 0
    error_kind: str | None = None
    last_error: str | None = None
    gone_count: int = 0
    malformed: bool = False
    items: int = 0
    redirect_count: int = 0
    redirect_target: str | None = None


@dataclass(frozen=True, slots=True)
class FeedPollReport:
    """What polling one feed did; one line of `sitmon poll` output."""

    url: str
    title: str
    status: str
    new_items: int = 0
    updated_items: int = 0
    seconds: float = 0.0
    error: str | None = None
    error_kind: str | None = None


@dataclass(frozen=True, slots=True)
class PollReport:
    """A whole poll cycle."""

    started: datetime
    finished: datetime
    feeds: list[FeedPollReport]

    @property
    def new_items(self) -> int:
        return sum(f.new_items for f in self.feeds)

    @property
    def failing(self) -> int:
        return sum(1 for f in self.feeds if f.status in (FeedStatus.FAILING, FeedStatus.GONE))

    @property
    def all_failed(self) -> bool:
        return bool(self.feeds) and self.failing == len(self.feeds)
