"""Reading one item: which negotiation signals each sentence carries, for which track, and what is upcoming."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.config import Config
from monitor.models import Item
from monitor.negotiation.text import (
    Match,
    PhraseMatcher,
    clause_index,
    clause_starts,
    find_all,
    normalise,
    paragraphs,
    split_sentences,
    window_after,
    window_before,
)
from monitor.negotiation_config import NegotiationTrack, SignalPhrase
from monitor.tagging import Tagger

DISABLED = "none"
SUMMARY_CHARS = 12_000
"""Characters of a summary read. Whole articles reach us in some feeds; the negotiation news is in
the first screens (the seed article's Venezuela paragraph ends at 3,600), and this bounds the cost."""


@dataclass(frozen=True, slots=True)
class Mention:
    """One signal credited to one track by one sentence."""

    track: str
    signal: str
    weight: float
    """Phrase weight times headline, hedge and carry multipliers (before recency and sources)."""
    text: str
    """The words that carried it, negation included ("no breakthrough")."""
    negated: bool = False
    hedged: bool = False


@dataclass(slots=True)
class Analysis:
    """Everything the engine needs from one item, computed once and cached."""

    mentions: list[Mention] = field(default_factory=list)
    upcoming: dict[str, list[str]] = field(default_factory=dict)
    actors: dict[str, list[str]] = field(default_factory=dict)
    venues: dict[str, list[str]] = field(default_factory=dict)

    def contributions(self, track: str, repeat: float = 0.3) -> dict[str, float]:
        """Signal -> the item's weight for it: its best mention plus a little for each further one,
        so an article repeating "deadlock" five times is not five articles."""
        per: dict[str, list[float]] = {}
        for mention in self.mentions:
            if mention.track == track:
                per.setdefault(mention.signal, []).append(mention.weight)
        out: dict[str, float] = {}
        for signal, weights in per.items():
            best = max(weights)
            out[signal] = min(best + repeat * (sum(weights) - best), 2 * best)
        return out


class Reader:
    """Reads items for every configured track; built once per configuration."""

    def __init__(self, config: Config, tagger: Tagger | None = None) -> None:
        self.config = config
        self.tagger = tagger or Tagger(config.tracks)
        self.tracks: dict[str, NegotiationTrack] = {
            t.id: config.negotiation[t.id] for t in config.tracks if t.id in config.negotiation
        }
        self.order = list(self.tracks)
        first = next(iter(self.tracks.values()), None)
        cues = first.cues if first else None
        self.negation: PhraseMatcher[str] = PhraseMatcher((p, p) for p in (cues.negation if cues else ()))
        self.hedge: PhraseMatcher[str] = PhraseMatcher((p, p) for p in (cues.hedge if cues else ()))
        self.negation_after: PhraseMatcher[str] = PhraseMatcher(
            (p, p) for p in (cues.negation_after if cues else ())
        )
        self.hedge_after: PhraseMatcher[str] = PhraseMatcher(
            (p, p) for p in (cues.hedge_after if cues else ())
        )
        self.upcoming_cue: PhraseMatcher[str] = PhraseMatcher((p, p) for p in (cues.upcoming if cues else ()))
        self.event_cue: PhraseMatcher[str] = PhraseMatcher((p, p) for p in (cues.events if cues else ()))
        self.signals: dict[str, PhraseMatcher[SignalPhrase]] = {
            tid: PhraseMatcher(((s.phrase, s) for s in neg.signals), blocks=lambda s: s.signal == DISABLED)
            for tid, neg in self.tracks.items()
        }
        # Name matchers per track: payload (kind, shown name).
        self.names: dict[str, PhraseMatcher[tuple[str, str]]] = {}
        self.name_keys: dict[str, set[str]] = {}
        for tid, neg in self.tracks.items():
            entries: list[tuple[str, tuple[str, str]]] = []
            for kind, names in (("actor", neg.actors), ("venue", neg.venues)):
                for name in names:
                    entries.extend((pattern, (kind, name.display)) for pattern in name.patterns)
            self.names[tid] = PhraseMatcher(entries)
            self.name_keys[tid] = {name.display.lower() for name in (*neg.actors, *neg.venues)}
        # Which track terms are real (not context), to anchor proximity on identifying words.
        self._terms = {t.id: set(t.terms) for t in config.tracks}

    # ---- one item ---------------------------------------------------------------------------------

    def read(self, item: Item) -> Analysis:
        """Read an item filed under at least one track. Every sentence is tagged on its own, so a
        long article's last paragraph about a third conflict (beyond the lede the item tagger
        reads) still counts for that conflict, and for it alone."""
        item_tracks = [t for t in self.order if t in item.tracks]
        analysis = Analysis()
        if not item_tracks:
            return analysis
        sentence_names: dict[str, set[str]] = {}
        mentioned: set[str] = set(item_tracks)
        fields: list[tuple[str, bool]] = [(item.title, True)]
        fields.extend((p, False) for p in paragraphs(item.summary[:SUMMARY_CHARS]))
        for text, in_title in fields:
            carried: tuple[list[str], float] | None = None
            sentences = [text] if in_title else split_sentences(text)
            for sentence in sentences:
                carried = self._sentence(
                    sentence, in_title, item_tracks, carried, analysis, sentence_names, mentioned
                )
        self._item_names(item, [t for t in self.order if t in mentioned], sentence_names, analysis)
        return analysis

    def _sentence(
        self,
        sentence: str,
        in_title: bool,
        item_tracks: list[str],
        carried: tuple[list[str], float] | None,
        analysis: Analysis,
        sentence_names: dict[str, set[str]],
        mentioned: set[str],
    ) -> tuple[list[str], float] | None:
        low = normalise(sentence)
        tagged = self.tagger.tag_text(sentence)
        own = [t for t in self.order if t in tagged]
        mentioned.update(own)
        if own:
            attributed, weight = own, 1.0
        elif tagged:
            # About a conflict without a negotiation table: it moves nothing, and stops the carry.
            return None
        elif len(item_tracks) == 1:
            attributed, weight = item_tracks, 1.0
        elif carried:
            attributed, weight = carried
        else:
            return None
        tuning = self.tracks[attributed[0]].tuning
        # A following sentence that names no track inherits these tracks, at the carry weight.
        next_carry = (own, tuning.carry_weight) if own else (attributed, weight)
        anchors = self._anchors(low, tagged, own) if len(own) > 1 else None
        clauses = clause_starts(low)
        scopes = clause_starts(low, scope=True)
        credited: list[str] = []
        for track in attributed:
            neg = self.tracks[track]
            multiplier = weight * (neg.tuning.title_weight if in_title else 1.0)
            for match in self.signals[track].find(low):
                if match.payload.signal == DISABLED:
                    continue
                if anchors is not None and track not in _nearest(anchors, match.start, match.end, clauses):
                    continue
                judged = self._judge(low, match, scopes, neg)
                if judged is None:
                    continue
                signal, factor, text, negated, hedged = judged
                analysis.mentions.append(
                    Mention(track, signal, match.payload.weight * factor * multiplier, text, negated, hedged)
                )
                credited.append(track)
            for found in self.names[track].find(low):
                sentence_names.setdefault(track, set()).add(found.payload[1].lower())
        if self.upcoming_cue and self.upcoming_cue.search(low) and self.event_cue.search(low):
            targets = list(dict.fromkeys(credited))
            if not targets and anchors is not None:
                marker = self.upcoming_cue.find(low)
                position = marker[0].start if marker else 0
                targets = _nearest(anchors, position, position, clauses)
            for track in targets or attributed:
                analysis.upcoming.setdefault(track, []).append(sentence)
        return next_carry

    def _judge(
        self, low: str, match: Match[SignalPhrase], scopes: Sequence[int], neg: NegotiationTrack
    ) -> tuple[str, float, str, bool, bool] | None:
        """Apply negation and hedging: the signal actually carried, a weight factor, and the words."""
        cues, tuning = neg.cues, neg.tuning
        head = match.head if 0 <= match.head <= match.start else match.start
        index = clause_index(scopes, head)
        floor = scopes[index]
        ceiling = next((start for start in scopes if start >= match.end), len(low))
        after = window_after(low, match.end, cues.after_window, ceiling)
        signal = match.payload.signal
        negation = self.negation.occurs_in(low, window_before(low, head, cues.negation_window, floor), head)
        if negation is None and match.gap is not None:
            negation = self.negation.occurs_in(low, *match.gap)
        if negation is None:
            negation = self.negation_after.occurs_in(low, match.end, after)
        if negation is not None:
            target = cues.negated.get(signal, DISABLED)
            if target == DISABLED:
                return None
            start, end = min(negation.start, match.start), max(negation.end, match.end)
            return target, 1.0, low[start:end], True, False
        hedge = self.hedge.occurs_in(low, window_before(low, head, cues.hedge_window, floor), head)
        if hedge is None:
            hedge = self.hedge_after.occurs_in(low, match.end, after)
        if hedge is not None:
            target = cues.hedged.get(signal, signal)
            if target == DISABLED:
                return None
            factor = 1.0 if target in cues.unhedged else tuning.hedge_weight
            return target, factor, low[match.start : match.end], False, True
        return signal, 1.0, low[match.start : match.end], False, False

    def _anchors(
        self, low: str, tagged: dict[str, list[str]], own: list[str]
    ) -> dict[str, list[tuple[int, int]]]:
        """Where each of the sentence's tracks is named, by the words that identify it alone."""
        anchors: dict[str, list[tuple[int, int]]] = {}
        for track in own:
            others = {term for other in own if other != track for term in tagged.get(other, [])}
            terms = [t for t in tagged.get(track, []) if t not in others and t in self._terms.get(track, ())]
            if not terms:
                terms = [t for t in tagged.get(track, []) if t not in others] or list(tagged.get(track, []))
            anchors[track] = list(find_all(terms, low))
        return anchors

    def _item_names(
        self, item: Item, item_tracks: list[str], sentence_names: dict[str, set[str]], analysis: Analysis
    ) -> None:
        """Actors and venues: a name configured for one of the item's tracks only counts for it
        anywhere in the item; a name shared by several (an envoy on two files) only where a
        sentence about that track names it."""
        low = normalise(f"{item.title}\n{item.summary}")
        for track in item_tracks:
            seen: dict[str, None] = {}
            for found in self.names[track].find(low):
                kind, shown = found.payload
                key = shown.lower()
                owners = [t for t in item_tracks if key in self.name_keys[t]]
                if len(owners) > 1 and key not in sentence_names.get(track, set()):
                    continue
                if shown in seen:
                    continue
                seen[shown] = None
                (analysis.actors if kind == "actor" else analysis.venues).setdefault(track, []).append(shown)


def _distance(a: tuple[int, int], b: tuple[int, int]) -> int:
    if a[0] < b[1] and b[0] < a[1]:
        return 0
    return min(abs(a[0] - b[1]), abs(b[0] - a[1]))


def _nearest(
    anchors: dict[str, list[tuple[int, int]]], start: int, end: int, clauses: Sequence[int]
) -> list[str]:
    """Tracks named closest to a span: same clause first, then characters; ties share."""
    here = clause_index(clauses, start)
    best: dict[str, tuple[int, int]] = {}
    for track, spans in anchors.items():
        if not spans:
            continue
        best[track] = min(
            (abs(clause_index(clauses, s[0]) - here), _distance((start, end), s)) for s in spans
        )
    if not best:
        return list(anchors)
    top = min(best.values())
    return [track for track, value in best.items() if value == top]
