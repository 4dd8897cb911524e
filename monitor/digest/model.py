"""What a daily digest says, gathered from the store: per-track stories and counts, other news, feed health."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from monitor.clustering import outlet_key
from monitor.models import FeedStatus, Item
from monitor.textsafe import one_line
from monitor.urls import redact, redact_text

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store import Store

TOP_STORIES = 5
"""Stories per track shown with their first report and other outlets."""
ALSO_REPORTED = 8
"""Further stories per track listed one line each."""


@dataclass(frozen=True, slots=True)
class Report:
    """One outlet's report of a story. Text fields are untrusted feed text, already one line and
    free of control sequences; renderers still escape them for their format."""

    title: str
    source: str
    published: datetime
    link: str | None
    """Only http(s) links survive; anything else is None."""
    item_id: str


@dataclass(frozen=True, slots=True)
class Story:
    """One event as several outlets reported it (a cluster), seen from one day."""

    cluster_id: str
    first: Report
    """The earliest report (it may be from the day before)."""
    others: tuple[Report, ...]
    """The earliest report of every other outlet, in time order."""
    outlets: int
    items: int
    latest: datetime

    @property
    def title(self) -> str:
        return self.first.title


@dataclass(frozen=True, slots=True)
class Counts:
    """Items and distinct sources on the day and the day before."""

    items: int
    sources: int
    prev_items: int
    prev_sources: int


@dataclass(frozen=True, slots=True)
class Negotiation:
    """A track's negotiation status as the digest shows it."""

    name: str
    status: str
    arrow: str
    momentum: str
    since: datetime | None
    rationale: str
    change: tuple[str | None, str] | None = None
    """(status the day before, status now) when it changed over the day; None when unchanged."""
    override: str | None = None
    """The analyst's own status and note, when one is set."""


@dataclass(frozen=True, slots=True)
class TrackSection:
    id: str
    title: str
    negotiation: Negotiation | None
    counts: Counts
    top: tuple[Story, ...]
    also: tuple[Story, ...]
    more: int
    """Stories of the day not listed."""


@dataclass(frozen=True, slots=True)
class FeedProblem:
    title: str
    url: str
    status: str
    kind: str | None
    error: str
    last_success: datetime | None


@dataclass(frozen=True, slots=True)
class Digest:
    """One calendar day in the configured timezone."""

    day: date
    timezone: str
    tz: tzinfo
    start: datetime
    end: datetime
    generated: datetime
    tracks: tuple[TrackSection, ...]
    untracked: Counts
    untracked_stories: int
    feeds_total: int
    feeds_failing: tuple[FeedProblem, ...] = field(default=())

    @property
    def feeds_healthy(self) -> int:
        return self.feeds_total - len(self.feeds_failing)


NegotiationSource = Callable[["Store", "Config", date, datetime], dict[str, Negotiation]]
"""(store, config, day, as_of) -> track id -> status; the default reads monitor.negotiation."""


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """Midnight to midnight in the configured zone (23 or 25 hours on a clock change)."""
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start, end


def zone_name(tz: tzinfo, moment: datetime) -> str:
    return str(getattr(tz, "key", None) or moment.astimezone(tz).tzname() or "local time")


def safe_link(link: str | None) -> str | None:
    """The link if it is an http(s) URL without whitespace or control characters, else None."""
    if not link:
        return None
    link = link.strip()
    if not link.lower().startswith(("http://", "https://")):
        return None
    if any(c.isspace() or ord(c) < 32 or 127 <= ord(c) < 160 for c in link):
        return None
    return link


def _report(item: Item) -> Report:
    return Report(
        title=one_line(item.title) or "(untitled)",
        source=one_line(item.source) or "(unknown source)",
        published=item.published,
        link=safe_link(item.link),
        item_id=item.id,
    )


def _story(items: Sequence[Item]) -> Story:
    """Items of one cluster, oldest first."""
    first = items[0]
    first_outlet = outlet_key(first.source, first.feed_url)
    seen = {first_outlet}
    others: list[Report] = []
    for item in items[1:]:
        outlet = outlet_key(item.source, item.feed_url)
        if outlet not in seen:
            seen.add(outlet)
            others.append(_report(item))
    return Story(
        cluster_id=first.cluster_id or first.id,
        first=_report(first),
        others=tuple(others),
        outlets=len(seen),
        items=len(items),
        latest=max(i.published for i in items),
    )


