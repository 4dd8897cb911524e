"""The status engine: weighs each track's signals by recency and sources into a status, momentum and since."""

from __future__ import annotations

import bisect
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from monitor.config import Config
from monitor.negotiation.model import (
    ARROWS,
    STATUS_RANK,
    HistoryEntry,
    ItemRef,
    Movement,
    Override,
    TrackStatus,
)
from monitor.negotiation.reads import analyse_new_items, analysis_of, ensure_read, reader_for, stamp
from monitor.negotiation.sliding import OTHERS, PRIORITY, SlidingScores
from monitor.negotiation_config import NegotiationTrack

if TYPE_CHECKING:
    from monitor.store import Store

__all__ = [
    "OTHERS",
    "PRIORITY",
    "TONE",
    "StatusEngine",
    "age",
    "analyse_new_items",
    "analysis_of",
    "compute_statuses",
    "day_end",
    "reader_for",
    "record_daily_history",
    "status_changes",
    "status_json",
]

TONE = {"agreement": 2.0, "talks": 1.0, "stalled": -1.0, "breakdown": -2.0, "escalation": -3.0}
"""How good each signal is for the diplomacy; the weighted mean is the window's tone."""


_WEIGHTS: dict[str, dict[str, float]] = {}
"""Parsed weights by their stored text: a few hundred distinct values cover a year of items."""
_WEIGHTS_KEPT = 20_000


def _weights(text: str) -> dict[str, float]:
    parsed = _WEIGHTS.get(text)
    if parsed is None:
        if len(_WEIGHTS) >= _WEIGHTS_KEPT:
            _WEIGHTS.clear()
        parsed = _WEIGHTS[text] = json.loads(text)
    return parsed


class _Entry:
    """One stored reading: an item's weights for one track, and (decoded on demand) what it shows."""

    __slots__ = ("_detail", "raw", "rowid", "source", "ts", "weights")

    def __init__(self, ts: int, rowid: int, source: str, weights: str, detail: str) -> None:
        self.ts = ts
        self.rowid = rowid
        self.source = source
        self.raw = weights
        self.weights = _weights(weights)
        """Signal -> the item's weight for it (dict order is the order the item first carried each);
        shared between entries with the same weights, so never changed."""
        self._detail: str | dict[str, list[Any]] = detail

    @property
    def detail(self) -> dict[str, list[Any]]:
        # Most entries only ever need their weights (the `since` walk); decode the rest when shown.
        if isinstance(self._detail, str):
            self._detail = json.loads(self._detail)
        return self._detail  # type: ignore[return-value]

    def mentions(self) -> list[list[str]]:
        """[signal, words] for each mention, in reading order."""
        return self.detail.get("m", [])

    def names(self, key: str) -> list[str]:
        """Actors ("a"), venues ("v") or upcoming sentences ("u")."""
        return self.detail.get(key, [])


@dataclass(frozen=True, slots=True)
class _Scores:
    status: str
    scores: dict[str, float]
    tone: float | None
    top: float
    # signal -> [(decayed contribution, entry)] for evidence and the rationale
    support: dict[str, list[tuple[float, _Entry]]]


