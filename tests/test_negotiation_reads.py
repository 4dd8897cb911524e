"""Stored readings: each item is read once, re-read when it or the lexicon changes; `since` matches the exact walk."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.models import CleanEntry, FeedState, FeedStatus, Item
from monitor.negotiation import analyse_new_items, compute_statuses, record_daily_history
from monitor.negotiation.engine import StatusEngine
from monitor.negotiation.signals import Analysis, Reader
from tests.test_negotiation_fixtures import Seeder, day, make_config


@pytest.fixture
def seeder(tmp_path: Path) -> Seeder:
    return Seeder(tmp_path / "monitor.db", make_config())


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Ids of the items the engine reads, in order."""
    seen: list[str] = []
    original = Reader.read

    def counting(self: Reader, item: Item) -> Analysis:
        seen.append(item.id)
        return original(self, item)

    monkeypatch.setattr(Reader, "read", counting)
    yield seen


def gaza(seeder: Seeder, at: Any) -> Any:
    return {s.track: s for s in compute_statuses(seeder.store, seeder.config, at)}["gaza"]


def pending(seeder: Seeder) -> int:
    return int(seeder.store.conn.execute("SELECT count(*) FROM negotiation_pending").fetchone()[0])


def test_an_item_is_read_once_however_often_statuses_are_computed(seeder: Seeder, reads: list[str]) -> None:
    first = seeder.add("Gaza ceasefire talks held in Cairo", at=day(0), source="Reuters")
    seeder.add("Weather: sunny spells", at=day(0, 1))  # filed under no track: never read
    assert gaza(seeder, day(0, 2)).status == "talks"
    assert reads == [first]
    gaza(seeder, day(0, 3))
    record_daily_history(seeder.store, seeder.config, day(1))
    assert reads == [first]
    second = seeder.add("Gaza talks collapse as Hamas walks out", at=day(1, 1), source="AP")
    assert gaza(seeder, day(1, 2)).status == "breakdown"
    assert reads == [first, second]


def test_the_ingest_hook_reads_new_items_so_computing_reads_none(seeder: Seeder, reads: list[str]) -> None:
    gaza(seeder, day(0))  # the lexicon is recorded; nothing to read yet
    ids = [
        seeder.add("Gaza talks reach deadlock in Cairo", at=day(0, 1), source="Reuters"),
        seeder.add("Gaza truce talks at an impasse", at=day(0, 2), source="AP"),
    ]
    analyse_new_items(seeder.store, seeder.config, [*ids, "no-such-item"])
    assert sorted(reads) == sorted(ids)
    assert pending(seeder) == 0
    assert gaza(seeder, day(0, 3)).status == "stalled"
    assert sorted(reads) == sorted(ids)