def rank(stories: Iterable[Story]) -> list[Story]:
    """Most outlets first, then the most recent report, then the headline (for a stable order)."""
    return sorted(stories, key=lambda s: (-s.outlets, -s.latest.timestamp(), s.title, s.cluster_id))


def engine_negotiation(store: Store, config: Config, day: date, as_of: datetime) -> dict[str, Negotiation]:
    """Statuses from monitor.negotiation as of `as_of`, with the change over `day`."""
    from monitor.negotiation import compute_statuses, status_changes

    changes = status_changes(store, config, day)
    out: dict[str, Negotiation] = {}
    for status in compute_statuses(store, config, as_of):
        override = None
        if status.override is not None:
            note = f": {status.override.note}" if status.override.note else ""
            override = f"{status.override.status} (set by {status.override.set_by}){note}"
        out[status.track] = Negotiation(
            name=one_line(status.name),
            status=status.status,
            arrow=status.arrow,
            momentum=status.momentum,
            since=status.since,
            rationale=one_line(status.rationale),
            change=changes.get(status.track),
            override=one_line(override) if override else None,
        )
    return out


def build_digest(store: Store, config: Config, now: datetime, *, day: date | None = None,
                 negotiation: NegotiationSource | None = engine_negotiation, top: int = TOP_STORIES,
                 also: int = ALSO_REPORTED) -> Digest:  # fmt: skip
    """Gather one day's digest (default: the day `now` falls on in the configured zone).

    Reports published after the day are left out, so a past day's digest does not change later.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = config.settings.tz
    day = day or now.astimezone(tz).date()
    start, end = day_bounds(day, tz)
    prev_start, _ = day_bounds(day - timedelta(days=1), tz)
    items = store.items_between(start, end)
    cluster_ids = {i.cluster_id for i in items if i.cluster_id}
    by_cluster: dict[str, list[Item]] = {}
    for item in store.items_in_clusters(cluster_ids, end):
        by_cluster.setdefault(item.cluster_id or item.id, []).append(item)
    for item in items:
        if not item.cluster_id:  # never clustered: a story of its own
            by_cluster[item.id] = [item]
    stories = {key: _story(members) for key, members in by_cluster.items()}

    today = store.day_counts(start, end)
    before = store.day_counts(prev_start, start)
    as_of = min(now, end - timedelta(seconds=1))
    statuses = negotiation(store, config, day, as_of) if negotiation else {}

    sections: list[TrackSection] = []
    for track in config.tracks:
        keys = {i.cluster_id or i.id for i in items if track.id in i.tracks}
        ranked = rank(stories[k] for k in keys)
        counts = Counts(*today.get(track.id, (0, 0)), *before.get(track.id, (0, 0)))
        sections.append(
            TrackSection(
                id=track.id,
                title=one_line(track.title),
                negotiation=statuses.get(track.id),
                counts=counts,
                top=tuple(ranked[:top]),
                also=tuple(ranked[top : top + also]),
                more=max(0, len(ranked) - top - also),
            )
        )
    from monitor.store import UNTRACKED

    untracked_keys = {i.cluster_id or i.id for i in items if not i.tracks}
    feeds = store.feed_states()
    failing = tuple(
        FeedProblem(
            title=one_line(f.title),
            url=one_line(redact(f.url)),
            status=str(f.status),
            kind=f.error_kind,
            error=one_line(redact_text(f.last_error or "")),
            last_success=f.last_success,
        )
        for f in feeds
        if f.status in (FeedStatus.FAILING, FeedStatus.GONE)
    )
    return Digest(
        day=day,
        timezone=zone_name(tz, start),
        tz=tz,
        start=start,
        end=end,
        generated=now,
        tracks=tuple(sections),
        untracked=Counts(*today.get(UNTRACKED, (0, 0)), *before.get(UNTRACKED, (0, 0))),
        untracked_stories=len(untracked_keys),
        feeds_total=len(feeds),
        feeds_failing=failing,
    )