class StatusEngine:
    """Statuses at any moment over one store, from the stored readings; loads each track's rows
    lazily and only once (making sure the items they cover have been read)."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.reader = reader_for(config)
        self.tracks: dict[str, NegotiationTrack] = self.reader.tracks
        self._entries: dict[str, list[_Entry]] = {}
        self._keys: dict[str, list[int]] = {}
        self._loaded: dict[str, tuple[int, int]] = {}
        self._read: tuple[int, int] | None = None

    # ---- loading ----------------------------------------------------------------------------------

    def _ensure(self, track: str, start: int, end: int) -> None:
        """Make sure the track's rows for items published in [start, end) are loaded (epoch seconds)."""
        loaded = self._loaded.get(track)
        if loaded is None:
            self._load(track, start, end)
            self._loaded[track] = (start, end)
            return
        lo, hi = loaded
        if start < lo:
            self._load(track, start, lo)
        if end > hi:
            self._load(track, hi, end)
        self._loaded[track] = (min(lo, start), max(hi, end))

    def _ensure_read(self, start: int, end: int) -> None:
        # Reading is per item, not per track: once per range for the whole engine.
        if self._read is None:
            ensure_read(self.store, self.config, start, end)
            self._read = (start, end)
            return
        lo, hi = self._read
        if start < lo:
            ensure_read(self.store, self.config, start, lo)
        if end > hi:
            ensure_read(self.store, self.config, hi, end)
        self._read = (min(lo, start), max(hi, end))

    def _load(self, track: str, start: int, end: int) -> None:
        if end <= start:
            return
        self._ensure_read(start, end)
        new = [_Entry(*row) for row in self.store.signal_rows(track, start, end)]
        if not new:
            return
        old = self._entries.get(track, [])
        # Loaded ranges never overlap, so the rows go before or after what is loaded.
        merged = new + old if old and new[-1].ts < old[0].ts else old + new
        if old and not (new[-1].ts < old[0].ts or old[-1].ts < new[0].ts):
            merged.sort(key=lambda e: (e.ts, e.rowid))
        self._entries[track] = merged
        self._keys[track] = [e.ts for e in merged]

    def release_before(self, moment: int) -> None:
        """Forget loaded rows published before `moment` (they are loaded again if asked for)."""
        for track, (lo, hi) in list(self._loaded.items()):
            if lo >= moment:
                continue
            keys = self._keys.get(track, [])
            cut = bisect.bisect_left(keys, moment)
            self._entries[track] = self._entries.get(track, [])[cut:]
            self._keys[track] = keys[cut:]
            self._loaded[track] = (min(moment, hi), hi)

    def _span(self, track: str) -> int:
        return int(self.tracks[track].tuning.window_days * 86400)

    def _between(self, track: str, start: int, at: int) -> list[_Entry]:
        """Entries with a signal for `track`, published in (start, at], oldest first."""
        self._ensure(track, start, at + 1)
        keys = self._keys.get(track, [])
        lo = bisect.bisect_right(keys, start)
        hi = bisect.bisect_right(keys, at)
        return self._entries.get(track, [])[lo:hi]

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
            for signal, value in entry.weights.items():
                per_source.setdefault((signal, entry.source), []).append((value * decay, entry))
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

    def _events(self, track: str, at: int) -> tuple[list[int], list[int], int] | None:
        """(entry times, moments the status can change newest first, lookback start) for `since`."""
        tuning = self.tracks[track].tuning
        span = self._span(track)
        start = at - int(tuning.lookback_days * 86400)
        stamps = [e.ts for e in self._between(track, start - span, at)]
        events = {ts for ts in stamps if ts >= start}
        events.update(ts + span for ts in stamps if start <= ts + span <= at)
        if not events:
            return None
        return stamps, sorted(events, reverse=True), start

    def _exact(self, track: str, event: int) -> tuple[str, int]:
        tuning = self.tracks[track].tuning
        scored = self.scores_at(track, event)
        return scored.status, event + _fade_seconds(
            scored.top, tuning.quiet_below, tuning.half_life_hours * 3600
        )

    def since(self, track: str, at: int, current: str) -> datetime | None:
        """When `current` began to hold, walking back over the moments the status can change: an
        item arriving, an item leaving the window, or the strongest signal fading below quiet.
        None when it held for the whole lookback (or there is nothing to go on).

        The walk visits every such moment of the lookback (thousands for a busy track). Each is
        scored incrementally (SlidingScores), only a moment too close to call there is scored
        exactly, and what each moment gave is remembered for the next call while the items around
        it are unchanged (the panel's refresh after a poll scores only the new moments): the answer
        is always the exact walk's (`since_exact`)."""
        found = self._events(track, at)
        if found is None:
            return None
        stamps, events, start = found
        span = self._span(track)
        entries = self._between(track, start - span, at)
        memo = _memo(self.store, self.config, track, self.tracks[track])
        keys = [(e.ts, e.rowid, e.source, e.raw) for e in entries]
        with memo.lock:
            moments = _Moments(self, track, entries, at, memo.usable(keys, start - span, at, span))
            try:
                return self._walk(moments, events, at, current, stamps, start)
            finally:
                memo.keep(keys, start - span, at, moments.verdicts)

    def _walk(
        self, moments: _Moments, events: list[int], at: int, current: str, stamps: list[int], start: int
    ) -> datetime | None:
        above: int | None = None
        for event in events:
            status, early, late = moments.verdict(event)
            if current == "quiet":
                if status != "quiet":
                    if early != late:
                        status, early = moments.exact(event)
                    return _dt(min(early, at))
            else:
                if status != current:
                    return _dt(above) if above is not None else _dt(at)
                if above is not None and status != "quiet":
                    if early < above <= late:  # the fade lands too close to `above` to call here
                        _, early = moments.exact(event)
                        late = early
                    if late < above:
                        return _dt(above)
            above = event
        return self._before_all(current, stamps, events, start)

    def since_exact(self, track: str, at: int, current: str) -> datetime | None:
        """`since` scoring every moment exactly: the reference the incremental walk must match."""
        found = self._events(track, at)
        if found is None:
            return None
        stamps, events, start = found
        above: int | None = None
        for event in events:
            status, fade = self._exact(track, event)
            if current == "quiet":
                if status != "quiet":
                    return _dt(min(fade, at))
            else:
                if status != current:
                    return _dt(above) if above is not None else _dt(at)
                if above is not None and status != "quiet" and fade < above:
                    return _dt(above)
            above = event
        return self._before_all(current, stamps, events, start)

    @staticmethod
    def _before_all(current: str, stamps: list[int], events: list[int], start: int) -> datetime | None:
        if current != "quiet" and stamps and stamps[0] >= start:
            # Nothing before the first item: the status began with it.
            return _dt(min(events))
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
        cited = [entry.rowid for _, entry in _unique(now.support.get(now.status, []))][: tuning.max_evidence]
        moved = _last_movement(window)
        if full and moved is None:
            moved = _last_movement(self._between(track, at - int(tuning.lookback_days * 86400), at))
        refs = self.store.item_refs([*cited, *([moved[0].rowid] if moved else [])])
        evidence = [refs[rowid].id for rowid in cited if rowid in refs]
        movement = None
        if moved is not None and moved[0].rowid in refs:
            ref: ItemRef = refs[moved[0].rowid]
            movement = Movement(ref.published, ref.title, ref.source, ref.link, ref.id, moved[1])
        actors: list[str] = []
        venues: list[str] = []
        upcoming: list[str] = []
        since = None
        if full:
            since = self.since(track, at, now.status)
            actors = _ranked(entry.names("a") for entry in window)
            venues = _ranked(entry.names("v") for entry in window)
            fresh = at - int(tuning.upcoming_days * 86400)
            seen: set[str] = set()
            for entry in reversed(window):
                if entry.ts < fresh:
                    break
                for sentence in entry.names("u"):
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
            rationale=_rationale(now, tuning.window_days, at),
            last_movement=movement,
            evidence=evidence,
            actors=actors,
            venues=venues,
            upcoming=upcoming,
            override=override,
            scores={k: round(v, 3) for k, v in now.scores.items()},
            as_of=as_of,
        )


