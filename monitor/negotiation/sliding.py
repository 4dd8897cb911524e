"""A track's scores at falling moments, kept up as items enter and leave the window, for the `since` walk."""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Protocol

SIGNALS = ("agreement", "talks", "stalled", "breakdown", "escalation")
OTHERS = ("agreement", "stalled", "breakdown", "escalation")
"""The signals `talks` has to outscore by `talks_share`."""
PRIORITY = {"breakdown": 4, "escalation": 3, "agreement": 2, "stalled": 1, "talks": 0}
"""Tie-break between equally strong signals: the one an analyst most needs to see."""
TOLERANCE = 1e-9
"""Relative error allowed between these scores and the engine's own (about 1e-12 at worst): a decision
closer than this is left to the engine's exact scoring, so `since` is exactly what it would compute."""
MAX_HALF_LIVES = 900.0
"""Widest span, in half-lives, scored here; beyond it decayed weights near the float range's end."""
_TALKS = SIGNALS.index("talks")
_OTHER_INDEX = sorted(((SIGNALS.index(s), PRIORITY[s], s) for s in OTHERS), key=lambda o: -o[1])
"""The other signals, highest priority first."""
_NO_OTHER = max(OTHERS, key=lambda s: PRIORITY[s])
"""What the engine's tie-break picks when no other signal scores at all."""


class Weighted(Protocol):
    """What an entry must offer: its time, its outlet, and its weight per signal for the track."""

    @property
    def ts(self) -> int: ...

    @property
    def source(self) -> str: ...

    @property
    def weights(self) -> Mapping[str, float]: ...


def _scaled(n: int, bits: int) -> float:
    """n * 2**-bits as a float, for integers too large to convert directly."""
    excess = n.bit_length() - 64
    if excess > 0:
        return math.ldexp(float(n >> excess), excess - bits)
    return math.ldexp(float(n), -bits)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 4 * TOLERANCE * max(a, b)


