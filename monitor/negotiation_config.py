"""Validation of the `[negotiation.*]` tables into one frozen `NegotiationTrack` per configured track."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from monitor.config import ConfigError, build_dataclass, check_value

SIGNAL_NAMES = ("agreement", "talks", "stalled", "breakdown", "escalation")
"""What a lexicon phrase can signal; each is also the status it argues for."""
DISABLED = "none"
"""Signal value that removes a phrase a lower layer defined."""

RESERVED = ("defaults", "signals", "cues")
"""Sub-tables of `[negotiation]` that are not tracks."""


@dataclass(frozen=True, slots=True)
class Tuning:
    """How signals are weighed; `[negotiation.defaults]`, each key overridable in a track's table."""

    window_days: float = 7.0
    """Only items published this many days before the moment of interest count."""
    half_life_hours: float = 48.0
    """A signal's weight halves every this many hours, so the newest news leads."""
    momentum_hours: float = 24.0
    """Momentum compares the status now with the status this many hours earlier."""
    lookback_days: int = 30
    """How far back `since` searches for the start of the current status."""
    quiet_below: float = 0.35
    """A track whose strongest signal scores below this is `quiet`."""
    talks_share: float = 1.25
    """`talks` is the default state of diplomacy: it wins only when it outscores the strongest of
    stalled/breakdown/agreement/escalation by this factor, so "envoys travel to break the deadlock"
    reads as stalled, not talks."""
    momentum_margin: float = 0.75
    """With an unchanged status, a change of this much in the weighted tone (-3 escalation ... +2
    agreement) still counts as improving or deteriorating."""
    title_weight: float = 1.5
    """Multiplier for a signal found in a headline."""
    same_source_weight: float = 0.25
    """Each further item from a source that already reported a signal adds this fraction: many
    outlets agreeing count more than one outlet repeating itself."""
    carry_weight: float = 0.6
    """Multiplier for a sentence naming no track that inherits the track of the sentence before it
    in the same paragraph ("However, this move is meeting roadblocks.")."""
    hedge_weight: float = 0.6
    """Multiplier for a hedged signal ("may", "could", "seeks to")."""
    upcoming_days: float = 3.0
    """Upcoming-event sentences older than this are dropped: "tomorrow" goes stale."""
    max_upcoming: int = 5
    """Upcoming-event sentences kept per track."""
    max_evidence: int = 20
    """Item ids kept as evidence per track."""


@dataclass(frozen=True, slots=True)
class Cues:
    """`[negotiation.cues]`: language cues shared by every track."""

    negation: tuple[str, ...] = ()
    """Words that flip a signal when they stand shortly before it in the same clause ("no
    breakthrough", "far from a deal", "failed to reach"), or between the parts of a gapped phrase."""
    hedge: tuple[str, ...] = ()
    """Words that weaken a signal when they stand shortly before it ("may", "could", "seeks to")."""
    negation_after: tuple[str, ...] = ()
    """Words that negate a signal standing shortly before them ("a deal remains elusive")."""
    hedge_after: tuple[str, ...] = ()
    """Words that hedge a signal standing shortly before them ("a peace deal could be close")."""
    upcoming: tuple[str, ...] = ()
    """Time and plan markers that make a sentence an upcoming event ("tomorrow", "scheduled for")."""
    events: tuple[str, ...] = ()
    """Event words an upcoming sentence must also contain ("meeting", "talks", "trip", "deadline")."""
    negated: dict[str, str] = field(default_factory=dict)
    """Signal -> what it becomes when negated; a signal not listed (or "none") is dropped."""
    hedged: dict[str, str] = field(default_factory=dict)
    """Signal -> what it becomes when hedged ("may reach a deal" is talks, not agreement); a signal
    not listed stays itself at `hedge_weight`."""
    unhedged: tuple[str, ...] = ()
    """Signals a hedge does not weaken: a strike being weighed is already escalation."""
    after_window: int = 3
    """Words after a signal searched for `negation_after` and `hedge_after` cues."""
    negation_window: int = 4
    """Words before a signal searched for a negation cue."""
    hedge_window: int = 5
    """Words before a signal searched for a hedge cue."""