# ---- since: scored moments, remembered ------------------------------------------------------------

Verdict = tuple[str, int, int]
"""(status, earliest fade, latest fade) at one moment; the fade is exact when both are equal."""
Key = tuple[int, int, str, str]
"""What a moment's status takes from one row: published, item rowid, source, weights."""


class _Moments:
    """The status at the moments of one `since` walk: remembered, incremental, or exact."""

    def __init__(
        self, engine: StatusEngine, track: str, entries: list[_Entry], at: int, known: dict[int, Verdict]
    ) -> None:
        self.engine = engine
        self.track = track
        self.entries = entries
        self.at = at
        self.verdicts = known
        self._sliding: SlidingScores | None = None
        self._tried = False

    def _scorer(self) -> SlidingScores | None:
        # Made at the first moment not remembered: a refresh that remembers them all never builds it.
        if not self._tried:
            self._tried = True
            tuning = self.engine.tracks[self.track].tuning
            half_life = tuning.half_life_hours * 3600
            oldest = self.entries[0].ts if self.entries else self.at
            if SlidingScores.applicable(self.entries, newest=self.at, oldest=oldest, half_life=half_life):
                self._sliding = SlidingScores(
                    self.entries,
                    newest=self.at,
                    span=self.engine._span(self.track),
                    half_life=half_life,
                    same_source_weight=tuning.same_source_weight,
                    quiet_below=tuning.quiet_below,
                    talks_share=tuning.talks_share,
                )
        return self._sliding

    def verdict(self, event: int) -> Verdict:
        """Moments are asked newest first."""
        known = self.verdicts.get(event)
        if known is not None:
            return known
        scorer = self._scorer()
        verdict = scorer.verdict(event) if scorer is not None else None
        if verdict is None:
            status, fade = self.exact(event)
            return status, fade, fade
        self.verdicts[event] = verdict
        return verdict

    def exact(self, event: int) -> tuple[str, int]:
        status, fade = self.engine._exact(self.track, event)
        self.verdicts[event] = (status, fade, fade)
        return status, fade


