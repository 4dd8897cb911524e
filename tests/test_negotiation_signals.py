"""Reading sentences: splitting, the phrase syntax, negation and hedging, and news the lexicon never saw."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.models import Item
from monitor.negotiation.signals import Reader
from monitor.negotiation.text import PhraseMatcher, normalise, split_sentences
from tests.test_negotiation_fixtures import make_config

READER = Reader(make_config())
NOW = datetime(2026, 2, 10, tzinfo=UTC)


def signals(title: str, summary: str = "", track: str | None = None) -> dict[str, set[str]]:
    """Track -> signals the item carries (tracks as the real tagger files it)."""
    tags = READER.tagger.tag(title, summary)
    item = Item(
        id="i",
        feed_url="https://x.example/f",
        guid="i",
        link=None,
        title=title,
        summary=summary,
        source="X",
        published=NOW,
        fetched_at=NOW,
        tracks=tuple(tags) or ((track,) if track else ()),
    )
    out: dict[str, set[str]] = {}
    for mention in READER.read(item).mentions:
        out.setdefault(mention.track, set()).add(mention.signal)
    return out


def test_sentences_split_at_full_stops_but_not_after_abbreviations() -> None:
    text = (
        'U.S. envoys met Gen. Smith in Doha. Talks "stalled." Then Mr. Witkoff left! Would they return? Yes.'
    )
    assert split_sentences(text) == [
        "U.S. envoys met Gen. Smith in Doha.",
        'Talks "stalled."',
        "Then Mr. Witkoff left!",
        "Would they return?",
        "Yes.",
    ]
    assert split_sentences("  ") == []


def test_phrase_syntax_wildcards_gaps_hyphens_accents() -> None:
    matcher = PhraseMatcher(
        [("talks .. collaps*", "a"), ("walk out", "b"), ("Rodríguez", "c"), ("talks", "d")]
    )
    found = [
        (m.payload, normalise("x")) for m in matcher.find(normalise("Talks between the sides collapsed"))
    ]
    assert [p for p, _ in found] == ["a"]
    assert [m.payload for m in matcher.find(normalise("a walk-out by Hamas"))] == ["b"]
    assert [m.payload for m in matcher.find(normalise("Delcy Rodriguez said"))] == ["c"]
    # whole words only, and a longer phrase wins at its position
    assert [m.payload for m in matcher.find(normalise("talkshow talks"))] == ["d"]
    assert [m.payload for m in matcher.find(normalise("talks went on and on and on collapsed"))] == ["d"]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Gaza ceasefire takes effect", "agreement"),
        ("Israel and Hamas sign Gaza truce deal", "agreement"),
        ("Ukraine and Russia hold peace talks in Istanbul", "talks"),
        ("Zelensky's envoy heads to Washington with a new proposal", "talks"),
        ("Gaza negotiations at an impasse over the Rafah crossing", "stalled"),
        ("Ukraine talks postponed again", "stalled"),
        ("Kremlin walks out of Ukraine negotiations", "breakdown"),
        ("Hamas accuses Israel of violating the Gaza ceasefire", "breakdown"),
        ("Russia launches new offensive in Zaporizhzhia", "escalation"),
        ("Pentagon weighs military options against Venezuela", "escalation"),
    ],
)
def test_each_status_has_its_words(title: str, expected: str) -> None:
    found = signals(title)
    assert expected in set().union(*found.values()), found


@pytest.mark.parametrize(
    ("title", "absent", "present"),
    [
        ("No breakthrough in Gaza truce talks", "agreement", "stalled"),
        ("Ukraine and Russia far from a peace deal, Kremlin says", "agreement", "stalled"),
        ("Envoys fail to reach a Gaza ceasefire deal", "agreement", "stalled"),
        ("A Gaza deal was not reached in Cairo", "agreement", "stalled"),
        ("Kyiv rules out a ceasefire agreement without guarantees", "agreement", "stalled"),
        ("Hamas may reach a Gaza deal within days, mediators hope", "agreement", "talks"),
        ("Kremlin says Ukraine peace deal could be close", "agreement", "talks"),
        ("Trump rules out military action against Venezuela", "escalation", None),
        ("Ukraine calls for de-escalation around Zaporizhzhia plant", "escalation", "talks"),
        ("Argentina unions call general strike as Venezuela migrants rally", "escalation", None),
    ],
)
def test_negation_and_hedging_never_read_as_their_opposite(
    title: str, absent: str, present: str | None
) -> None:
    found = set().union(*signals(title).values()) if signals(title) else set()
    assert absent not in found, (title, found)
    if present:
        assert present in found, (title, found)


def test_no_deal_and_talks_go_on_keeps_negation_in_its_clause() -> None:
    found = signals("No Gaza deal yet, and talks go on in Cairo")
    assert found["gaza"] == {"stalled", "talks"}


def test_news_the_lexicon_never_saw() -> None:
    # Unseen wording, real-world style; each must land on the right track and signal.
    cases = [
        ("Moscow and Kyiv swap 300 prisoners of war in UAE-brokered exchange", "ukraine", "agreement"),
        ("Qatari mediators shuttle between Hamas and Israeli negotiators in Doha", "gaza", "talks"),
        ("Caracas talks on transition bogged down over election date", "venezuela", "stalled"),
        ("US seizes another Venezuelan tanker as naval blockade tightens", "venezuela", "escalation"),
        ("Kyiv suspends energy truce after Russian strikes on power grid", "ukraine", "breakdown"),
    ]
    for title, track, signal in cases:
        assert signal in signals(title).get(track, set()), (title, signals(title))


def test_a_sentence_about_another_conflict_moves_nothing_here() -> None:
    found = signals(
        "Gaza truce talks resume in Cairo",
        "Separately, Washington is weighing strikes against Venezuela.",
    )
    assert "escalation" not in found["gaza"]
    assert found["venezuela"] == {"escalation"}


def test_untracked_items_carry_nothing() -> None:
    assert signals("Coalition talks collapse in Berlin") == {}