@dataclass(frozen=True, slots=True)
class SignalPhrase:
    """One lexicon entry: a phrase and the signal it carries."""

    phrase: str
    signal: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Name:
    """An actor or venue: the name shown and the phrases that find it."""

    display: str
    patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NegotiationTrack:
    """Everything the engine knows about one track's negotiation, layers merged and validated."""

    track: str
    name: str
    """The negotiation's name, e.g. "Gaza ceasefire: Phase Two"."""
    parties: tuple[Name, ...]
    mediators: tuple[Name, ...]
    venues: tuple[Name, ...]
    signals: tuple[SignalPhrase, ...]
    """The shared lexicon with the track's own entries laid over it."""
    tuning: Tuning
    cues: Cues

    @property
    def actors(self) -> tuple[Name, ...]:
        return self.parties + self.mediators


_TRACK_KEYS = {"name", "parties", "mediators", "venues", "signals"}
_PHRASE_OK = re.compile(r"\w")


def parse_negotiation(raw: dict[str, Any], origin: dict[str, str], track_ids: set[str]) -> dict[str, Any]:
    """Validate the merged `[negotiation.*]` tables; returns track id -> NegotiationTrack for every
    configured track (a track without its own table gets the shared lexicon and its id as name)."""

    def label(key: str) -> str:
        return origin.get(key, "<built-in>")

    for key in raw:
        if key in RESERVED:
            if key in track_ids:
                raise ConfigError(
                    label(key), f"negotiation.{key}", f"{key!r} is reserved and cannot be a track id"
                )
            continue
        if key not in track_ids:
            known = ", ".join(sorted(track_ids)) or "none"
            raise ConfigError(
                label(key), f"negotiation.{key}", f"no such track (tracks: {known}; or {', '.join(RESERVED)})"
            )

    defaults_raw = raw.get("defaults", {})
    base_tuning: Tuning = build_dataclass(Tuning, defaults_raw, label("defaults"), "negotiation.defaults")
    _check_tuning(base_tuning, label("defaults"), "negotiation.defaults")
    cues = _cues_from(raw.get("cues", {}), label("cues"))
    shared = _signals_from(raw.get("signals", {}), label("signals"), "negotiation.signals")

    out: dict[str, NegotiationTrack] = {}
    for track_id in sorted(track_ids):
        body = raw.get(track_id, {})
        where = label(track_id)
        prefix = f"negotiation.{track_id}"
        tuning_raw: dict[str, Any] = {}
        tuning_keys = {f.name for f in fields(Tuning)}
        for key, value in body.items():
            if key in tuning_keys:
                tuning_raw[key] = value
            elif key not in _TRACK_KEYS:
                known = ", ".join(sorted(_TRACK_KEYS | tuning_keys))
                raise ConfigError(where, f"{prefix}.{key}", f"unknown key (known: {known})")
        merged_tuning = {f.name: getattr(base_tuning, f.name) for f in fields(Tuning)}
        merged_tuning.update(tuning_raw)
        tuning: Tuning = build_dataclass(Tuning, merged_tuning, where, prefix)
        _check_tuning(tuning, where, prefix)
        name = check_value(body.get("name", ""), str, where, f"{prefix}.name").strip() or track_id.title()
        own = _signals_from(body.get("signals", {}), where, f"{prefix}.signals")
        lexicon = {**shared, **own}
        out[track_id] = NegotiationTrack(
            track=track_id,
            name=name,
            parties=_names_from(body.get("parties", []), where, f"{prefix}.parties"),
            mediators=_names_from(body.get("mediators", []), where, f"{prefix}.mediators"),
            venues=_names_from(body.get("venues", []), where, f"{prefix}.venues"),
            # "none" phrases stay: matched, they keep the words inside them from signalling.
            signals=tuple(lexicon.values()),
            tuning=tuning,
            cues=cues,
        )
    return out


def _check_tuning(tuning: Tuning, where: str, prefix: str) -> None:
    for key in ("window_days", "half_life_hours", "momentum_hours", "talks_share", "title_weight"):
        if getattr(tuning, key) <= 0:
            raise ConfigError(where, f"{prefix}.{key}", "must be greater than 0")
    for key in ("quiet_below", "momentum_margin", "upcoming_days"):
        if getattr(tuning, key) < 0:
            raise ConfigError(where, f"{prefix}.{key}", "must not be negative")
    for key in ("same_source_weight", "carry_weight", "hedge_weight"):
        if not 0 <= getattr(tuning, key) <= 1:
            raise ConfigError(where, f"{prefix}.{key}", "must be between 0 and 1")
    for key in ("lookback_days", "max_upcoming", "max_evidence"):
        if getattr(tuning, key) < 0:
            raise ConfigError(where, f"{prefix}.{key}", "must not be negative")


