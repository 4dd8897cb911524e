"""Story clustering: group items from different feeds that report the same event, incrementally."""

from __future__ import annotations

import functools
import math
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store import Store
    from monitor.store.clusters import ClusterNeighbour, ClusterSubject

DEFAULT_WINDOW_HOURS = 36.0

THRESHOLD = 0.22
"""Weighted cosine an item needs with a member of a story to join it. Tuned on
tests/data/cluster_pairs.jsonl with scripts/score_clustering.py."""
CONFLICT_THRESHOLD = 0.35
"""Similarity that still joins two items whose headlines name different people or places."""
NAME_IDF_SHARE = 0.45
"""A name counts for a conflict only if it is rarer than this share of the rarest possible token's
weight: 'US' or 'Trump' in half the window's headlines tells no events apart."""
MISSING_CAST_SHARE = 0.75
"""A headline whose names are mostly absent from the other item is about something else."""
MISSING_PAIR_SHARE = 0.5
"""The same when two or more of the absent names are places and they make up this share of its cast."""
VETO_SHARE = 0.5
"""A story refuses an item when more than this share of its items has a different cast; one angle
piece ('In Africa, Jackson was esteemed...') must not keep later reports out."""
RANK_TOP = 3
"""Stories are ranked by the mean similarity of their this-many closest items to a newcomer."""
MERGE_THRESHOLD = 0.35
"""A newcomer this close (ranking score) to a second story, with no contradiction, merges the two."""
MIN_SHARED = 2
"""Informative tokens two items must share: one shared place name never makes a story."""
MIN_SHARED_TITLE = 2
"""Of which at least this many must be in both headlines: the headline says what the event is."""

