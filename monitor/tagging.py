"""Tag news items with conflict tracks by weighted term matching, and say which words matched."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from monitor.config import TrackConfig

TITLE_WEIGHT = 2.0
"""Multiplier for a term found in an item's title: headlines say what a story is about."""
SUMMARY_WEIGHT = 1.0
"""Multiplier for a term found in an item's summary."""
SUMMARY_CHARS = 1000
"""Characters of a summary that count. Some feeds put whole articles in the description, and those
name other conflicts in passing far below the lede; this also bounds the time one item takes."""

ACCEPTED_CACHE = 20_000
"""Distinct matched strings whose verdict a lexicon remembers before it starts over (a few MB at most)."""

P = TypeVar("P")

# Typography that should not change a match: curly apostrophes, non-breaking hyphens, and
# invisible characters some feeds put inside words (zero-width joiners, soft hyphens).
# Replaced one by one: `str.translate` with a dict costs ten times more on non-ASCII text.
_TYPOGRAPHY = (
    ("\u2018", "'"),
    ("\u2019", "'"),
    ("\u02bc", "'"),
    ("\u2010", "-"),
    ("\u2011", "-"),
    ("\u00ad", ""),
    ("\u200b", ""),
    ("\u200c", ""),
    ("\u200d", ""),
    ("\u2060", ""),
    ("\ufeff", ""),
)
_MARKS = re.compile(r"[\u0300-\u036f]+")
_SEPARATORS = re.compile(r"[\s-]+")
_SEP = "\x00sep"
_FIELD_BREAK = "\x00"
_WILD = "\x00wild"


def fold(text: str) -> str:
    """Text with accents, curly apostrophes and invisible characters removed; case is kept."""
    if text.isascii():
        return text
    for char, replacement in _TYPOGRAPHY:
        if char in text:
            text = text.replace(char, replacement)
    text = unicodedata.normalize("NFKD", text)
    if text.isascii():
        return text
    # Combining marks U+0300-U+036F all encode as 0xCC or 0xCD lead bytes in UTF-8; a memchr for
    # those skips the regex on text whose only non-ASCII characters are dashes and the like.
    encoded = text.encode("utf-8", "surrogatepass")
    return _MARKS.sub("", text) if b"\xcc" in encoded or b"\xcd" in encoded else text


def _phrase_key(phrase: str) -> str:
    """A configured phrase folded, trimmed, and with each run of spaces or hyphens made one space."""
    return _SEPARATORS.sub(" ", fold(phrase).strip())