def _cues_from(raw: Any, where: str) -> Cues:
    if not isinstance(raw, dict):
        raise ConfigError(where, "negotiation.cues", "must be a table")
    cues: Cues = build_dataclass(Cues, raw, where, "negotiation.cues")
    for key in ("negated", "hedged"):
        for signal, target in getattr(cues, key).items():
            if signal not in SIGNAL_NAMES:
                raise ConfigError(
                    where,
                    f"negotiation.cues.{key}.{signal}",
                    f"unknown signal (signals: {', '.join(SIGNAL_NAMES)})",
                )
            if target not in (*SIGNAL_NAMES, DISABLED):
                raise ConfigError(
                    where,
                    f"negotiation.cues.{key}.{signal}",
                    f"must be one of {', '.join(SIGNAL_NAMES)} or {DISABLED!r}",
                )
    for i, signal in enumerate(cues.unhedged):
        if signal not in SIGNAL_NAMES:
            raise ConfigError(
                where,
                f"negotiation.cues.unhedged[{i}]",
                f"unknown signal (signals: {', '.join(SIGNAL_NAMES)})",
            )
    for key in ("negation", "hedge", "negation_after", "hedge_after", "upcoming", "events"):
        for i, phrase in enumerate(getattr(cues, key)):
            _check_phrase(phrase, where, f"negotiation.cues.{key}[{i}]")
    for key in ("negation_window", "hedge_window", "after_window"):
        if getattr(cues, key) < 0:
            raise ConfigError(where, f"negotiation.cues.{key}", "must not be negative")
    return cues


def _check_phrase(phrase: str, where: str, key: str) -> None:
    if not _PHRASE_OK.search(phrase.replace("..", "")):
        raise ConfigError(where, key, f"phrase {phrase!r} has no letters")
    words = phrase.split()
    if words and (words[0] == ".." or words[-1] == ".."):
        raise ConfigError(where, key, f"phrase {phrase!r} cannot start or end with a `..` gap")
    if any(w.startswith("*") for w in words):
        raise ConfigError(where, key, f"phrase {phrase!r}: `*` may only end a word")


def _signals_from(raw: Any, where: str, prefix: str) -> dict[str, SignalPhrase]:
    if not isinstance(raw, dict):
        raise ConfigError(where, prefix, "must be a table of phrase = signal")
    out: dict[str, SignalPhrase] = {}
    for phrase, value in raw.items():
        key = f"{prefix}.{phrase}"
        _check_phrase(phrase, where, key)
        weight = 1.0
        if isinstance(value, dict):
            unknown = set(value) - {"signal", "weight"}
            if unknown:
                raise ConfigError(where, f"{key}.{sorted(unknown)[0]}", "unknown key (known: signal, weight)")
            if "signal" not in value:
                raise ConfigError(where, f"{key}.signal", "required key is missing")
            weight = check_value(value.get("weight", 1.0), float, where, f"{key}.weight")
            if weight <= 0:
                raise ConfigError(where, f"{key}.weight", "must be greater than 0")
            value = value["signal"]
        if not isinstance(value, str):
            raise ConfigError(where, key, "must be a signal name or a table {signal = ..., weight = ...}")
        if value not in (*SIGNAL_NAMES, DISABLED):
            raise ConfigError(
                where, key, f"unknown signal {value!r} (signals: {', '.join(SIGNAL_NAMES)}, or {DISABLED!r})"
            )
        out[" ".join(phrase.lower().split())] = SignalPhrase(phrase, value, weight)
    return out


def _names_from(raw: Any, where: str, key: str) -> tuple[Name, ...]:
    values = check_value(raw, tuple[str, ...], where, key)
    out: list[Name] = []
    for i, entry in enumerate(values):
        parts = [p.strip() for p in entry.split("|") if p.strip()]
        if not parts:
            raise ConfigError(where, f"{key}[{i}]", "must not be empty")
        for part in parts:
            _check_phrase(part, where, f"{key}[{i}]")
        out.append(Name(display=parts[0].replace("*", ""), patterns=tuple(parts)))
    return tuple(out)