TITLE_BOOST = 2.0
"""Headline words say what the event is; summary words add context."""
ENTITY_WEIGHT = 1.6
"""Names of places, people and organisations identify an event better than common words."""
NUMBER_WEIGHT = 1.6
"""Numbers (death tolls, sums, round numbers) tell two similar events apart."""
LEXICON_WEIGHT = 1.5
"""A track-lexicon term the tagger matched (`Board of Peace`, `Zaporizhzhia`): a shared entity."""
SUMMARY_WORDS = 45
"""Summary words that count: the lede says what happened; long bodies drift to background."""
MIN_TITLE_KEY_WORDS = 4
"""Headlines this short are too generic ('Live updates') to mark exact duplicates."""
BATCH = 500
"""Items clustered per write transaction."""
CYCLE_BUDGET = 20.0
"""Seconds a poll cycle spends clustering before it leaves the rest for the next cycle (or the digest).

A first poll of 200 feeds stores 10,000 items at once: about 10 s of clustering on real news, minutes
on text that is all one story. Past the budget the poll ends (or the next cycle starts) on time; the
next cycle clusters its own new items, then the ones left over."""
_N_KEY = "\x00n"
"""Key under which `_Weights` answers the number of items in the window."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


# ---- text normalisation ---------------------------------------------------------------------------

_STOP_WORDS = frozenset(
    """
    a about above after again against all almost also am among an and any are aren't as at be because
    been before being below between both but by can could did do does doing down during each else ever
    few for from further had has have having he her here hers herself him himself his how however i if
    in into is it its itself just least less let like many may me might more most much must my myself
    near neither no nor not now of off on once one only onto or other others our ours out over own per
    quite rather said same says say saying she should since so some such than that the their theirs them
    themselves then there these they this those though through thus to too toward towards under until
    up upon us very via was we were what when where whether which while who whom whose why will with
    within without would yet you your yours yourself
    new news latest live update updates report reports reported according amid amidst says told tells
    tell week weeks day days today yesterday tomorrow year years month months time times first last
    next still just get gets got make makes made take takes took back more most watch video photos
    could would should mr mrs ms dr st
    monday tuesday wednesday thursday friday saturday sunday
    two three four five six seven eight nine ten dozen dozens several
    """.split()  # noqa: SIM905 - a word list reads better as text
)
"""English function words plus newsroom filler ('latest', 'live', 'watch') and small number words,
which join 'two weeks' to 'two years' as easily as they tell events apart."""

_PLACES = frozenset(
    """
    afghanistan albania algeria angola argentina armenia australia austria azerbaijan bahrain
    bangladesh belarus belgium bolivia bosnia brazil britain bulgaria burma cambodia cameroon canada
    chad chile china colombia congo croatia cuba cyprus czechia denmark ecuador egypt england eritrea
    estonia ethiopia finland france gabon georgia germany ghana greece greenland guatemala guinea
    guyana haiti honduras hungary iceland india indonesia iran iraq ireland israel italy jamaica japan
    jordan kazakhstan kenya korea kosovo kuwait kyrgyzstan laos latvia lebanon liberia libya
    lithuania luxembourg madagascar malawi malaysia mali malta mauritania mexico moldova mongolia
    montenegro morocco mozambique myanmar namibia nepal netherlands nicaragua niger nigeria norway oman
    pakistan palestine panama paraguay peru philippines poland portugal qatar romania russia rwanda
    scotland senegal serbia singapore slovakia slovenia somalia somaliland spain sudan sweden
    switzerland syria taiwan tajikistan tanzania thailand tunisia turkey turkiye uganda ukraine
    uruguay uzbekistan venezuela vietnam wales yemen zambia zimbabwe
    africa america asia europe arctic antarctica caribbean balkans
    geneva moscow kyiv kiev tehran washington beijing london paris berlin brussels tokyo delhi
    islamabad kabul baghdad damascus beirut cairo riyadh doha ankara istanbul jerusalem caracas
    havana bogota lima minsk warsaw budapest rome madrid vienna hague davos munich gaza hormuz
    """.split()  # noqa: SIM905 - a word list reads better as text
)
"""Countries, regions and the capitals news is datelined from: names wherever they stand in a
sentence (a headline's first word is capitalised anyway, so case alone cannot tell)."""

# Demonyms and their countries are one entity: "Iranian officials" and "Iran" report the same side.
_DEMONYMS = {
    "iranian": "iran",
    "iranians": "iran",
    "israeli": "israel",
    "israelis": "israel",
    "afghan": "afghanistan",
    "afghans": "afghanistan",
    "pakistani": "pakistan",
    "pakistanis": "pakistan",
    "chinese": "china",
    "french": "france",
    "british": "britain",
    "german": "germany",
    "germans": "germany",
    "turkish": "turkey",
    "japanese": "japan",
    "european": "europe",
    "american": "america",
    "americans": "america",
    "lebanese": "lebanon",
    "iraqi": "iraq",
    "iraqis": "iraq",
    "saudi": "saudi",
    "qatari": "qatar",
    "emirati": "emirates",
    "egyptian": "egypt",
    "egyptians": "egypt",
    "yemeni": "yemen",
    "danish": "denmark",
    "dutch": "netherlands",
    "polish": "poland",
    "swiss": "switzerland",
    "cuban": "cuba",
    "cubans": "cuba",
    "colombian": "colombia",
    "mexican": "mexico",
    "brazilian": "brazil",
    "korean": "korea",
    "indian": "india",
    "russian": "russia",
    "russians": "russia",
    "ukrainian": "ukraine",
    "ukrainians": "ukraine",
    "syrian": "syria",
    "syrians": "syria",
    "venezuelan": "venezuela",
    "venezuelans": "venezuela",
    "palestinian": "palestine",
    "palestinians": "palestine",
    "hungarian": "hungary",
    "peruvian": "peru",
    "australian": "australia",
    "australians": "australia",
    "canadian": "canada",
    "nigerian": "nigeria",
    "sudanese": "sudan",
    "belgian": "belgium",
    "spanish": "spain",
    "italian": "italy",
}

_ROLE_ACRONYMS = frozenset({"pm", "fm", "mp", "ceo", "tv", "ai", "gop"})
"""Capitalised abbreviations that name a role or a thing, not a party to an event."""
_CAPITAL_KEEP = frozenset({"US", "UK", "UN", "EU"})
"""Stop words in lower case that are names in capitals ("US" the country, not "us")."""

# Abbreviations with dots would split into single letters and vanish.
_ABBREVIATIONS = re.compile(r"\b([A-Z])\.([A-Z])\.(?:([A-Z])\.)?")
_UNITED_STATES = re.compile(r"\b(?:the )?United States\b")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_NUMBER_GROUPS = re.compile(r"(?<=\d)[,.](?=\d{3}\b)")
_SENTENCE_END = re.compile(r"[.!?:;\"“”]\s*$")
_MARKS = re.compile(r"[\u0300-\u036f]+")


def fold(text: str) -> str:
    """Accents off, curly quotes straightened; case kept (capitals mark names)."""
    if not text.isascii():
        text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
        text = text.replace("’", "'").replace("‘", "'")
    return text


def stem(word: str) -> str:
    """A deliberately crude stem: plural and verb endings off, then at most 6 letters.

    Truncation joins most inflections ('negotiations'/'negotiators', 'Ukraine'/'Ukrainian') and
    is predictable; it is only ever compared with other stems.
    """
    word = _DEMONYMS.get(word, word)
    if word.isdigit():
        return word.lstrip("0") or "0"
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith(("ian", "ean")):
        word = word[:-1]  # russian -> russia, korean -> korea
    return word[:6]


@dataclass(frozen=True, slots=True)
class _Token:
    stem: str
    entity: bool
    number: bool


def _words(text: str) -> list[tuple[str, bool]]:
    """(word, starts a sentence) pairs of folded text."""
    text = _ABBREVIATIONS.sub(lambda m: "".join(g for g in m.groups() if g), fold(text))
    text = _UNITED_STATES.sub("US", text)
    text = _NUMBER_GROUPS.sub("", text)
    out: list[tuple[str, bool]] = []
    last_end = 0
    for match in _WORD.finditer(text):
        gap = text[last_end : match.start()]
        initial = not out or bool(_SENTENCE_END.search(gap)) or "\n" in gap
        word = match.group()
        if "'" in word:
            word = word.split("'", 1)[0]  # possessive and contractions: Trump's -> Trump
        out.append((word, initial))
        last_end = match.end()
    return out


def _is_title_case(words: Sequence[tuple[str, bool]]) -> bool:
    long_words = [w for w, _ in words if len(w) > 3 and w.isalpha()]
    if len(long_words) < 3:
        return False
    capitals = sum(1 for w in long_words if w[0].isupper())
    return capitals / len(long_words) > 0.6


def tokens(text: str, *, trust_case: bool = True, limit: int | None = None) -> list[_Token]:
    """Informative tokens of a text: stop words out, numbers and capitalised names marked."""
    words = _words(text)
    if limit is not None:
        words = words[:limit]
    if trust_case and _is_title_case(words):
        trust_case = False
    out: list[_Token] = []
    for word, initial in words:
        low = word.lower()
        number = any(c.isdigit() for c in low)
        if number:
            low = "".join(c for c in low if c.isdigit())  # 3rd -> 3, 1,538,950 -> 1538950
            if not low:
                continue
        elif (low in _STOP_WORDS or len(low) < 2) and word not in _CAPITAL_KEEP:
            continue
        acronym = len(word) > 1 and word.isupper() and word.isalpha() and low not in _ROLE_ACRONYMS
        place = _DEMONYMS.get(low, low) in _PLACES
        entity = place or acronym or (trust_case and word[0].isupper() and not initial)
        out.append(_Token(stem(low), entity, number))
    return out


_PLACE_STEMS = frozenset(stem(place) for place in _PLACES)


@dataclass(frozen=True, slots=True)
class Signature:
    """What one item is about: weighted tokens, and the names its headline turns on."""

    vector: dict[str, float]
    """Token -> weight: class weight (name, number, plain word) times the headline boost."""
    entities: frozenset[str]
    """Stems of the names (people, places, organisations) in the headline."""


def signature(title: str, summary: str, lexicon_terms: Iterable[str] = ()) -> Signature:
    """Tokenise an item. Lexicon terms the tagger matched mark their words as names; a matched
    phrase of several words ('Board of Peace') is also a token of its own."""
    vector: dict[str, float] = {}
    named: set[str] = set()
    for term in lexicon_terms:
        words = [w for w, _ in _words(term.rstrip("*"))]
        if not words or term == term.lower():
            continue  # all-lowercase terms are ordinary words ('ceasefire'), not names
        if len(words) == 1:
            named.add(stem(words[0].lower()))
        else:
            vector["lex:" + " ".join(w.lower() for w in words)] = LEXICON_WEIGHT
    summary_tokens = tokens(summary, limit=SUMMARY_WORDS)
    named.update(t.stem for t in summary_tokens if t.entity)
    title_tokens = tokens(title)  # in a Title Case headline only acronyms count as names here
    entities: set[str] = set()

    def add(key: str, weight: float) -> None:
        if weight > vector.get(key, 0.0):
            vector[key] = weight

    for tok in title_tokens:
        # A headline's first word, and every word of a Title Case headline, is capitalised anyway:
        # there the summary or the lexicon must confirm the name.
        entity = tok.entity or tok.stem in named
        if entity and not tok.number:
            entities.add(tok.stem)
        add(tok.stem, _class_weight(tok, entity) * TITLE_BOOST)
    for tok in summary_tokens:
        add(tok.stem, _class_weight(tok, tok.entity or tok.stem in named))
    return Signature(vector, frozenset(entities))


def vectorise(title: str, summary: str, lexicon_terms: Iterable[str] = ()) -> dict[str, float]:
    """Token -> weight for one item (see `signature`)."""
    return signature(title, summary, lexicon_terms).vector


def _class_weight(tok: _Token, entity: bool) -> float:
    if tok.number:
        return NUMBER_WEIGHT
    return ENTITY_WEIGHT if entity else 1.0


def title_key(title: str) -> str | None:
    """The headline reduced to its words, for exact-duplicate detection; None when too short."""
    words = [w.lower() for w, _ in _words(title)]
    if len(words) < MIN_TITLE_KEY_WORDS:
        return None
    return " ".join(words)


_TRACKING = ("utm_", "at_", "cmp", "ref", "rss", "src", "ito", "mc_", "fbclid", "gclid", "ocid", "taid")


def link_key(link: str | None) -> str | None:
    """A link reduced to what names the article: scheme, www, fragment and tracking parameters off."""
    if not link:
        return None
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    host = host.removeprefix("www.")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = [(k, v) for k, v in pairs if not k.lower().startswith(_TRACKING)]
    path = parts.path.rstrip("/") or "/"
    key = f"{host}{path}"
    if query:
        key += "?" + urlencode(sorted(query))
    return key


def guid_key(guid: str | None, feed_url: str) -> str | None:
    """A guid that can name the same article in another feed: a URL, or a long opaque id."""
    if not guid:
        return None
    as_link = link_key(guid)
    if as_link is not None:
        return as_link
    # Short opaque guids ("12", "item-3") repeat across unrelated feeds; scope them to the outlet.
    if len(guid) < 16:
        return f"{outlet_key('', feed_url)}#{guid}"
    return guid


_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "gov", "ac", "edu", "ne", "or"})


