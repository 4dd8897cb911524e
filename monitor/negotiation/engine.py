"""The status engine: weighs each track's signals by recency and sources into a status, momentum and since."""

from __future__ import annotations

import bisect
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from monitor.config import Config
from monitor.models import Item
from monitor.negotiation.model import (
    ARROWS,
    STATUS_RANK,
    HistoryEntry,
    Movement,
    Override,
    TrackStatus,
)
from monitor.negotiation.signals import Analysis, Reader
from monitor.negotiation_config import NegotiationTrack

if TYPE_CHECKING:
    from monitor.store import Store

OTHERS = ("agreement", "stalled", "breakdown", "escalation")
"""The signals `talks` has to outscore by `talks_share`."""
TONE = {"agreement": 2.0, "talks": 1.0, "stalled": -1.0, "breakdown": -2.0, "escalation": -3.0}
"""How good each signal is for the diplomacy; the weighted mean is the window's tone."""
PRIORITY = {"breakdown": 4, "escalation": 3, "agreement": 2, "stalled": 1, "talks": 0}
"""Tie-break between equally strong signals: the one an analyst most needs to see."""
ITEM_LIMIT = 100_000
"""Rows per track and time slice read from the store; far above any real window."""
_CACHE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class _Entry:
    """One stored item and what it contributes to each track."""

    ts: int
    item: Item
    contributions: dict[str, dict[str, float]]
    """Track -> signal -> the item's weight for it."""
    analysis: Analysis


@dataclass(frozen=True, slots=True)
class _Scores:
    status: str
    scores: dict[str, float]
    tone: float | None
    top: float
    # signal -> [(decayed contribution, entry)] for evidence and the rationale
    support: dict[str, list[tuple[float, _Entry]]]


# Reading an item costs sentence splitting and tagging: keep the result per configuration and item
# text, so the TUI's refresh after each poll only reads what is new.
_READERS: OrderedDict[int, tuple[Config, Reader]] = OrderedDict()
_ANALYSES: OrderedDict[tuple[int, str, int], Analysis] = OrderedDict()
# The TUI computes in a worker thread while the poller may record history in another.
_CACHE_LOCK = threading.Lock()


def reader_for(config: Config) -> Reader:
    key = id(config)
    with _CACHE_LOCK:
        hit = _READERS.get(key)
        if hit is not None and hit[0] is config:
            _READERS.move_to_end(key)
            return hit[1]
    reader = Reader(config)
    with _CACHE_LOCK:
        _READERS[key] = (config, reader)  # holding the config keeps its id from being reused
        while len(_READERS) > 4:
            _READERS.popitem(last=False)
    return reader


def _analyse(reader: Reader, item: Item) -> Analysis:
    key = (id(reader.config), item.id, hash((item.title, item.summary, item.tracks)))
    with _CACHE_LOCK:
        hit = _ANALYSES.get(key)
        if hit is not None:
            _ANALYSES.move_to_end(key)
            return hit
    analysis = reader.read(item)
    with _CACHE_LOCK:
        _ANALYSES[key] = analysis
        while len(_ANALYSES) > _CACHE_SIZE:
            _ANALYSES.popitem(last=False)
    return analysis


def analysis_of(config: Config, item: Item) -> Analysis:
    """What the engine read in one item (cached): the mentions per track, upcoming events, names."""
    return _analyse(reader_for(config), item)