def test_the_ingest_hook_does_not_hold_up_the_poll(seeder: Seeder, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.negotiation import reads as reads_module

    gaza(seeder, day(0))
    item = seeder.add("Gaza ceasefire talks held in Cairo", at=day(0, 1))
    monkeypatch.setattr(reads_module, "HOOK_WAIT", 0.01)
    # Another thread is busy reading a backlog: the hook leaves the item queued and returns.
    with reads_module._store_lock(seeder.store):
        analyse_new_items(seeder.store, seeder.config, [item])
    assert pending(seeder) == 1
    assert gaza(seeder, day(0, 2)).status == "talks"
    assert pending(seeder) == 0


def test_an_edited_item_is_read_again(seeder: Seeder, reads: list[str]) -> None:
    item = seeder.add("Gaza ceasefire talks held in Cairo", at=day(0), source="Reuters")
    assert gaza(seeder, day(0, 1)).status == "talks"
    # The feed rewrites the entry under the same id: the store updates it in place.
    entry = CleanEntry(
        id=item,
        guid=item,
        link="https://reuters.example/x",
        title="Gaza ceasefire talks collapse in Cairo",
        summary="",
        published=day(0),
        date_estimated=False,
    )
    seeder.store.save_poll(
        FeedState(url="https://reuters.example/feed.xml", title="Reuters", status=FeedStatus.OK),
        entries=[entry],
        tags={item: seeder.tagger.tag(entry.title, "")},
        source="Reuters",
        now=day(0, 2),
    )
    assert gaza(seeder, day(0, 3)).status == "breakdown"
    assert reads == [item, item]


def test_retagging_an_item_reads_it_again(seeder: Seeder, reads: list[str]) -> None:
    item = seeder.add("Ceasefire talks held in Cairo", at=day(0), tags={"ukraine": ["Cairo"]})
    assert gaza(seeder, day(0, 1)).status == "quiet"
    seeder.store.retag(lambda title, summary: {"gaza": ["Cairo"]})
    status = gaza(seeder, day(0, 2))
    assert status.status == "talks" and status.evidence == [item]
    assert reads == [item, item]


def test_a_lexicon_change_reads_the_window_again(seeder: Seeder, reads: list[str]) -> None:
    item = seeder.add("Gaza officials exchange pleasantries in Cairo", at=day(0), source="Reuters")
    assert gaza(seeder, day(0, 1)).status == "quiet"
    louder = make_config({"negotiation": {"gaza": {"signals": {"pleasantries": "agreement"}}}})
    assert {s.track: s for s in compute_statuses(seeder.store, louder, day(0, 1))}[
        "gaza"
    ].status == "agreement"
    # Back to the shipped lexicon: read again, and the stored readings follow it.
    assert gaza(seeder, day(0, 1)).status == "quiet"
    assert reads == [item, item, item]


def test_tuning_that_does_not_change_reading_keeps_the_readings(seeder: Seeder, reads: list[str]) -> None:
    item = seeder.add("Gaza ceasefire talks held in Cairo", at=day(0), source="Reuters")
    gaza(seeder, day(0, 1))
    slower = make_config({"negotiation": {"defaults": {"half_life_hours": 12.0, "window_days": 3.0}}})
    compute_statuses(seeder.store, slower, day(0, 1))
    assert reads == [item]


def test_a_stale_reading_is_not_saved_over_a_newer_version(seeder: Seeder) -> None:
    gaza(seeder, day(0))
    item = seeder.add("Gaza ceasefire talks held in Cairo", at=day(0, 1))
    store = seeder.store
    queued = store.pending_reads(0, 2**40, 10)
    assert [p.item.id for p in queued if p.item] == [item]
    # Retagged while it was being read: queued again under a new token.
    store.retag(lambda title, summary: {"gaza": ["Gaza"], "ukraine": ["Cairo"]})
    assert store.save_reads(queued, []) == 0
    assert pending(seeder) == 1
    assert gaza(seeder, day(0, 2)).status == "talks"
    assert pending(seeder) == 0


def test_retention_takes_the_readings_with_the_items(seeder: Seeder) -> None:
    seeder.add("Gaza ceasefire talks held in Cairo", at=day(0))
    seeder.add("Gaza talks collapse", at=day(5))
    gaza(seeder, day(5, 1))
    store = seeder.store
    assert store.conn.execute("SELECT count(*) FROM negotiation_signals").fetchone()[0] == 2
    assert store.purge_older_than(day(3)) == 1
    assert store.conn.execute("SELECT count(*) FROM negotiation_signals").fetchone()[0] == 1
    assert pending(seeder) == 0


def test_history_backfill_reads_only_the_days_it_covers(seeder: Seeder, reads: list[str]) -> None:
    old = [seeder.add(f"Gaza talks held in Cairo, round {n}", at=day(n)) for n in range(0, 60, 3)]
    rows = record_daily_history(seeder.store, seeder.config, day(60), days=10)
    assert {r.day for r in rows} == {(day(60) - timedelta(days=n)).date().isoformat() for n in range(10)}
    # Ten days of history need those days' windows (7 days plus a day of momentum): nothing older
    # than day 44 is read, and the older items wait in the queue until something needs them.
    assert sorted(reads) == sorted(old[15:])
    assert pending(seeder) == 15


HEADLINES = [
    "Gaza ceasefire talks held in Cairo",
    "Gaza truce talks reach deadlock",
    "Gaza talks collapse as Hamas walks out",
    "Israel and Hamas sign Gaza ceasefire deal",
    "Israel launches strikes on Gaza",
    "Gaza negotiators may reach a deal, officials hope",
]


@pytest.mark.parametrize(
    "tuning",
    [
        {},
        {"half_life_hours": 6.0, "window_days": 2.0, "lookback_days": 10},
        {"talks_share": 1.0, "same_source_weight": 1.0, "quiet_below": 0.0},
        {"same_source_weight": 0.0, "quiet_below": 1.5, "half_life_hours": 200.0},
    ],
)
def test_since_is_exactly_the_walk_that_scores_every_moment(tmp_path: Path, tuning: dict[str, Any]) -> None:
    config = make_config({"negotiation": {"defaults": tuning}} if tuning else None)
    seeder = Seeder(tmp_path / "since.db", config)
    rng = random.Random(len(repr(tuning)))
    for _ in range(70):
        # Few sources and whole hours, so reports tie: equal scores are where a shortcut would slip.
        moment = day(rng.randrange(0, 24), rng.randrange(0, 24))
        seeder.add(rng.choice(HEADLINES), at=moment, source=rng.choice(["Reuters", "AP", "BBC"]))
    engine = StatusEngine(seeder.store, config)
    checked = 0
    for hours in range(0, 30 * 24, 7):
        at = int(day(0, hours).timestamp())
        for current in ("quiet", "talks", "stalled", engine.status_at("gaza", at)):
            assert engine.since("gaza", at, current) == engine.since_exact("gaza", at, current), (
                hours,
                current,
            )
            checked += 1
    assert checked > 300


def _sliding(engine: StatusEngine, track: str, at: int) -> Any:
    from monitor.negotiation.sliding import SlidingScores

    tuning = engine.tracks[track].tuning
    span = int(tuning.window_days * 86400)
    start = at - tuning.lookback_days * 86400 - span
    return SlidingScores(
        engine._between(track, start, at),
        newest=at,
        span=span,
        half_life=tuning.half_life_hours * 3600,
        same_source_weight=tuning.same_source_weight,
        quiet_below=tuning.quiet_below,
        talks_share=tuning.talks_share,
    )


def test_incremental_scores_agree_with_the_exact_ones(tmp_path: Path) -> None:
    config = make_config()
    seeder = Seeder(tmp_path / "scores.db", config)
    rng = random.Random(7)
    for _ in range(60):
        moment = day(rng.randrange(0, 20), rng.random() * 24)
        seeder.add(rng.choice(HEADLINES), at=moment, source=rng.choice(["Reuters", "AP", "BBC", "AFP"]))
    engine = StatusEngine(seeder.store, config)
    top = int(day(21).timestamp())
    sliding = _sliding(engine, "gaza", top)
    for at in range(top, top - 20 * 86400, -4999):
        exact = engine.scores_at("gaza", at).scores
        for signal, value in zip(
            ("agreement", "talks", "stalled", "breakdown", "escalation"), sliding.scores(at), strict=True
        ):
            assert value == pytest.approx(exact[signal], rel=1e-12, abs=0), (at, signal)


def test_a_score_landing_exactly_on_the_quiet_line_is_decided_exactly(tmp_path: Path) -> None:
    """At an item's arrival the strongest score equals `quiet_below` to the last bit: the incremental
    scores, rounded differently, must not be trusted to say which side it falls."""
    base = make_config()
    for hours in range(1, 41, 3):
        seeder = Seeder(tmp_path / f"line-{hours}.db", base)
        seeder.add("Gaza ceasefire talks held in Cairo", at=day(0), source="Reuters")
        seeder.add("Gaza ceasefire talks held in Cairo", at=day(0, hours), source="AP")
        at = int(day(0, hours).timestamp())
        line = StatusEngine(seeder.store, base).scores_at("gaza", at).top
        config = make_config({"negotiation": {"defaults": {"quiet_below": line}}})
        engine = StatusEngine(seeder.store, config)
        assert engine.status_at("gaza", at) == "talks"
        assert _sliding(engine, "gaza", at).verdict(at) is None
        for current in ("talks", "quiet"):
            assert engine.since("gaza", at, current) == engine.since_exact("gaza", at, current)
        seeder.store.close()


def test_since_stays_exact_as_items_arrive_between_computations(tmp_path: Path) -> None:
    """Each computation reuses what the last walk learnt about moments whose window did not change;
    items arriving late, backdated, edited away or purged must not leave a stale moment behind."""
    config = make_config()
    seeder = Seeder(tmp_path / "memo.db", config)
    rng = random.Random(11)
    for _ in range(30):
        seeder.add(rng.choice(HEADLINES), at=day(rng.randrange(0, 12), rng.randrange(0, 24)), source="AP")
    for step in range(25):
        if step % 5 == 4:
            seeder.store.purge_older_than(day(step // 5))
        else:
            # Mostly new reports, some backdated into moments an earlier walk already scored.
            hours = rng.randrange(12 * 24, 14 * 24) if step % 2 else rng.randrange(0, 14 * 24)
            seeder.add(rng.choice(HEADLINES), at=day(0, hours), source=rng.choice(["AP", "BBC"]))
        engine = StatusEngine(seeder.store, config)
        for at in (day(14), day(13, 5), day(10)):
            moment = int(at.timestamp())
            for current in ("quiet", "talks", engine.status_at("gaza", moment)):
                expected = engine.since_exact("gaza", moment, current)
                assert engine.since("gaza", moment, current) == expected, (step, at, current)


def test_a_backdated_report_changes_the_moments_after_it(seeder: Seeder) -> None:
    for n in range(10):
        for source in ("AP", "BBC"):
            seeder.add("Gaza ceasefire talks held in Cairo", at=day(n), source=source)
    first = gaza(seeder, day(10))
    assert first.status == "talks" and first.since == day(0)
    # A walk-out on day 5, reported late by everyone: talks only hold again once it has faded.
    for source in ("AP", "BBC", "Reuters", "AFP"):
        seeder.add("Gaza talks collapse as Hamas walks out", at=day(5, 1), source=source)
    again = gaza(seeder, day(10))
    engine = StatusEngine(seeder.store, seeder.config)
    assert again.since == engine.since_exact("gaza", int(day(10).timestamp()), "talks")
    assert again.since is not None and again.since > day(5, 1)