@functools.lru_cache(maxsize=4096)
def outlet_key(source: str, feed_url: str) -> str:
    """Who published an item: the feed's registrable domain, so BBC World and BBC Europe are one outlet.

    Local and IP hosts (test servers, self-hosted bridges) carry many outlets, so there the source
    name decides.
    """
    try:
        host = (urlsplit(feed_url).hostname or "").lower()
    except ValueError:
        host = ""
    if not host or "." not in host or _is_ip(host):
        return "source:" + source.strip().lower()
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return host == "localhost"
    return True


# ---- similarity ---------------------------------------------------------------------------------


def idf(df: int, n: int) -> float:
    """Inverse document frequency over the items in the time window (smoothed; never below 1)."""
    return math.log((n + 1) / (df + 1)) + 1.0


@dataclass(frozen=True, slots=True)
class Match:
    """How well two items agree."""

    score: float
    shared: int
    shared_title: int


def similarity(a: Mapping[str, float], b: Mapping[str, float], weights: Mapping[str, float]) -> Match:
    """Weighted cosine of two item vectors, each token scaled by its idf in `weights` (default 1)."""
    dot = 0.0
    shared = 0
    shared_title = 0
    for key, wa in a.items():
        wb = b.get(key)
        if wb is None:
            continue
        w = weights.get(key, 1.0)
        dot += wa * wb * w * w
        if not key.startswith("lex:"):
            shared += 1
            if wa >= TITLE_BOOST and wb >= TITLE_BOOST:
                shared_title += 1
    if not dot:
        return Match(0.0, 0, 0)
    return Match(dot / (norm(a, weights) * norm(b, weights)), shared, shared_title)


