"""Deterministic synthetic news feeds (RSS 2.0 and Atom) for the benchmarks: same seed, same bytes."""

from __future__ import annotations

import argparse
import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

BASE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
"""Default publication time of item 10000 (the newest at generation 0); harnesses pass a time a day or
two before `now`, so dates stay inside the app's plausibility window as generations advance."""

ATOM_EVERY = 4
"""Every fourth feed is Atom, the rest RSS 2.0 (roughly the mix of the default feed list)."""

# Plain newsroom vocabulary: sentences are drawn from these so text has the length, spread of word
# lengths and punctuation of wire copy, without copying anyone's articles.
_SUBJECTS = (
    "Officials",
    "The ministry",
    "Negotiators",
    "Residents",
    "Aid agencies",
    "The government",
    "Analysts",
    "Lawmakers",
    "The central bank",
    "Regional leaders",
    "Diplomats",
    "Witnesses",
    "The army",
    "Prosecutors",
    "Investors",
    "Health workers",
    "The opposition",
    "Election observers",
    "Police",
    "Union leaders",
    "The prime minister",
    "The president",
    "A spokesperson",
    "Local authorities",
    "European envoys",
)
_VERBS = (
    "said",
    "warned",
    "confirmed",
    "denied",
    "announced",
    "rejected",
    "welcomed",
    "questioned",
    "reported",
    "signalled",
    "acknowledged",
    "insisted",
    "cautioned",
    "argued",
    "promised",
    "estimated",
    "disclosed",
)
_CLAUSES = (
    "that talks would resume early next week despite deep disagreements over the timetable",
    "that the new measures would take effect on Monday after a brief consultation period",
    "that at least a dozen people had been injured in the overnight clashes near the border",
    "that the budget shortfall was larger than forecast in the spring",
    "that negotiations over the prisoner exchange had stalled again on Thursday",
    "that fuel and medical supplies were running low in several districts",
    "that the vote had been postponed until international observers could return",
    "that a preliminary agreement covering grain exports was within reach",
    "that emergency crews were still searching the rubble for survivors",
    "that the security council would meet in closed session to discuss the crisis",
    "that the currency had fallen to a record low against the dollar",
    "that hundreds of families had fled their homes since the weekend",
    "that the proposal did not address the core demands of the protesters",
    "that power had been restored to most of the capital by late evening",
    "that a second round of sanctions was being prepared in Brussels",
    "that the delegation would travel to Geneva for technical talks",
    "that shipments through the port had doubled over the past month",
    "that the court had ordered the release of two detained journalists",
)
_TAILS = (
    "according to a statement released late on Tuesday.",
    "in remarks broadcast on state television.",
    "speaking on condition of anonymity because they were not authorised to brief reporters.",
    "in an interview with local radio.",
    "a claim that could not be independently verified.",
    "although details of the plan remain unclear.",
    "as pressure mounted from allies abroad.",
    "the latest sign of strain between the two sides.",
    "a move critics described as long overdue.",
    "citing figures from the United Nations.",
)
_TOPICS = (
    "Talks",
    "Ceasefire plan",
    "Budget vote",
    "Grain deal",
    "Election",
    "Energy prices",
    "Flood relief",
    "Border crossing",
    "Prisoner swap",
    "Trade dispute",
    "Court ruling",
    "Aid convoy",
    "Power outages",
    "Currency slide",
    "Peace summit",
    "Sanctions package",
    "Strike action",
    "Rescue effort",
)
_HEADLINE_VERBS = (
    "stall as",
    "resume after",
    "collapse amid",
    "advance despite",
    "face new test as",
    "delayed after",
    "spark protests as",
    "win backing as",
    "draw criticism after",
    "move ahead as",
)
_PLACES = (
    "Geneva",
    "Brussels",
    "Nairobi",
    "Jakarta",
    "Lima",
    "Warsaw",
    "Cairo",
    "Doha",
    "Ankara",
    "Manila",
    "Bogota",
    "Istanbul",
    "Berlin",
    "Seoul",
    "Lagos",
    "Dhaka",
    "Tbilisi",
    "Yerevan",
    "Beirut",
    "Quito",
)
# Words the default tracks look for, so tagging does the work it does on real news (about one item
# in six names a tracked conflict, as in the hand-labelled real feeds).
_TRACKED = (
    "Gaza",
    "Hamas",
    "Rafah",
    "Khan Younis",
    "Kyiv",
    "Ukraine",
    "Zelensky",
    "Kharkiv",
    "Donbas",
    "Venezuela",
    "Maduro",
    "Caracas",
    "Board of Peace",
    "Zaporizhzhia",
)
_AUTHORS = (
    "Amira Haddad",
    "Tomasz Nowak",
    "Lucia Fernandez",
    "Oleksandr Melnyk",
    "Grace Mwangi",
    "Daniel Okafor",
    "Sofia Rossi",
    "Hannah Becker",
    "Ahmed Karimi",
    "Maria Santos",
    "Kenji Watanabe",
    "Claire Dubois",
)
_SECTIONS = ("World", "Europe", "Middle East", "Americas", "Africa", "Asia", "Business", "Politics")


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One synthetic feed: its index, format, and which generation of content it serves."""

    index: int
    items: int = 50
    generation: int = 0
    """Each generation adds `shift` new items at the top and drops as many from the bottom."""
    shift: int = 5
    gap_minutes: int | None = None
    """Minutes between items; None gives each feed its own pace (47-73 minutes)."""

    @property
    def atom(self) -> bool:
        return self.index % ATOM_EVERY == ATOM_EVERY - 1

    @property
    def name(self) -> str:
        return f"feed{self.index:04d}.xml"


def _rng(*key: object) -> random.Random:
    # A per-item RNG seeded from a hash: an item's text never depends on how many items came before it.
    digest = hashlib.sha256(repr(key).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True, slots=True)
class Story:
    """Text of one generated item."""

    number: int
    title: str
    paragraphs: tuple[str, ...]
    author: str
    section: str
    slug: str


def story(feed: int, number: int, seed: int = 0) -> Story:
    """Item `number` of feed `feed` (higher numbers are newer); deterministic in all its arguments."""
    r = _rng(seed, feed, number)
    place = r.choice(_PLACES)
    topic = r.choice(_TOPICS)
    tracked = r.random() < 0.17
    focus = r.choice(_TRACKED) if tracked else place
    title = f"{topic} {r.choice(_HEADLINE_VERBS)} {focus} {r.choice(('officials', 'leaders', 'residents', 'envoys'))} "
    title += r.choice(("weigh next steps", "meet again", "seek guarantees", "count the cost", "trade blame"))
    paragraphs = []
    for p in range(2):
        sentences = []
        for s in range(r.randint(1, 2)):
            who = r.choice(_SUBJECTS)
            where = focus if (tracked and p == 0 and s == 0) else r.choice(_PLACES)
            sentences.append(f"{who} in {where} {r.choice(_VERBS)} {r.choice(_CLAUSES)}, {r.choice(_TAILS)}")
        paragraphs.append(" ".join(sentences))
    slug = "-".join(title.lower().replace("'", "").split()[:8])
    return Story(number, title, tuple(paragraphs), r.choice(_AUTHORS), r.choice(_SECTIONS), slug)


FIRST_TOP = 10_000
"""Number of the newest item at generation 0; numbers only grow, so ids never repeat."""


def _numbers(spec: FeedSpec) -> range:
    top = FIRST_TOP + spec.generation * spec.shift
    return range(top, top - spec.items, -1)


def _item_time(spec: FeedSpec, number: int, anchor: datetime) -> datetime:
    """Item 10000 of every feed is published at `anchor` (less a per-feed offset); each item is 47-73
    minutes (per feed) after the one before, so an item's date never depends on the generation, and
    later generations publish after `anchor`."""
    gap = spec.gap_minutes or 47 + spec.index * 7 % 27
    offset = spec.index * 3 % 55
    return anchor + timedelta(minutes=(number - FIRST_TOP) * gap - offset)


def _html(s: Story, spec: FeedSpec) -> str:
    host = f"news{spec.index % 40}.example.org"
    body = [f"<p>{escape(para)}</p>" for para in s.paragraphs]
    body.append(
        f'<p>Read more: <a href="https://{host}/{s.section.lower().replace(" ", "-")}/{s.slug}">'
        f"{escape(s.title)}</a> &#8211; {escape(s.author)}</p>"
    )
    return "".join(body)


def render(spec: FeedSpec, *, anchor: datetime = BASE, seed: int = 0) -> bytes:
    """The feed document for `spec`, as bytes (UTF-8)."""
    host = f"news{spec.index % 40}.example.org"
    stories = []
    for number in _numbers(spec):
        s = story(spec.index, number, seed)
        stories.append((s, _item_time(spec, number, anchor)))
    parts: list[str] = []
    title = f"Example News {spec.index}: {_SECTIONS[spec.index % len(_SECTIONS)]}"
    if spec.atom:
        parts.append('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n')
        parts.append(f"<title>{escape(title)}</title>\n<id>urn:example:feed:{spec.index}</id>\n")
        parts.append(f'<link rel="alternate" type="text/html" href="https://{host}/"/>\n')
        parts.append(f"<updated>{stories[0][1].isoformat().replace('+00:00', 'Z')}</updated>\n")
        for s, when in stories:
            link = f"https://{host}/{s.section.lower().replace(' ', '-')}/{when:%Y/%m/%d}/{s.slug}-{spec.index}-{s.number}"
            stamp = when.isoformat().replace("+00:00", "Z")
            parts.append(
                f'<entry>\n<title type="html">{escape(escape(s.title))}</title>\n'
                f'<link rel="alternate" type="text/html" href="{escape(link)}"/>\n'
                f"<id>urn:example:{spec.index}:{s.number}</id>\n<published>{stamp}</published>\n"
                f"<updated>{stamp}</updated>\n<author><name>{escape(s.author)}</name></author>\n"
                f'<category term="{escape(s.section)}"/>\n'
                f'<summary type="html">{escape(_html(s, spec))}</summary>\n</entry>\n'
            )
        parts.append("</feed>\n")
    else:
        parts.append(
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        )
        parts.append(f"<title>{escape(title)}</title>\n<link>https://{host}/</link>\n")
        parts.append(
            f"<description>Latest stories from {escape(title)}</description>\n<language>en</language>\n"
        )
        parts.append(f"<lastBuildDate>{format_datetime(stories[0][1], usegmt=True)}</lastBuildDate>\n")
        for s, when in stories:
            link = f"https://{host}/{s.section.lower().replace(' ', '-')}/{when:%Y/%m/%d}/{s.slug}-{spec.index}-{s.number}"
            parts.append(
                f"<item>\n<title>{escape(s.title)}</title>\n<link>{escape(link)}</link>\n"
                f'<guid isPermaLink="false">{host}-{spec.index}-{s.number}</guid>\n'
                f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>\n"
                f"<dc:creator>{escape(s.author)}</dc:creator>\n<category>{escape(s.section)}</category>\n"
                f"<description><![CDATA[{_html(s, spec)}]]></description>\n</item>\n"
            )
        parts.append("</channel>\n</rss>\n")
    return "".join(parts).encode("utf-8")


def specs(count: int, items: int = 50) -> list[FeedSpec]:
    return [FeedSpec(index=i, items=items) for i in range(count)]


def changed(count: int, round_: int, fraction: float = 0.1) -> list[int]:
    """Which feed indexes change in round `round_`: a different, deterministic tenth each round."""
    r = random.Random(1_000_003 * round_ + count)
    k = max(1, round(count * fraction))
    return sorted(r.sample(range(count), k))


def write_feeds(
    directory: Path, feed_specs: list[FeedSpec], *, anchor: datetime = BASE, seed: int = 0
) -> int:
    """Write every feed to `directory` (atomically, so a server never reads half a file); returns bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    total = 0
    for spec in feed_specs:
        data = render(spec, anchor=anchor, seed=seed)
        tmp = directory / f".{spec.name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(directory / spec.name)
        total += len(data)
    return total


def iter_bodies(count: int, items: int = 50, *, anchor: datetime = BASE, seed: int = 0) -> Iterator[bytes]:
    for spec in specs(count, items):
        yield render(spec, anchor=anchor, seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    total = write_feeds(args.directory, specs(args.feeds, args.items), seed=args.seed)
    print(f"wrote {args.feeds} feeds x {args.items} items, {total / 1e6:.1f} MB, to {args.directory}")


if __name__ == "__main__":
    main()