def _lower_same_length(text: str) -> str:
    """`str.lower` that never changes the length, so spans found in it index the original text."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _tokens(phrase: str) -> list[str]:
    """A folded, lowercased phrase as trie tokens: characters, separator runs and `*` wildcards."""
    out: list[str] = []
    for char in phrase:
        if char.isspace() or char == "-":
            if not out or out[-1] != _SEP:
                out.append(_SEP)
        elif char == "*":
            out.append(_WILD)
        else:
            out.append(char)
    return out


def _token_regex(token: str) -> str:
    if token == _SEP:
        return r"[\s-]+"
    if token == _WILD:
        return r"\w*"
    return re.escape(token)


def _trie_regex(node: dict[str, dict]) -> str:
    # A prefix tree turned into nested alternations: the engine rejects a branch on its first
    # character, so matching costs about the same with 20 or 500 terms.
    alternatives = [
        _token_regex(token) + _trie_regex(child)
        for token, child in sorted(node.items(), key=lambda kv: (kv[0] == _WILD, kv[0]))
        if token != ""
    ]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    if "" in node:
        # The end of a shorter term: optional, so the longest term at a position wins.
        body = "(?:" + body + ")?"
    return body


def _is_acronym(word: str) -> bool:
    return any(c.isupper() for c in word) and not any(c.islower() for c in word)


def _word_fits(found: str, word: str) -> bool:
    """Case rule for one word of a phrase that has capitals: acronyms exactly, others from the
    second letter on (so Title Case headlines and sentence starts still match)."""
    return found == word if _is_acronym(word) else found[1:] == word[1:]


def _case_pattern(phrase: str) -> str:
    """The case-sensitive regex a folded wildcard phrase must fully match (same rules as `accepts`)."""
    if not any(c.isupper() for c in phrase):
        return "(?i:" + "".join(_token_regex(t) for t in _tokens(phrase)) + ")"
    words = []
    for word in phrase.split(" "):
        body = "".join(_token_regex(t) for t in _tokens(word))
        if not _is_acronym(word) and word[0].isalpha():
            rest = "".join(_token_regex(t) for t in _tokens(word[1:]))
            body = f"[{re.escape(word[0].upper())}{re.escape(word[0].lower())}]{rest}"
        words.append(body)
    upper = "".join(_token_regex(t) for t in _tokens(phrase.upper()))
    return "(?:" + r"[\s-]+".join(words) + "|" + upper + ")"


@dataclass(slots=True)
class _Phrase(Generic[P]):
    """One configured phrase and everything attached to it (tracks, weights)."""

    text: str
    """The folded phrase with separators collapsed to one space."""
    payloads: list[P]
    pattern: re.Pattern[str] | None = None
    """Full-match pattern for phrases with a `*`, compiled when first needed (each worker process
    builds a tagger, and most wildcards never match); plain comparison is enough for the others."""
    wild: bool = False
    any_case: bool = False
    """An all-lowercase phrase, which matches in any case."""
    words: tuple[str, ...] = ()
    upper: str = ""

    def __post_init__(self) -> None:
        self.any_case = not any(c.isupper() for c in self.text)
        self.words = tuple(self.text.split(" "))
        self.upper = self.text.upper()
        self.wild = "*" in self.text

    def accepts(self, found: str) -> bool:
        """Whether text the case-blind search found (separators collapsed) obeys the case rule."""
        if self.wild:
            if self.pattern is None:
                self.pattern = re.compile(_case_pattern(self.text))
            return self.pattern.fullmatch(found) is not None
        if self.any_case or found == self.text or found == self.upper:
            return True
        found_words = found.split(" ")
        return len(found_words) == len(self.words) and all(map(_word_fits, found_words, self.words))


class _Lexicon(Generic[P]):
    """A set of phrases compiled once into one regex; finds them with their payloads."""

    def __init__(self, entries: Iterable[tuple[str, P]]) -> None:
        phrases: dict[str, _Phrase[P]] = {}
        for raw, payload in entries:
            folded = _phrase_key(raw)
            if not folded.replace("*", ""):
                continue
            phrase = phrases.get(folded)
            if phrase is None:
                phrase = phrases[folded] = _Phrase(folded, [])
            phrase.payloads.append(payload)

        self._literal: dict[str, list[_Phrase[P]]] = {}
        self._wild: dict[str, list[_Phrase[P]]] = {}
        trie: dict[str, dict] = {}
        for folded, phrase in phrases.items():
            low = _lower_same_length(folded)
            if "*" in low:
                # Indexed by up to three leading characters, so a match checks a handful of wildcards.
                self._wild.setdefault(low.split("*", 1)[0][:3], []).append(phrase)
            else:
                self._literal.setdefault(low, []).append(phrase)
            node = trie
            for token in _tokens(low):
                node = node.setdefault(token, {})
            node[""] = {}
        self._wild_lengths = sorted({len(key) for key in self._wild})
        self._accepted: dict[str, list[P]] = {}
        """Matched text (as written) -> payloads its case rules accept: news repeats the same names."""
        # A phrase starts at the string's start or after a non-word character. Matching that
        # character (its phrase in a lookahead group) instead of looking behind every position lets
        # the engine skip from one non-word character to the next in C: a fifth less time. The text
        # gets a leading space so a phrase can start at 0, and overlapping hits are dropped in `find`,
        # which keeps leftmost, non-overlapping matches exactly as `(?<!\w)phrase(?!\w)` finds them.
        self._regex = re.compile(r"\W(?=(" + _trie_regex(trie) + r")(?!\w))") if phrases else None

    def find(self, folded: str, low: str) -> Iterator[tuple[int, int, list[P]]]:
        """Yield (start, end, payloads) for each phrase in `folded` (whose lowercase is `low`)."""
        if self._regex is None:
            return
        accepted = self._accepted
        end = 0
        for match in self._regex.finditer(" " + low):
            start = match.start(1) - 1  # in `low`, one character shorter than what was searched
            if start < end:
                continue  # inside the previous phrase
            end = match.end(1) - 1
            original = folded[start:end]
            payloads = accepted.get(original)
            if payloads is None:
                payloads = self._payloads(match.group(1), original)
                if len(accepted) >= ACCEPTED_CACHE:
                    accepted.clear()
                accepted[original] = payloads
            if payloads:
                yield start, end, payloads

    def _payloads(self, key: str, original: str) -> list[P]:
        """Payloads of the phrases whose case rule accepts `original`, found case-blind as `key`."""
        if not key.isalnum():
            key = _SEPARATORS.sub(" ", key)
            original = _SEPARATORS.sub(" ", original)
        payloads: list[P] = []
        for phrase in self._literal.get(key, ()):
            if phrase.accepts(original):
                payloads.extend(phrase.payloads)
        for length in self._wild_lengths:
            for phrase in self._wild.get(key[:length], ()):
                if phrase.accepts(original):
                    payloads.extend(phrase.payloads)
        return payloads


@dataclass(frozen=True, slots=True)
class _Term:
    track: int
    term: str
    weight: float
    context: bool


class Tagger:
    """Scores text against every track's terms; built once from the configured tracks.

    An item is tagged with a track when its score reaches the track's threshold and at least one
    matched word is a real term (not context). Each distinct term counts once per field: its weight
    times `title_weight` in the title and times `summary_weight` in the summary; only the first
    `summary_chars` characters of a summary count. Text inside one of a track's `exclude` phrases
    does not count for that track. Matching rules are documented at the top of config/tracks.toml.
    """

    def __init__(
        self,
        tracks: Sequence[TrackConfig],
        *,
        title_weight: float = TITLE_WEIGHT,
        summary_weight: float = SUMMARY_WEIGHT,
        summary_chars: int | None = SUMMARY_CHARS,
    ) -> None:
        self.tracks = tuple(tracks)
        self.title_weight = title_weight
        self.summary_weight = summary_weight
        self.summary_chars = summary_chars
        self._ids = [track.id for track in self.tracks]
        self._thresholds = [track.threshold for track in self.tracks]
        # One entry per track and folded phrase, so "Rodríguez" and "Rodriguez" listed twice count once;
        # a word listed both as a term and as context counts as a term.
        entries: dict[tuple[int, str], tuple[str, _Term]] = {}
        for index, track in enumerate(self.tracks):
            for terms, is_context in ((track.terms, False), (track.context, True)):
                for term, weight in terms.items():
                    entries.setdefault(
                        (index, _phrase_key(term)), (term, _Term(index, term, weight, is_context))
                    )
        term_entries = list(entries.values())
        self._terms = _Lexicon(term_entries)
        self._excludes: _Lexicon[int] = _Lexicon(
            (phrase, index) for index, track in enumerate(self.tracks) for phrase in track.exclude
        )
        self._alerts: _Lexicon[tuple[int, str]] = _Lexicon(
            (phrase, (index, phrase)) for index, track in enumerate(self.tracks) for phrase in track.alerts
        )
        self._tracks_with_excludes = {index for index, track in enumerate(self.tracks) if track.exclude}

    @property
    def track_ids(self) -> tuple[str, ...]:
        return tuple(self._ids)

    def _field(self, text: str) -> dict[int, dict[str, _Term]]:
        """Distinct terms found in one field, per track index."""
        if not text:
            return {}
        folded = fold(text)
        return self._scan(folded, _lower_same_length(folded), len(folded))[0]

    def _title_and_lede(self, title: str, lede: str) -> tuple[dict[int, dict[str, _Term]], ...]:
        """`_field` of a title and of a lede, both read in one pass over the two joined by a NUL.

        No phrase can match across a NUL (it is neither a word character nor a separator), and no
        folding step moves text across one; one pass saves a fifth of tagging an item."""
        if not title or not lede or _FIELD_BREAK in title or _FIELD_BREAK in lede:
            return self._field(title), self._field(lede)
        folded = fold(title + _FIELD_BREAK + lede)
        return self._scan(folded, _lower_same_length(folded), folded.index(_FIELD_BREAK))

    def _scan(self, folded: str, low: str, boundary: int) -> tuple[dict[int, dict[str, _Term]], ...]:
        """Distinct terms per track index found before `boundary` in `folded`, and after it."""
        before: dict[int, dict[str, _Term]] = {}
        after: dict[int, dict[str, _Term]] = {}
        excluded: list[tuple[int, int, list[int]]] | None = None
        for start, end, terms in self._terms.find(folded, low):
            best: dict[int, _Term] = {}
            for term in terms:
                if term.track in self._tracks_with_excludes:
                    if excluded is None:
                        # Searched only once a term of such a track matched: most items match nothing.
                        excluded = list(self._excludes.find(folded, low))
                    if any(
                        term.track in tracks and start < x_end and end > x_start
                        for x_start, x_end, tracks in excluded
                    ):
                        continue
                # Several terms of a track can cover the same words ("Zelensky" and "Zelensk*"):
                # the words count once, as the strongest of them.
                known = best.get(term.track)
                if known is None or (known.context, -known.weight) > (term.context, -term.weight):
                    best[term.track] = term
            found = before if start < boundary else after
            for track, term in best.items():
                found.setdefault(track, {})[term.term] = term
        return before, after

    def _decide(self, fields: list[tuple[dict[int, dict[str, _Term]], float]]) -> dict[str, list[str]]:
        scores: dict[int, float] = {}
        real: set[int] = set()
        matched: dict[int, set[str]] = {}
        for found, multiplier in fields:
            for track, terms in found.items():
                for term in terms.values():
                    scores[track] = scores.get(track, 0.0) + term.weight * multiplier
                    if not term.context:
                        real.add(track)
                    matched.setdefault(track, set()).add(term.term)
        return {
            self._ids[track]: sorted(matched[track])
            for track in sorted(scores)
            if track in real and scores[track] >= self._thresholds[track] - 1e-9
        }

    def _lede(self, summary: str) -> str:
        """The first `summary_chars` characters of a summary (all of it for None), cut at a space."""
        if self.summary_chars is None or len(summary) <= self.summary_chars:
            return summary
        cut = summary.rfind(" ", 0, self.summary_chars + 1)
        return summary[: cut if cut > 0 else self.summary_chars]

    def tag(self, title: str, summary: str) -> dict[str, list[str]]:
        """Track id -> sorted matched terms (context included) for each track the item belongs to."""
        in_title, in_lede = self._title_and_lede(title, self._lede(summary))
        return self._decide([(in_title, self.title_weight), (in_lede, self.summary_weight)])

    def tag_text(self, text: str) -> dict[str, list[str]]:
        """Tag one sentence: it is scored at title weight against the same thresholds, so a single
        identifying or supporting term is enough while context words alone still tag nothing."""
        return self._decide([(self._field(text), self.title_weight)])

    def score(self, text: str) -> dict[str, tuple[float, list[str]]]:
        """Raw score of one text at weight 1 for every track with any match, context-only included;
        no threshold or real-term rule is applied."""
        out: dict[str, tuple[float, list[str]]] = {}
        for track, terms in sorted(self._field(text).items()):
            total = sum(term.weight for term in terms.values())
            out[self._ids[track]] = (total, sorted(terms))
        return out

    def alerts(self, tracks_matched: Iterable[str], title: str, summary: str) -> list[tuple[str, str]]:
        """(track id, alert phrase) for each alert phrase of a matched track found in the item."""
        wanted = set(tracks_matched)
        if not wanted:
            return []
        hits: set[tuple[int, str]] = set()
        for text in (title, self._lede(summary)):
            if not text:
                continue
            folded = fold(text)
            for _start, _end, payloads in self._alerts.find(folded, _lower_same_length(folded)):
                hits.update(p for p in payloads if self._ids[p[0]] in wanted)
        return [(self._ids[track], phrase) for track, phrase in sorted(hits)]