def norm(vector: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Length of an idf-weighted vector; `_Weights` remembers it, as a newcomer meets dozens of items."""
    memo = getattr(weights, "norms", None)
    key = id(vector)
    if memo is not None:
        hit = memo.get(key)
        if hit is not None and hit[0] is vector:
            return float(hit[1])
    total = 0.0
    for k, w in vector.items():
        x = w * weights.get(k, 1.0)
        total += x * x
    value = math.sqrt(total)
    if memo is not None:
        memo[key] = (vector, value)  # the vector is kept so its id cannot be reused meanwhile
    return value


class _Weights(dict[str, float]):
    """Token -> idf, computed on first use from document frequencies in the window."""

    def __init__(self, df: Mapping[str, int], n: int) -> None:
        super().__init__()
        self._df = df
        self._n = n
        self.norms: dict[int, tuple[Mapping[str, float], float]] = {}

    def __missing__(self, key: str) -> float:
        if key == _N_KEY:
            return float(self._n)
        value = self[key] = idf(self._df.get(key, 0), self._n)
        return value

    def get(self, key: str, default: float | None = None) -> float:  # type: ignore[override]
        return self[key]


# ---- the incremental clusterer --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemKeys:
    """What the store keeps per clustered item to match later arrivals against it."""

    vector: dict[str, float]
    entities: frozenset[str]
    link_key: str | None
    guid_key: str | None
    title_key: str | None


def title_tokens(vector: Mapping[str, float]) -> set[str]:
    """Tokens that occur in the headline (only headline words reach the headline boost)."""
    return {k for k, w in vector.items() if w >= TITLE_BOOST and not k.startswith("lex:")}


def cast(sig: Signature, names: Set[str]) -> set[str]:
    """The names a headline turns on: its own, plus headline words known as names from nearby items
    (a Title Case headline hides which of its words are names)."""
    return set(sig.entities) | (title_tokens(sig.vector) & names)


def conflicts(
    a: Signature, b: Signature, weights: Mapping[str, float], names: Set[str] = frozenset()
) -> bool:
    """True when the two headlines are about different casts of people and places.

    Two reports of one event share their cast: one may add a name ('as Trump puts pressure on
    Kyiv'). They differ when both add names the other item never mentions ('Russia, Ukraine ...
    Geneva' against 'US and Iran ... Geneva'), or when most of one headline's cast is missing from
    the other ('Iran closes the Strait of Hormuz as it holds talks' against a report of the talks).
    Names as common as 'US' in the window, and role abbreviations ('PM'), do not count.
    """
    floor = NAME_IDF_SHARE * idf(0, int(weights.get(_N_KEY, 0)))

    def distinctive(cast_x: set[str]) -> dict[str, float]:
        known = {e: weights.get(e, floor) for e in cast_x if e not in _ROLE_ACRONYMS}
        return {e: w for e, w in known.items() if w >= floor}

    def missing(cast_x: dict[str, float], other: Mapping[str, float]) -> tuple[float, int]:
        """Share of the cast's weight that the other item never mentions, and how many of the
        missing names are countries or places."""
        gone = [e for e in cast_x if e not in other]
        places = sum(1 for e in gone if e in _PLACE_STEMS)
        return sum(cast_x[e] for e in gone) / sum(cast_x.values()), places

    a_cast, b_cast = distinctive(cast(a, names)), distinctive(cast(b, names))
    if not a_cast or not b_cast:
        return False  # a headline that names nobody ('New prime minister sworn in') contradicts no one
    (a_share, a_names), (b_share, b_names) = missing(a_cast, b.vector), missing(b_cast, a.vector)
    if a_share and b_share:
        return True
    share, places = max((a_share, a_names), (b_share, b_names))
    # Half the cast missing is a different story when two places are among it ('Iran, Ukraine and
    # Gaza' against a piece on Ukraine alone); one place is often just left out of a report.
    return share >= MISSING_CAST_SHARE or (places >= 2 and share >= MISSING_PAIR_SHARE)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an item joins another item's story, and why."""

    match: Match
    conflict: bool
    joins: bool


def compare(a: Signature, b: Signature, weights: Mapping[str, float], names: Set[str] = frozenset(),
            threshold: float = THRESHOLD) -> Verdict:  # fmt: skip
    """Similar enough, sharing enough headline words, and not a different cast (unless nearly the
    same text: then a name one report left out of its summary is no reason to split)."""
    match = similarity(a.vector, b.vector, weights)
    conflict = conflicts(a, b, weights, names)
    needed = max(threshold, CONFLICT_THRESHOLD) if conflict else threshold
    ok = match.score >= needed and match.shared >= MIN_SHARED and match.shared_title >= MIN_SHARED_TITLE
    return Verdict(match, conflict, ok)


@dataclass(frozen=True, slots=True)
class Choice:
    """Where a new item goes: the story it joins (None: a new one) and stories merged into it."""

    cluster_id: str | None
    merge: tuple[str, ...] = ()


class Clusterer:
    """Assigns new items to stories. Call it with item ids (it is a `Poller.after_store` hook).

    Each item joins the best-matching story among items published within the window, or starts
    its own story; stories already formed are never re-clustered.
    """

    def __init__(self, store: Store, *, window_hours: float = DEFAULT_WINDOW_HOURS, threshold: float = THRESHOLD,
                 clock: Callable[[], datetime] = _utc_now, budget: float = CYCLE_BUDGET) -> None:  # fmt: skip
        self.store = store
        self.clock = clock
        self.budget = budget
        """Seconds one call (a poll cycle's hook) may spend; see CYCLE_BUDGET."""
        self.window = timedelta(hours=window_hours)
        self.threshold = threshold
        # Poller hooks run in several worker threads at once; one writer at a time avoids
        # busy-waiting on SQLite's write lock inside this process.
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, store: Store, config: Config, clock: Callable[[], datetime] = _utc_now) -> Clusterer:
        return cls(store, window_hours=config.settings.cluster_window_hours, clock=clock)

    def __call__(self, item_ids: list[str]) -> None:
        """Cluster a cycle's new items, then any an earlier cycle left, until the budget is spent."""
        deadline = time.monotonic() + self.budget
        # In batches: one write transaction for a cold poll's 10,000 items would hold the write lock
        # (and keep the TUI from marking items read) for the whole run.
        for start in range(0, len(item_ids), BATCH):
            if time.monotonic() >= deadline:
                return
            self.assign(item_ids[start : start + BATCH])
        # Left by a cycle whose budget ran out, or by a poller stopped between storing and clustering.
        while time.monotonic() < deadline:
            pending = self.store.unclustered_ids(BATCH)
            if not pending or not self.assign(pending):
                return

    def assign(self, item_ids: Sequence[str]) -> dict[str, str]:
        """Cluster these items (those not clustered yet); returns item id -> cluster id."""
        with self._lock:
            return self.store.assign_clusters(item_ids, self, now=self.clock())

    def assign_pending(self, batch: int = BATCH) -> int:
        """Cluster every stored item that has no story yet (items stored before clustering ran)."""
        done = 0
        while True:
            ids = self.store.unclustered_ids(batch)
            if not ids:
                return done
            done += len(self.assign(ids))

    # The store calls these two inside its write transaction.

    def keys(self, subject: ClusterSubject) -> ItemKeys:
        sig = signature(subject.title, subject.summary, subject.terms)
        return ItemKeys(
            vector=sig.vector,
            entities=sig.entities,
            link_key=link_key(subject.link),
            guid_key=guid_key(subject.guid, subject.feed_url),
            title_key=title_key(subject.title),
        )

    def search_tokens(self, keys: ItemKeys) -> list[str]:
        """Headline words only: an item joins a story only through a member sharing MIN_SHARED_TITLE
        headline words, and looking up the many common summary words cost most of the clustering
        time while finding nobody who could join."""
        return sorted(title_tokens(keys.vector))

    def choose(self, subject: ClusterSubject, keys: ItemKeys, neighbours: Sequence[ClusterNeighbour],
               df: Mapping[str, int], n: int) -> Choice:  # fmt: skip
        """The story this item joins (None: it starts one), and stories it shows to be the same.

        A story qualifies when its whole span, with this item, stays within the window, it has an
        item this one joins by `compare`, and no more than half its items have a different cast
        from this one (a cannot-link: one strong match must not pull in an item that contradicts
        the rest). Stories are ranked by their few closest items. When the item also fits another
        story closely and without any contradiction, the two were one story that formed twice
        (reports of one event arriving before any report bridged them): they merge.
        """
        weights = _Weights(df, n)
        mine = Signature(keys.vector, keys.entities)
        others = [(m, Signature(m.vector, m.entities)) for m in neighbours]
        names = set(keys.entities).union(*(sig.entities for _, sig in others))
        stories: dict[str, list[Verdict]] = {}
        spans: dict[str, tuple[datetime, datetime]] = {}
        for member, sig in others:
            stories.setdefault(member.cluster_id, []).append(
                compare(mine, sig, weights, names, self.threshold)
            )
            spans[member.cluster_id] = (member.cluster_first, member.cluster_last)
        ranked: list[tuple[float, bool, str]] = []
        for cluster_id, verdicts in stories.items():
            first, last = spans[cluster_id]
            if subject.published - first > self.window or last - subject.published > self.window:
                continue
            vetoes = sum(1 for v in verdicts if v.conflict and not v.joins)
            if vetoes > VETO_SHARE * len(verdicts) or not any(v.joins for v in verdicts):
                continue
            # Rank stories by their few closest items, not the single closest: one hybrid report
            # ('closes Hormuz as it holds talks') must not pull arrivals away from the main story.
            top = sorted((v.match.score for v in verdicts), reverse=True)[:RANK_TOP]
            ranked.append((sum(top) / len(top), vetoes == 0, cluster_id))
        if not ranked:
            return Choice(None)
        ranked.sort(reverse=True)
        _, _, best = ranked[0]
        first, last = min(spans[best][0], subject.published), max(spans[best][1], subject.published)
        merge: list[str] = []
        for score, clean, cluster_id in ranked[1:]:
            lo, hi = min(first, spans[cluster_id][0]), max(last, spans[cluster_id][1])
            if clean and score >= MERGE_THRESHOLD and hi - lo <= self.window:
                merge.append(cluster_id)
                first, last = lo, hi
        return Choice(best, tuple(merge))


def pair_verdict(a: tuple[str, str, Iterable[str]], b: tuple[str, str, Iterable[str]],
                 df: Mapping[str, int] | None = None, n: int = 0) -> Verdict:  # fmt: skip
    """`compare` two (title, summary, lexicon terms) items directly; for tests and tuning."""
    sa, sb = signature(*a), signature(*b)
    return compare(sa, sb, _Weights(df or {}, n), sa.entities | sb.entities)


def cluster_hook(store: Store, config: Config, clock: Callable[[], datetime] = _utc_now) -> Clusterer:
    """The object to append to `Poller.after_store`."""
    return Clusterer.from_config(store, config, clock)
