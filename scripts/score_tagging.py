"""Score the default track lexicon against the hand-labelled real feeds and the seed article."""

from __future__ import annotations

import argparse
import html
import io
import json
import re
import sys
import timeit
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import feedparser

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # Lets `python scripts/score_tagging.py` run from a checkout without installing the package.
    sys.path.insert(0, str(REPO_ROOT))

from monitor.config import TrackConfig, build_config, default_tables  # noqa: E402
from monitor.tagging import Tagger  # noqa: E402

DEFAULT_REALFEEDS = REPO_ROOT.parent / "shared" / "realfeeds"
LABELS_FILE = "labels-dev.jsonl"
SEED_FILE = "seed-article.txt"

_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


@dataclass(frozen=True, slots=True)
class LabelledItem:
    """One hand-labelled feed item, reduced to plain title and summary text."""

    file: str
    title: str
    summary: str
    tracks: frozenset[str]


@dataclass(slots=True)
class TrackScore:
    """Confusion counts for one track, with the misses kept for the report."""

    tp: int = 0
    false_positives: list[tuple[LabelledItem, list[str]]] = field(default_factory=list)
    false_negatives: list[tuple[LabelledItem, dict[str, Any]]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.tp + len(self.false_positives)
        return self.tp / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.tp + len(self.false_negatives)
        return self.tp / wanted if wanted else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def plain(text: str | None) -> str:
    """Feed HTML to one line of text; a stand-in for the project's cleaner, good enough to score."""
    return _SPACES.sub(" ", html.unescape(_TAGS.sub(" ", text or ""))).strip()


def default_tracks() -> tuple[TrackConfig, ...]:
    """The built-in tracks without any user file; tracks.toml alone while default.toml is missing."""
    try:
        return build_config(default_tables()).tracks
    except FileNotFoundError:
        path = REPO_ROOT / "config" / "tracks.toml"
        with path.open("rb") as handle:
            return build_config([(str(path), tomllib.load(handle))]).tracks


def load_labelled(realfeeds: Path) -> list[LabelledItem]:
    """Parse every labelled feed with feedparser and pair each label with its entry."""
    labels = [json.loads(line) for line in (realfeeds / LABELS_FILE).read_text("utf-8").splitlines() if line]
    entries: dict[str, list[Any]] = {}
    items: list[LabelledItem] = []
    for label in labels:
        name = label["file"]
        if name not in entries:
            entries[name] = feedparser.parse(io.BytesIO((realfeeds / name).read_bytes())).entries
        entry = _find_entry(entries[name], label)
        if entry is None:
            raise LookupError(f"{name}: no entry for label {label['guid_or_link']!r}")
        items.append(
            LabelledItem(
                file=name,
                title=plain(entry.get("title")),
                summary=plain(entry.get("summary")),
                tracks=frozenset(label["tracks"]),
            )
        )
    return items


def _find_entry(entries: list[Any], label: dict[str, Any]) -> Any | None:
    key = label["guid_or_link"]
    for entry in entries:
        if key and key in (entry.get("id"), entry.get("link")):
            return entry
    for entry in entries:
        if plain(entry.get("title")) == label["title"]:
            return entry
    return None


def seed_article(shared: Path) -> tuple[str, str] | None:
    """The seed article as (title, body): its first line, then the rest."""
    path = shared / SEED_FILE
    if not path.is_file():
        return None
    lines = [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]
    return lines[0], " ".join(lines[1:])


def sentences(text: str) -> list[str]:
    """Split prose at sentence ends; rough, but enough to attribute an article's sentences."""
    return [part for part in _SENTENCE_END.split(text) if part.strip()]


def seed_tracks(tracks: Sequence[TrackConfig], title: str, body: str) -> dict[str, set[str]]:
    """Tracks found in the seed article three ways: as a feed item (title + lede), as a whole
    article (no lede limit), and sentence by sentence as the negotiation engine reads it."""
    item = Tagger(tracks)
    whole = Tagger(tracks, summary_chars=None)
    by_sentence: set[str] = set()
    for sentence in [title, *sentences(body)]:
        by_sentence.update(item.tag_text(sentence))
    return {
        "item": set(item.tag(title, body)),
        "article": set(whole.tag(title, body)),
        "sentences": by_sentence,
    }


def evaluate(tagger: Tagger, items: Sequence[LabelledItem]) -> dict[str, TrackScore]:
    scores = {track_id: TrackScore() for track_id in tagger.track_ids}
    for item in items:
        tags = tagger.tag(item.title, item.summary)
        for track_id, score in scores.items():
            if track_id in tags and track_id in item.tracks:
                score.tp += 1
            elif track_id in tags:
                score.false_positives.append((item, tags[track_id]))
            elif track_id in item.tracks:
                raw = {
                    "title": tagger.score(item.title).get(track_id),
                    "summary": tagger.score(item.summary).get(track_id),
                }
                score.false_negatives.append((item, raw))
    return scores


def time_per_item(tagger: Tagger, items: Sequence[LabelledItem], rounds: int = 10) -> float:
    """Microseconds for one `tag(title, summary)` call, averaged over the items; the best of
    several rounds, so other processes on the machine inflate it as little as possible."""

    def one_round() -> None:
        for item in items:
            tagger.tag(item.title, item.summary)

    best = min(timeit.repeat(one_round, number=1, repeat=rounds))
    return best / len(items) * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("realfeeds", nargs="?", type=Path, default=DEFAULT_REALFEEDS)
    args = parser.parse_args(argv)
    realfeeds: Path = args.realfeeds

    tagger = Tagger(default_tracks())
    items = load_labelled(realfeeds)
    scores = evaluate(tagger, items)

    print(f"{len(items)} labelled items from {realfeeds}")
    print(f"{'track':<10} {'tp':>3} {'fp':>3} {'fn':>3} {'precision':>9} {'recall':>7} {'f1':>6}")
    for track_id, score in scores.items():
        print(
            f"{track_id:<10} {score.tp:>3} {len(score.false_positives):>3} {len(score.false_negatives):>3}"
            f" {score.precision:>9.3f} {score.recall:>7.3f} {score.f1:>6.3f}"
        )
    for track_id, score in scores.items():
        for item, terms in score.false_positives:
            print(f"FP {track_id}: {item.title!r} [{item.file}] matched {terms}")
        for item, raw in score.false_negatives:
            print(f"FN {track_id}: {item.title!r} [{item.file}] raw {raw}")

    status = 0
    seed = seed_article(realfeeds.parent)
    if seed is None:
        print("seed article: not found")
    else:
        print(f"seed article as an item: {json.dumps(tagger.tag(*seed), ensure_ascii=False)}")
        expected = {"gaza", "ukraine", "venezuela"}
        for way, found in seed_tracks(tagger.tracks, *seed).items():
            print(f"seed article, {way}: {sorted(found)}")
            if way != "item" and found != expected:
                print(f"seed article, {way}: expected exactly {sorted(expected)}")
                status = 1

    typical = [item for item in items if len(item.summary) <= 600]
    print(f"speed: {time_per_item(tagger, items):.1f} us per item, all {len(items)} labelled items")
    print(
        f"speed: {time_per_item(tagger, typical):.1f} us per item, {len(typical)} with summaries <= 600 chars"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
