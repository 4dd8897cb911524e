"""The lexicon on real outlets' news (../shared/realfeeds): agreement with the hand labels, and statuses."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.clean import clean_entry
from monitor.config import FeedConfig
from monitor.models import FeedState, FeedStatus, Item
from monitor.negotiation import compute_statuses
from monitor.negotiation.signals import Reader
from monitor.parse import ParseError, parse_feed
from monitor.store import Store
from monitor.tagging import Tagger
from tests.test_negotiation_fixtures import make_config

CAPTURED = datetime(2026, 2, 18, 12, 0, tzinfo=UTC)
"""Most 2026 files were captured on 17-18 February 2026 (see SOURCES.md)."""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[tuple[str, str], str]]:
    """Every parseable realfeeds file stored the way the poller stores it; (file, guid/link) -> id."""
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "realfeeds"
    if not (shared / "labels-dev.jsonl").is_file():
        pytest.skip("../shared/realfeeds is not present")
    config = make_config()
    tagger = Tagger(config.tracks)
    store = Store(tmp_path_factory.mktemp("realfeeds") / "monitor.db")
    files = sorted(p for p in shared.iterdir() if p.suffix in (".xml", ".rss"))
    feeds = [FeedConfig(url=f"https://feeds.example/{p.name}", title=p.stem) for p in files]
    store.sync_feeds(feeds, CAPTURED)
    keys: dict[tuple[str, str], str] = {}
    for path, feed in zip(files, feeds, strict=True):
        try:
            parsed = parse_feed(path.read_bytes(), content_type="application/xml", url=feed.url)
        except ParseError:
            continue
        entries = [e for raw in parsed.entries if (e := clean_entry(raw, feed_url=feed.url, now=CAPTURED))]
        tags = {e.id: tagger.tag(e.title, e.summary) for e in entries}
        state = FeedState(url=feed.url, title=feed.title, status=FeedStatus.OK)
        store.save_poll(state, entries=entries, tags=tags, source=path.stem, now=CAPTURED)
        for entry in entries:
            keys[(path.name, entry.guid)] = entry.id
            if entry.link:
                keys[(path.name, entry.link)] = entry.id
    return store, keys


def labelled(realfeeds: Path, corpus: tuple[Store, dict[tuple[str, str], str]]) -> list[tuple[Item, bool]]:
    store, keys = corpus
    out = []
    for line in (realfeeds / "labels-dev.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        item_id = keys.get((label["file"], label["guid_or_link"]))
        item = store.get_item(item_id) if item_id else None
        if item is not None:
            out.append((item, bool(label["negotiation"])))
    return out


def diplomatic(reader: Reader, item: Item) -> bool:
    """Whether the item carries a negotiation signal (escalation is about fighting, not talks)."""
    return any(m.signal != "escalation" for m in reader.read(item).mentions)


def test_the_lexicon_agrees_with_the_negotiation_labels(realfeeds_dir: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    reader = Reader(make_config())
    items = labelled(realfeeds_dir, corpus)
    assert len(items) > 100
    # Filed under a track, as the engine reads them: few false alarms.
    tracked = [(diplomatic(reader, item), gold) for item, gold in items if item.tracks]
    flagged = [gold for pred, gold in tracked if pred]
    assert len(flagged) >= 10 and sum(flagged) / len(flagged) >= 0.8
    # Every labelled item read as if filed under a track (Iran, Congo, Syria talks too): the words
    # generalise beyond the three default conflicts.
    general = [
        (diplomatic(reader, dataclasses.replace(item, tracks=("gaza",))), gold) for item, gold in items
    ]
    positives = [pred for pred, gold in general if gold]
    assert sum(positives) / len(positives) >= 0.85
    negatives = [pred for pred, gold in general if not gold]
    assert sum(negatives) / len(negatives) <= 0.2


def test_statuses_on_the_february_2026_capture(realfeeds_dir: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    store, _ = corpus
    got = {s.track: s for s in compute_statuses(store, make_config(), CAPTURED)}
    # The Geneva round of Russia-Ukraine talks dominated the capture days.
    assert got["ukraine"].status == "talks"
    assert "Geneva" in got["ukraine"].venues
    assert len(got["ukraine"].evidence) >= 5
    assert got["gaza"].status != "quiet" and got["gaza"].rationale
    assert all(s.last_movement is not None for s in got.values())