class StatusEngine:
    """Statuses at any moment over one store; loads and reads items lazily and only once."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.reader = reader_for(config)
        self.tracks: dict[str, NegotiationTrack] = self.reader.tracks
        self._entries: list[_Entry] = []
        self._keys: list[int] = []
        self._ids: set[str] = set()
        self._loaded: tuple[int, int] | None = None

    # ---- loading ----------------------------------------------------------------------------------

    def _ensure(self, start: int, end: int) -> None:
        """Make sure tracked items published in [start, end) are loaded (epoch seconds)."""
        if self._loaded is None:
            self._load(start, end)
            self._loaded = (start, end)
            return
        lo, hi = self._loaded
        if start < lo:
            self._load(start, lo)
        if end > hi:
            self._load(hi, end)
        self._loaded = (min(lo, start), max(hi, end))

    def _load(self, start: int, end: int) -> None:
        if end <= start:
            return
        since, until = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
        new: list[_Entry] = []
        # Every item filed under any track; a sentence may still speak of another track.
        for track in self.config.track_ids:
            for item in self.store.query_items(track=track, since=since, until=until, limit=ITEM_LIMIT):
                if item.id in self._ids:
                    continue
                self._ids.add(item.id)
                analysis = _analyse(self.reader, item)
                contributions = {t: c for t in self.tracks if (c := analysis.contributions(t))}
                new.append(_Entry(int(item.published.timestamp()), item, contributions, analysis))
        if new:
            self._entries = sorted([*self._entries, *new], key=lambda e: (e.ts, e.item.rowid))
            self._keys = [e.ts for e in self._entries]

    def _span(self, track: str) -> int:
        return int(self.tracks[track].tuning.window_days * 86400)

    def _between(self, track: str, start: int, at: int) -> list[_Entry]:
        """Entries with a signal for `track`, published in (start, at], oldest first."""
        self._ensure(start, at + 1)
        lo = bisect.bisect_right(self._keys, start)
        hi = bisect.bisect_right(self._keys, at)
        return [e for e in self._entries[lo:hi] if track in e.contributions]

    def _window(self, track: str, at: int) -> list[_Entry]:
        """Entries counted at moment `at`: published in (at - window, at]."""
        return self._between(track, at - self._span(track), at)

    # ---- scoring ----------------------------------------------------------------------------------

    def scores_at(self, track: str, at: int) -> _Scores:
        """Signal scores and the resulting status of a track at moment `at` (epoch seconds)."""
        tuning = self.tracks[track].tuning
        half_life = tuning.half_life_hours * 3600
        per_source: dict[tuple[str, str], list[tuple[float, _Entry]]] = {}
        for entry in self._window(track, at):
            decay = 0.5 ** ((at - entry.ts) / half_life)
            source = entry.item.source or entry.item.feed_url
            for signal, value in entry.contributions[track].items():
                per_source.setdefault((signal, source), []).append((value * decay, entry))
        scores = dict.fromkeys(TONE, 0.0)
        support: dict[str, list[tuple[float, _Entry]]] = {}
        for (signal, _source), values in per_source.items():
            values.sort(key=lambda v: -v[0])
            # Each source's best report counts fully, its repeats a little: many outlets > one loud one.
            scores[signal] += values[0][0] + tuning.same_source_weight * sum(v for v, _ in values[1:])
            support.setdefault(signal, []).extend(values)
        for values in support.values():
            values.sort(key=lambda v: (-v[0], -v[1].ts))
        total = sum(scores.values())
        tone = sum(TONE[s] * v for s, v in scores.items()) / total if total > 0 else None
        top = max(scores.values())
        return _Scores(_decide(scores, tuning.quiet_below, tuning.talks_share), scores, tone, top, support)

    def status_at(self, track: str, at: int) -> str:
        return self.scores_at(track, at).status

    # ---- since --------------------------------------------------------------------------------------

    def since(self, track: str, at: int, current: str) -> datetime | None:
        """When `current` began to hold, walking back over the moments the status can change: an
        item arriving, an item leaving the window, or the strongest signal fading below quiet.
        None when it held for the whole lookback (or there is nothing to go on)."""
        tuning = self.tracks[track].tuning
        span = self._span(track)
        start = at - int(tuning.lookback_days * 86400)
        stamps = [e.ts for e in self._between(track, start - span, at)]
        events = {ts for ts in stamps if ts >= start}
        events.update(ts + span for ts in stamps if start <= ts + span <= at)
        if not events:
            return None
        half_life = tuning.half_life_hours * 3600
        above: int | None = None
        for event in sorted(events, reverse=True):
            scored = self.scores_at(track, event)
            fade = event + _fade_seconds(scored.top, tuning.quiet_below, half_life)
            if current == "quiet":
                if scored.status != "quiet":
                    return _dt(min(fade, at))
            else:
                if scored.status != current:
                    return _dt(above) if above is not None else _dt(at)
                if above is not None and scored.status != "quiet" and fade < above:
                    return _dt(above)
            above = event
        earliest = min(events)
        if current != "quiet" and stamps and stamps[0] >= start:
            # Nothing before the first item: the status began with it.
            return _dt(earliest)
        return None

    # ---- the whole picture ----------------------------------------------------------------------------

    def compute(
        self, as_of: datetime, *, full: bool = True, overrides: dict[str, Override] | None = None
    ) -> list[TrackStatus]:
        """Statuses of every track in config order. `full=False` skips since, actors and the other
        extras (for backfilling history)."""
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        at = int(as_of.timestamp())
        if overrides is None:
            overrides = self.store.status_overrides(self.tracks) if full else {}
        out = []
        for track_config in self.config.tracks:
            track = track_config.id
            if track not in self.tracks:
                continue
            out.append(self._track_status(track, at, as_of, full, overrides.get(track)))
        return out

    def _track_status(
        self, track: str, at: int, as_of: datetime, full: bool, override: Override | None
    ) -> TrackStatus:
        neg = self.tracks[track]
        tuning = neg.tuning
        now = self.scores_at(track, at)
        before = self.scores_at(track, at - int(tuning.momentum_hours * 3600))
        momentum = _momentum(before, now, tuning.momentum_margin)
        window = self._window(track, at)
        evidence = [entry.item.id for _, entry in _unique(now.support.get(now.status, []))][
            : tuning.max_evidence
        ]
        movement = _last_movement(window, track)
        if full and movement is None:
            movement = _last_movement(self._between(track, at - int(tuning.lookback_days * 86400), at), track)
        actors: list[str] = []
        venues: list[str] = []
        upcoming: list[str] = []
        since = None
        if full:
            since = self.since(track, at, now.status)
            actors = _ranked(entry.analysis.actors.get(track, []) for entry in window)
            venues = _ranked(entry.analysis.venues.get(track, []) for entry in window)
            fresh = at - int(tuning.upcoming_days * 86400)
            seen: set[str] = set()
            for entry in reversed(window):
                if entry.ts < fresh:
                    break
                for sentence in entry.analysis.upcoming.get(track, []):
                    key = " ".join(sentence.lower().split())
                    if key not in seen:
                        seen.add(key)
                        upcoming.append(sentence)
            upcoming = upcoming[: tuning.max_upcoming]
        return TrackStatus(
            track=track,
            name=neg.name,
            status=now.status,
            momentum=momentum,
            arrow=ARROWS[momentum],
            since=since,
            rationale=_rationale(now, track, tuning.window_days, at),
            last_movement=movement,
            evidence=evidence,
            actors=actors,
            venues=venues,
            upcoming=upcoming,
            override=override,
            scores={k: round(v, 3) for k, v in now.scores.items()},
            as_of=as_of,
        )


# ---- pure helpers ----------------------------------------------------------------------------------


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _decide(scores: dict[str, float], quiet_below: float, talks_share: float) -> str:
    top = max(scores.values())
    if top <= 0 or top < quiet_below:
        return "quiet"
    best = max(OTHERS, key=lambda s: (scores[s], PRIORITY[s]))
    # Talks are the background of all diplomacy; a deadlock or a walk-out reported alongside them
    # says more about where things stand, so talks must clearly outweigh it.
    if scores["talks"] > 0 and scores["talks"] >= talks_share * scores[best]:
        return "talks"
    return best


def _fade_seconds(top: float, quiet_below: float, half_life: float) -> int:
    """Seconds until a score of `top` decays below `quiet_below`."""
    if top <= 0 or quiet_below <= 0 or top < quiet_below:
        return 0
    return int(half_life * math.log2(top / quiet_below)) + 1


def _momentum(before: _Scores, now: _Scores, margin: float) -> str:
    a, b = STATUS_RANK[before.status], STATUS_RANK[now.status]
    if b > a:
        return "improving"
    if b < a:
        return "deteriorating"
    if before.tone is not None and now.tone is not None:
        if now.tone - before.tone >= margin:
            return "improving"
        if before.tone - now.tone >= margin:
            return "deteriorating"
    return "unchanged"


def _unique(values: Iterable[tuple[float, _Entry]]) -> list[tuple[float, _Entry]]:
    seen: set[str] = set()
    out = []
    for value, entry in values:
        if entry.item.id not in seen:
            seen.add(entry.item.id)
            out.append((value, entry))
    return out


def _last_movement(entries: Sequence[_Entry], track: str) -> Movement | None:
    for entry in reversed(entries):
        mine = entry.contributions.get(track)
        if mine:
            signal = max(mine, key=lambda s: (mine[s], PRIORITY[s]))
            item = entry.item
            return Movement(item.published, item.title, item.source, item.link, item.id, signal)
    return None


def _ranked(groups: Iterable[list[str]]) -> list[str]:
    """Names by how many items mention them, then first seen."""
    counts: dict[str, int] = {}
    for names in groups:
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: -counts[n])


def age(seconds: float) -> str:
    """A short age: 45m, 5h, 3d."""
    if seconds < 3600:
        return f"{max(0, int(seconds // 60))}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def _phrases(support: list[tuple[float, _Entry]], track: str, signal: str, limit: int = 3) -> list[str]:
    counts: dict[str, float] = {}
    for value, entry in support:
        for mention in entry.analysis.mentions:
            if mention.track == track and mention.signal == signal:
                counts[mention.text] = counts.get(mention.text, 0.0) + value
    return sorted(counts, key=lambda p: -counts[p])[:limit]


def _rationale(scored: _Scores, track: str, window_days: float, at: int) -> str:
    """One line in plain words: the status, the words behind it, how many reports, how fresh."""
    days = f"{window_days:g} day{'s' if window_days != 1 else ''}"
    if scored.status == "quiet":
        if scored.top > 0:
            return f"Quiet: only faint or old signals in the last {days}."
        return f"Quiet: no negotiation signal in the last {days}."
    support = _unique(scored.support.get(scored.status, []))
    phrases = _phrases(scored.support.get(scored.status, []), track, scored.status)
    sources = {entry.item.source or entry.item.feed_url for _, entry in support}
    newest = max((entry.ts for _, entry in support), default=at)
    reports = f"{len(support)} report{'s' if len(support) != 1 else ''}"
    outlets = f"{len(sources)} source{'s' if len(sources) != 1 else ''}"
    line = f"{scored.status.capitalize()}: {_quote(phrases)} ({reports}, {outlets}, latest {age(at - newest)} ago)"
    runner = sorted(
        (s for s in TONE if s != scored.status and scored.scores[s] > 0), key=lambda s: -scored.scores[s]
    )
    if runner and scored.scores[runner[0]] >= 0.5 * scored.scores[scored.status]:
        other = runner[0]
        also = _phrases(scored.support.get(other, []), track, other, 2)
        line += f"; {other} also reported ({_quote(also)})" if also else f"; {other} also reported"
    return line + "."


def _quote(phrases: list[str]) -> str:
    return ", ".join(f"“{p}”" for p in phrases) if phrases else "signals"


# ---- public API ----------------------------------------------------------------------------------------


def compute_statuses(store: Store, config: Config, as_of: datetime) -> list[TrackStatus]:
    """One TrackStatus per configured track, in config order, as of `as_of` (aware).

    Only items published at or before `as_of` count, so the result for a past moment is
    reproducible; the analyst override in force now is attached to each status."""
    return StatusEngine(store, config).compute(as_of)


def status_json(ts: TrackStatus) -> dict[str, Any]:
    """The JSON shape of `sitmon status --format json` for one track."""
    movement = ts.last_movement
    override = ts.override
    return {
        "track": ts.track,
        "name": ts.name,
        "status": ts.status,
        "effective_status": ts.effective_status,
        "momentum": ts.momentum,
        "arrow": ts.arrow,
        "since": _iso(ts.since),
        "rationale": ts.rationale,
        "last_movement": None
        if movement is None
        else {
            "published": _iso(movement.published),
            "title": movement.title,
            "source": movement.source,
            "link": movement.link,
            "item_id": movement.item_id,
            "signal": movement.signal,
        },
        "evidence": list(ts.evidence),
        "actors": list(ts.actors),
        "venues": list(ts.venues),
        "upcoming": list(ts.upcoming),
        "override": None
        if override is None
        else {
            "status": override.status,
            "note": override.note,
            "set_by": override.set_by,
            "set_at": _iso(override.set_at),
        },
        "scores": dict(ts.scores),
        "as_of": _iso(ts.as_of),
    }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def day_end(day: date, config: Config) -> datetime:
    """The last second of a calendar day in the configured timezone."""
    tz = config.settings.tz
    return datetime.combine(day + timedelta(days=1), time(0), tz) - timedelta(seconds=1)


def status_changes(store: Store, config: Config, day: date) -> dict[str, tuple[str | None, str]]:
    """Tracks whose computed status at the end of `day` differs from the end of the day before:
    track -> (previous status, status). Computed from the items, so it does not depend on when the
    monitor happened to run; a track quiet on both days is absent."""
    engine = StatusEngine(store, config)
    today = {s.track: s.status for s in engine.compute(day_end(day, config), full=False)}
    yesterday = {
        s.track: s.status for s in engine.compute(day_end(day - timedelta(days=1), config), full=False)
    }
    return {t: (yesterday.get(t), s) for t, s in today.items() if yesterday.get(t) != s}


def record_daily_history(
    store: Store, config: Config, now: datetime, *, days: int = 30
) -> list[HistoryEntry]:
    """Record today's computed statuses in status_history, and fill in the last `days` days that
    have no row yet or whose row was computed before the day was over (a day is final once a
    computation after its end has run). Call it after every poll; returns the rows written."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = config.settings.tz
    today = now.astimezone(tz).date()
    first = store.first_published()
    first_day = first.astimezone(tz).date() if first else today
    start = max(today - timedelta(days=max(days, 1) - 1), first_day)
    existing = {(e.track, e.day): e for e in store.status_history(since=start, until=today)}
    engine = StatusEngine(store, config)
    rows: list[HistoryEntry] = []
    day = start
    while day <= today:
        end = day_end(day, config)
        as_of = min(now, end)
        stale = [
            t
            for t in engine.tracks
            if (t, day.isoformat()) not in existing or existing[(t, day.isoformat())].computed_at < end
        ]
        if day == today or stale:
            for status in engine.compute(as_of, full=False):
                if day != today and status.track not in stale:
                    continue
                rows.append(
                    HistoryEntry(
                        track=status.track,
                        day=day.isoformat(),
                        status=status.status,
                        momentum=status.momentum,
                        rationale=status.rationale,
                        computed_at=now,
                        detail={
                            "as_of": _iso(as_of),
                            "scores": status.scores,
                            "evidence": status.evidence[:5],
                        },
                    )
                )
        day += timedelta(days=1)
    store.save_status_history(rows)
    return rows