class _Memo:
    """What each moment of a track's last `since` walk gave, and the rows it was computed from."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: list[Key] = []
        self.low = 0
        self.high = -1
        self.verdicts: dict[int, Verdict] = {}

    def usable(self, keys: list[Key], low: int, high: int, span: int) -> dict[int, Verdict]:
        """The remembered moments still true now: a moment's status depends on the rows of its
        window alone, so it holds while those rows are the same ones. `keys` are the rows of the
        range (low, high] the walk now covers, oldest first."""
        if not self.verdicts:
            return {}
        lo, hi = max(self.low, low), min(self.high, high)
        if lo >= hi:
            return {}
        old = self.keys[
            bisect.bisect_right(self.keys, (lo, _MAX)) : bisect.bisect_right(self.keys, (hi, _MAX))
        ]
        new = keys[bisect.bisect_right(keys, (lo, _MAX)) : bisect.bisect_right(keys, (hi, _MAX))]
        changed = hi + 1
        if old != new:
            for a, b in zip(old, new, strict=False):
                if a != b:
                    changed = min(a[0], b[0])
                    break
            else:
                longer = old if len(old) > len(new) else new
                changed = longer[min(len(old), len(new))][0]
        return {e: v for e, v in self.verdicts.items() if e - span >= lo and e < changed and e <= hi}

    def keep(self, keys: list[Key], low: int, high: int, verdicts: dict[int, Verdict]) -> None:
        self.keys = keys
        self.low, self.high = low, high
        self.verdicts = verdicts


_MAX = 2**63
"""Sorts after every rowid: (ts, _MAX) bisects past every row published at ts."""
_MEMOS: OrderedDict[tuple[object, ...], _Memo] = OrderedDict()
_MEMOS_LOCK = threading.Lock()
_MEMOS_KEPT = 32


def _memo(store: Store, config: Config, track: str, neg: NegotiationTrack) -> _Memo:
    tuning = neg.tuning
    key = (
        str(store.path),
        stamp(config),
        track,
        tuning.window_days,
        tuning.half_life_hours,
        tuning.quiet_below,
        tuning.talks_share,
        tuning.same_source_weight,
    )
    with _MEMOS_LOCK:
        memo = _MEMOS.get(key)
        if memo is None:
            memo = _MEMOS[key] = _Memo()
            while len(_MEMOS) > _MEMOS_KEPT:
                _MEMOS.popitem(last=False)
        _MEMOS.move_to_end(key)
        return memo


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
    seen: set[int] = set()
    out = []
    for value, entry in values:
        if entry.rowid not in seen:
            seen.add(entry.rowid)
            out.append((value, entry))
    return out


def _last_movement(entries: Sequence[_Entry]) -> tuple[_Entry, str] | None:
    """The newest entry with a signal, and its strongest signal."""
    for entry in reversed(entries):
        mine = entry.weights
        if mine:
            return entry, max(mine, key=lambda s: (mine[s], PRIORITY[s]))
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


def _phrases(support: list[tuple[float, _Entry]], signal: str, limit: int = 3) -> list[str]:
    counts: dict[str, float] = {}
    for value, entry in support:
        for mentioned, text in entry.mentions():
            if mentioned == signal:
                counts[text] = counts.get(text, 0.0) + value
    return sorted(counts, key=lambda p: -counts[p])[:limit]


def _rationale(scored: _Scores, window_days: float, at: int) -> str:
    """One line in plain words: the status, the words behind it, how many reports, how fresh."""
    days = f"{window_days:g} day{'s' if window_days != 1 else ''}"
    if scored.status == "quiet":
        if scored.top > 0:
            return f"Quiet: only faint or old signals in the last {days}."
        return f"Quiet: no negotiation signal in the last {days}."
    support = _unique(scored.support.get(scored.status, []))
    phrases = _phrases(scored.support.get(scored.status, []), scored.status)
    sources = {entry.source for _, entry in support}
    newest = max((entry.ts for _, entry in support), default=at)
    reports = f"{len(support)} report{'s' if len(support) != 1 else ''}"
    outlets = f"{len(sources)} source{'s' if len(sources) != 1 else ''}"
    line = f"{scored.status.capitalize()}: {_quote(phrases)} ({reports}, {outlets}, latest {age(at - newest)} ago)"
    runner = sorted(
        (s for s in TONE if s != scored.status and scored.scores[s] > 0), key=lambda s: -scored.scores[s]
    )
    if runner and scored.scores[runner[0]] >= 0.5 * scored.scores[scored.status]:
        other = runner[0]
        also = _phrases(scored.support.get(other, []), other, 2)
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
    reach = max(
        (
            int(t.tuning.window_days * 86400) + int(t.tuning.momentum_hours * 3600)
            for t in engine.tracks.values()
        ),
        default=0,
    )
    rows: list[HistoryEntry] = []
    day = start
    while day <= today:
        end = day_end(day, config)
        as_of = min(now, end)
        # Days go forward: rows older than any of them needs are dropped, so a long back-fill
        # holds a window of rows, not the whole range.
        engine.release_before(int(as_of.timestamp()) - reach - 1)
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
