"""Text machinery for the negotiation engine: sentences, clauses, and a phrase matcher with gaps."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

from monitor.tagging import fold

P = TypeVar("P")

# Abbreviations whose period does not end a sentence ("U.S. envoys", "Gen. Smith", "Jan. 5").
_ABBREVIATIONS = frozenset(
    {
        *("mr", "mrs", "ms", "dr", "gen", "lt", "col", "sen", "rep", "gov", "pres", "st", "jr", "sr"),
        *("prof", "capt", "maj", "sgt", "cmdr", "adm", "no", "vs", "etc", "inc", "ltd", "co", "corp"),
        *("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
        *("u.s", "u.n", "u.k", "e.u", "a.m", "p.m", "fig", "approx", "est", "dept", "govt"),
    }
)
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]*[A-Z0-9\u0400-\u04ff])")
_CLAUSE_PUNCT = re.compile(r"[,;:()\[\]—–]|\s-\s")
_CLAUSE_WORDS = re.compile(r"\b(?:but|while|whereas|although|though|however|despite|amid|yet)\b")
_SCOPE_WORDS = re.compile(
    r"\b(?:and|but|while|whereas|although|though|however|despite|amid|after|before|because|since|"
    r"following|when|which|who|as|or)\b"
)
_WORD = re.compile(r"[\w']+")
_WORD_START = re.compile(r"(?<![\w'])(?=[\w'])")
"""Where each run that _WORD finds begins."""
_GAP = r"(?:[\s\-,\"'“”‘’]+[\w'’]+){0,3}?[\s\-,\"'“”‘’]+"
_SEP = r"[\s\-]+"


def lower_same_length(text: str) -> str:
    """`str.lower` that keeps the length, so spans found in the result index the input."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def normalise(text: str) -> str:
    """The form every match runs on: accents and curly quotes folded, lower case."""
    return lower_same_length(fold(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph; a period after a known abbreviation or an initial does not split."""
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if match.group().startswith("."):
            before = text[start : match.start()].rsplit(None, 1)
            last = before[-1].lower().lstrip("\"'“‘(") if before else ""
            if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
                continue
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def paragraphs(text: str) -> list[str]:
    """Non-empty lines: feeds and articles put headings and paragraphs on lines of their own."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def clause_starts(low: str, *, scope: bool = False) -> list[int]:
    """Positions where clauses start; `scope` also cuts at conjunctions such as "and", for the
    reach of a negation ("no deal, and talks go on" must not negate the talks)."""
    starts = {0}
    for match in _CLAUSE_PUNCT.finditer(low):
        starts.add(match.end())
    for match in (_SCOPE_WORDS if scope else _CLAUSE_WORDS).finditer(low):
        starts.add(match.start())
    return sorted(starts)


def clause_index(starts: Sequence[int], position: int) -> int:
    """Index of the clause containing `position` in the list from `clause_starts`."""
    index = 0
    for i, start in enumerate(starts):
        if start <= position:
            index = i
        else:
            break
    return index


def phrase_regex(phrase: str) -> str:
    """Regex for one configured phrase (see the syntax in config/negotiation.toml), on normalised text."""
    parts: list[str] = []
    previous_word = False
    for token in normalise(phrase).split():
        if token == "..":
            parts.append(_GAP)
            previous_word = False
            continue
        if previous_word:
            parts.append(_SEP)
        pieces = [p for p in re.split(r"-+", token) if p]
        rendered = []
        for piece in pieces:
            if piece.endswith("*"):
                rendered.append(re.escape(piece[:-1]) + r"\w*")
            else:
                rendered.append(re.escape(piece))
        parts.append(_SEP.join(rendered))
        previous_word = True
    return r"(?<!\w)" + "".join(parts) + r"(?!\w)"


@lru_cache(maxsize=4096)
def compiled(phrase: str) -> re.Pattern[str]:
    return re.compile(phrase_regex(phrase))


_KEY = 3
"""Letters of text that pick the phrases tried at a word start."""
_KEY_CACHE = 20_000
"""Most cached per-position regexes per matcher (distinct three-letter word starts seen)."""


def _literal_prefix(phrase: str) -> str:
    """The letters any match of `phrase` starts with: its first word up to a `*` or a hyphen."""
    tokens = normalise(phrase).split()
    pieces = [p for p in re.split(r"-+", tokens[0]) if p] if tokens else []
    if not pieces:
        return ""
    return pieces[0][:-1] if pieces[0].endswith("*") else pieces[0]


def _specificity(phrase: str) -> tuple[int, int]:
    words = [w for w in phrase.split() if w != ".."]
    return (-len(words), -len(phrase.replace("*", "")))


@dataclass(frozen=True, slots=True)
class Match(Generic[P]):
    start: int
    end: int
    payload: P
    gap: tuple[int, int] | None
    """Span between the first and last word of a gapped phrase (where a negation may hide)."""
    head: int = -1
    """Start of the earlier match this one overlaps ("peace talks" for "talks .. collapsed"), so
    both share the words before it; the match's own start otherwise."""


class PhraseMatcher(Generic[P]):
    """Many phrases compiled into one regex tried at each word start; the most specific phrase wins
    at a position, and a match inside an earlier, longer match is dropped."""

    def __init__(self, entries: Iterable[tuple[str, P]], blocks: Callable[[P], bool] | None = None) -> None:
        """`blocks(payload)` marks blocking phrases: words inside them start no other match."""
        self._blocks = blocks
        items = sorted(
            {phrase: payload for phrase, payload in entries}.items(), key=lambda kv: _specificity(kv[0])
        )
        self._payloads: list[P] = [payload for _, payload in items]
        self._gapped: list[bool] = [".." in phrase.split() for phrase, _ in items]
        self._alternatives = [f"(?P<p{i}>{phrase_regex(phrase)})" for i, (phrase, _) in enumerate(items)]
        self._prefixes = [_literal_prefix(phrase) for phrase, _ in items]
        self._first = [compiled(phrase.split()[0]) for phrase, _ in items]
        # Trying one regex of every phrase at each word start cost most of an item's reading time.
        # A phrase can only match where its first word's literal letters stand, so each position
        # tries only the phrases whose literal prefix fits the text there, in the same order: the
        # first alternative to match, and so the result, is the one the full regex would give.
        self._at_key: dict[str, re.Pattern[str] | None] = {}
        self._anywhere: dict[tuple[int, ...], re.Pattern[str]] = {}
        # The word starts (as _WORD finds them) where some prefix stands: the only places worth trying.
        literal = sorted({re.escape(prefix) for prefix in self._prefixes}, key=lambda x: (-len(x), x))
        self._starts = (
            re.compile(r"(?<![\w'])(?=[\w'])(?=" + "|".join(literal) + ")")
            if literal and "" not in self._prefixes
            else _WORD_START
        )

    def __bool__(self) -> bool:
        return bool(self._alternatives)

    def _regex_at(self, low: str, position: int) -> re.Pattern[str] | None:
        """The phrases that can start at `position`, as one regex (cached by the next few letters)."""
        key = low[position : position + _KEY]
        try:
            return self._at_key[key]
        except KeyError:
            pass
        chosen = [
            alternative
            for alternative, prefix in zip(self._alternatives, self._prefixes, strict=True)
            if (key.startswith(prefix) if len(prefix) < _KEY else prefix.startswith(key) and len(key) == _KEY)
        ]
        regex = re.compile("|".join(chosen)) if chosen else None
        if len(self._at_key) >= _KEY_CACHE:
            self._at_key.clear()
        self._at_key[key] = regex
        return regex

    def find(self, low: str) -> list[Match[P]]:
        """Matches in normalised text, in order of position."""
        out: list[Match[P]] = []
        if not self._alternatives:
            return out
        reach = -1
        blocked = -1
        chain = -1
        for start in self._starts.finditer(low):
            position = start.start()
            if position < blocked:
                continue
            regex = self._regex_at(low, position)
            match = regex.match(low, position) if regex is not None else None
            if match is None or match.end() <= reach:
                continue
            if match.start() >= reach:
                chain = match.start()
            reach = match.end()
            index = int(match.lastgroup[1:])  # type: ignore[index]
            if self._blocks is not None and self._blocks(self._payloads[index]):
                blocked = match.end()
            gap = None
            if self._gapped[index]:
                head = self._first[index].match(low, match.start())
                tail = _WORD.findall(low[match.start() : match.end()])
                last = tail[-1] if tail else ""
                gap = (head.end() if head else match.start(), match.end() - len(last))
            out.append(Match(match.start(), match.end(), self._payloads[index], gap, chain))
        return out

    def search(self, low: str) -> bool:
        """True when any phrase occurs anywhere in the text."""
        # Only phrases whose literal prefix occurs somewhere can match: usually none.
        chosen = tuple(i for i, prefix in enumerate(self._prefixes) if prefix in low)
        if not chosen:
            return False
        regex = self._anywhere.get(chosen)
        if regex is None:
            if len(self._anywhere) >= _KEY_CACHE:
                self._anywhere.clear()
            regex = self._anywhere[chosen] = re.compile("|".join(self._alternatives[i] for i in chosen))
        return regex.search(low) is not None

    def occurs_in(self, low: str, start: int, end: int) -> Match[P] | None:
        """The first phrase that lies wholly within low[start:end], if any."""
        if not self._alternatives or end <= start:
            return None
        for match in self.find(low[start:end]):
            return Match(match.start + start, match.end + start, match.payload, None)
        return None


def window_before(low: str, position: int, words: int, floor: int) -> int:
    """Start of the `words` words before `position`, not going below `floor` (a clause start)."""
    if words <= 0:
        return position
    found = [m.start() for m in _WORD.finditer(low, floor, position)]
    if not found:
        return position
    return found[-words] if len(found) >= words else found[0]


def window_after(low: str, position: int, words: int, ceiling: int) -> int:
    """End of the `words` words after `position`, not going beyond `ceiling` (the next clause)."""
    if words <= 0:
        return position
    found = [m.end() for m in _WORD.finditer(low, position, ceiling)]
    if not found:
        return position
    return found[min(words, len(found)) - 1]


def find_all(patterns: Sequence[str], low: str) -> Iterator[tuple[int, int]]:
    """Spans of every occurrence of any of `patterns` in normalised text."""
    for pattern in patterns:
        for match in compiled(pattern).finditer(low):
            yield match.span()