class SlidingScores:
    """Signal scores of one track at moments visited newest first (as `since` walks back).

    The engine scores a moment by decaying every item in the window: O(window) per moment, and the
    walk visits every moment an item enters or leaves, so a busy month cost minutes. Here each item's
    weight is fixed against one reference moment `r`, w * 2**((ts - r) / half_life), held as an exact
    integer (so adding and removing never accumulates rounding), and per signal and source the best
    item is kept with a monotonic deque: a moment costs the items that entered or left since the last.
    Scores come out within about 1e-15 of the exact ones; `verdict` says None when a decision is
    closer than TOLERANCE, and the caller then scores that moment exactly.
    """

    def __init__(
        self,
        entries: Sequence[Weighted],
        *,
        newest: int,
        span: int,
        half_life: float,
        same_source_weight: float,
        quiet_below: float,
        talks_share: float,
    ) -> None:
        """`entries` oldest first, none after `newest`, the moment the walk starts from."""
        self.span = span
        self.half_life = half_life
        self.sws = same_source_weight
        self.quiet_below = quiet_below
        self.talks_share = talks_share
        self.newest = newest
        self.keys = [e.ts for e in entries]
        smallest = min((w for e in entries for w in e.weights.values() if w > 0), default=1.0)
        oldest = self.keys[0] if self.keys else newest
        reach = (newest - oldest) / half_life
        # Bits below the binary point: every weight keeps its 53 significant bits, however decayed.
        self.bits = 53 + 64 + math.ceil(reach) + max(0, math.ceil(-math.log2(smallest)))
        self.entries = entries
        # Per entry, made when it first enters (a walk that stops early never touches most):
        # (signal index, group index, fixed-point weight, weight > 0) per signal it carries.
        self.items: list[list[tuple[int, int, int, bool]] | None] = [None] * len(entries)
        self.group_index: dict[tuple[int, str], int] = {}
        self.groups: list[deque[tuple[int, int]]] = []
        self.sum_all = [0] * len(SIGNALS)
        self.sum_max = [0] * len(SIGNALS)
        self.positive = [0] * len(SIGNALS)
        self.agg = [0.0] * len(SIGNALS)
        self.dirty = [False] * len(SIGNALS)
        self.lo = self.hi = bisect.bisect_right(self.keys, newest)
        self.at = newest
        # Sums stay far below 2**1023 in these units unless `bits` is huge: then convert by shifting.
        self.unit = 2.0**-self.bits if self.bits <= 900 else 0.0
        # How far the fade can be off, in seconds, given the scores' relative error.
        self.slack = half_life * 16 * TOLERANCE / math.log(2) + 1e-6

    @staticmethod
    def applicable(entries: Sequence[Weighted], *, newest: int, oldest: int, half_life: float) -> bool:
        """False when scoring here could lose precision (or meets an unknown signal)."""
        if half_life <= 0 or (newest - oldest) / half_life > MAX_HALF_LIVES:
            return False
        for entry in entries:
            for signal, weight in entry.weights.items():
                if signal not in PRIORITY or not (weight == 0 or 1e-100 < weight < 1e6):
                    return False
        return True

    def _fixed(self, weight: float, ts: int) -> int:
        """weight * 2**((ts - newest) / half_life), as an integer in units of 2**-bits."""
        value = weight * 2.0 ** ((ts - self.newest) / self.half_life)
        if value <= 0:
            return 0
        mantissa, exponent = math.frexp(value)
        whole = int(mantissa * (1 << 53))
        shift = exponent - 53 + self.bits
        return whole << shift if shift >= 0 else whole >> -shift

    # ---- moving the window --------------------------------------------------------------------------

    def _move(self, at: int) -> None:
        """Make the window (at - span, at]; `at` never rises."""
        if at > self.at:
            raise ValueError("moments must be visited newest first")
        self.at = at
        hi = bisect.bisect_right(self.keys, at)
        lo = bisect.bisect_right(self.keys, at - self.span)
        for index in range(self.hi - 1, max(hi, self.lo) - 1, -1):
            self._remove(index)
        for index in range(min(self.lo, hi) - 1, lo - 1, -1):
            self._add(index)
        self.lo, self.hi = lo, hi

    def _parts(self, index: int) -> list[tuple[int, int, int, bool]]:
        entry = self.entries[index]
        parts = []
        for signal, weight in entry.weights.items():
            which = SIGNALS.index(signal)
            group = self.group_index.get((which, entry.source))
            if group is None:
                group = self.group_index[(which, entry.source)] = len(self.groups)
                self.groups.append(deque())
            parts.append((which, group, self._fixed(weight, entry.ts), weight > 0))
        self.items[index] = parts
        return parts

    def _add(self, index: int) -> None:
        # Items enter on the old side and leave from the new side, so each group's deque keeps, newest
        # first, the items that can still become its best: one at most as big as an older one never can.
        for signal, group, value, positive in self.items[index] or self._parts(index):
            self.sum_all[signal] += value
            self.positive[signal] += positive
            candidates = self.groups[group]
            before = candidates[0][0] if candidates else 0
            while candidates and candidates[-1][0] <= value:
                candidates.pop()
            candidates.append((value, index))
            self.sum_max[signal] += candidates[0][0] - before
            self.dirty[signal] = True

    def _remove(self, index: int) -> None:
        for signal, group, value, positive in self.items[index] or ():
            self.sum_all[signal] -= value
            self.positive[signal] -= positive
            candidates = self.groups[group]
            if candidates and candidates[0][1] == index:
                before = candidates.popleft()[0]
                self.sum_max[signal] += (candidates[0][0] if candidates else 0) - before
            self.dirty[signal] = True

    # ---- scoring --------------------------------------------------------------------------------------

    def _aggregate(self, at: int) -> list[float]:
        """Per signal, the score at the reference moment of the items in the window at `at`."""
        self._move(at)
        if True in self.dirty:
            for signal, dirty in enumerate(self.dirty):
                if dirty:
                    best = self.sum_max[signal]
                    rest = self.sum_all[signal] - best
                    # The engine's per source: its best item plus same_source_weight times the others.
                    if self.unit:
                        self.agg[signal] = (best + self.sws * rest) * self.unit
                    else:
                        self.agg[signal] = _scaled(best, self.bits) + self.sws * _scaled(rest, self.bits)
                    self.dirty[signal] = False
        return self.agg

    def scores(self, at: int) -> list[float]:
        """Approximate score per signal (SIGNALS order) at moment `at`."""
        factor = 2.0 ** ((self.newest - at) / self.half_life)
        return [value * factor for value in self._aggregate(at)]

    def verdict(self, at: int) -> tuple[str, int, int] | None:
        """(status, earliest fade, latest fade) at moment `at`, fade being when the strongest signal
        decays below quiet (`at` itself when quiet); None when too close to call here."""
        agg = self._aggregate(at)
        positive = self.positive
        if not any(positive):
            return "quiet", at, at
        # Every score carries the same decay factor: only the quiet line and the fade need it.
        top = max(agg) * 2.0 ** ((self.newest - at) / self.half_life)
        quiet_below = self.quiet_below
        if quiet_below > 0 and _close(top, quiet_below):
            return None
        if top < quiet_below:
            return "quiet", at, at
        best = ""
        best_index = -1
        strongest = 0.0
        tied = False
        for index, _, signal in _OTHER_INDEX:  # in PRIORITY order, so an exact tie of zeros is settled
            if not positive[index]:
                continue
            value = agg[index]
            if best_index < 0 or value > strongest:
                tied = best_index >= 0 and _close(value, strongest)
                best, best_index, strongest = signal, index, value
            elif _close(value, strongest):
                tied = True
        if tied:
            return None
        if not positive[_TALKS]:
            status = best or _NO_OTHER
        elif best_index < 0:
            status = "talks"
        else:
            talks, bar = agg[_TALKS], self.talks_share * strongest
            if _close(talks, bar):
                return None
            status = "talks" if talks >= bar else best
        if quiet_below <= 0:
            return status, at, at
        seconds = self.half_life * math.log2(top / quiet_below)
        return status, at + int(max(seconds - self.slack, 0.0)) + 1, at + int(seconds + self.slack) + 1
