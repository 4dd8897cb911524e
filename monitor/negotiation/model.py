"""Plain data the negotiation engine produces: per-track status, last movement, analyst override."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from monitor.models import Item

STATUSES: Final = ("agreement", "talks", "stalled", "breakdown", "escalation", "quiet")
"""Every status a track can have, best first; `quiet` means no signal in the window."""
SIGNALS: Final = STATUSES[:-1]
"""The statuses a lexicon phrase can signal (all but `quiet`)."""
MOMENTA: Final = ("improving", "unchanged", "deteriorating")
ARROWS: Final = {"improving": "↗", "unchanged": "→", "deteriorating": "↘"}
"""CrisisWatch-style arrow per momentum."""

STATUS_RANK: Final = {"agreement": 4, "talks": 3, "quiet": 2, "stalled": 1, "breakdown": 0, "escalation": -1}
"""Order used for momentum: a move up this ladder is improving, down is deteriorating. `quiet` sits
between talks and stalled because silence after talks is a loss and silence after fighting a gain."""


@dataclass(frozen=True, slots=True)
class Movement:
    """The newest item that carried a signal for a track."""

    published: datetime
    title: str
    source: str
    link: str | None
    item_id: str
    signal: str = ""
    """The signal the item carried for the track (agreement, talks...)."""


@dataclass(frozen=True, slots=True)
class Override:
    """The analyst's own status for a track, shown beside the computed one."""

    status: str
    note: str
    set_by: str
    set_at: datetime


@dataclass(frozen=True, slots=True)
class OverrideChange:
    """One row of the override history: a set or a clear."""

    track: str
    action: str
    """`set` or `clear`."""
    status: str | None
    note: str | None
    set_by: str
    set_at: datetime


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """The status computed for a track on one day (local calendar day of the configured timezone)."""

    track: str
    day: str
    """ISO date, e.g. `2026-02-14`."""
    status: str
    momentum: str
    rationale: str
    computed_at: datetime
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TrackStatus:
    """Where one track's negotiation stands at a moment, why, and since when."""

    track: str
    """Track id (`gaza`, `ukraine`...)."""
    name: str
    """The negotiation's name, e.g. `Gaza ceasefire: Phase Two`."""
    status: str
    """One of STATUSES, as computed from the stored items (the override is kept apart)."""
    momentum: str
    """improving | unchanged | deteriorating, against the status one momentum step earlier."""
    arrow: str
    """↗ → ↘ for the momentum."""
    since: datetime | None
    """When the current computed status began to hold (None when it held for the whole lookback)."""
    rationale: str
    """One line in plain words."""
    last_movement: Movement | None
    evidence: list[str]
    """Item ids behind the status, best first."""
    actors: list[str]
    venues: list[str]
    upcoming: list[str]
    """Sentences announcing scheduled or planned events, newest first."""
    override: Override | None = None
    scores: dict[str, float] = field(default_factory=dict)
    """Weighted score per signal in the window (for explanation and tests)."""
    as_of: datetime | None = None

    @property
    def effective_status(self) -> str:
        """The analyst's status when one is set, else the computed one."""
        return self.override.status if self.override else self.status


@dataclass(frozen=True, slots=True)
class PendingRead:
    """A tracked item the engine has still to read, as the store hands it over."""

    rowid: int
    token: int
    """Changes whenever the item is queued again: saving checks it, so a stale reading is dropped."""
    item: Item | None
    """None when the item is gone (its queue entry is simply cleared)."""


@dataclass(frozen=True, slots=True)
class SignalRow:
    """What one item carries for one track, as stored: weights per signal and the shown detail (JSON)."""

    track: str
    published: int
    item_rowid: int
    source: str
    """The item's source, or its feed URL when it has none: what counts as one outlet."""
    weights: str
    detail: str


@dataclass(frozen=True, slots=True)
class ItemRef:
    """What a status shows of an item it cites: for the last movement and the evidence."""

    id: str
    title: str
    source: str
    link: str | None
    published: datetime
