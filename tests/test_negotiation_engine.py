"""Negotiation engine: the seed article, timelines, sources, recency, multi-track items, overrides, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.negotiation import (
    TrackStatus,
    compute_statuses,
    record_daily_history,
    status_changes,
    status_json,
)
from tests.test_negotiation_fixtures import Seeder, day, make_config, seed_article


@pytest.fixture
def seeder(tmp_path: Path) -> Seeder:
    return Seeder(tmp_path / "monitor.db", make_config())


def by_track(statuses: list[TrackStatus]) -> dict[str, TrackStatus]:
    return {s.track: s for s in statuses}


def test_seed_article_pulls_three_situations_apart(shared_dir: Path, seeder: Seeder) -> None:
    title, summary = seed_article(shared_dir)
    published = datetime(2026, 2, 14, 10, 0, tzinfo=UTC)
    item = seeder.add(title, summary, at=published, source="Seed Daily")
    statuses = compute_statuses(seeder.store, seeder.config, published + timedelta(hours=2))
    assert [s.track for s in statuses] == list(seeder.config.track_ids)
    got = by_track(statuses)
    assert got["gaza"].status == "stalled"
    assert got["ukraine"].status == "talks"
    assert got["venezuela"].status == "escalation"
    for status in got.values():
        assert status.evidence == [item]
        assert status.since == published
        assert status.last_movement is not None and status.last_movement.title == title
    # Doha for Gaza (the envoys' trip), Moscow and Miami for Ukraine, the envoys on both files.
    assert "Doha" in got["gaza"].venues
    assert {"Moscow", "Miami"} <= set(got["ukraine"].venues)
    for track in ("gaza", "ukraine"):
        assert {"Steve Witkoff", "Jared Kushner"} <= set(got[track].actors)
    assert "Doha" not in got["venezuela"].venues
    assert any("trip to Qatar" in s for s in got["gaza"].upcoming)
    assert any("National Security Council meeting" in s for s in got["venezuela"].upcoming)
    assert not any("National Security Council" in s for s in got["gaza"].upcoming)
    # The deadlock is Gaza's; the Venezuelan strike moves neither Gaza nor Ukraine.
    assert got["gaza"].scores["escalation"] == 0
    assert got["ukraine"].scores["escalation"] == 0
    assert got["ukraine"].scores["stalled"] == 0
    assert got["venezuela"].scores["stalled"] == 0
    assert "deadlock" in got["gaza"].rationale


def test_a_multi_track_item_credits_each_signal_to_its_own_track(seeder: Seeder) -> None:
    seeder.add(
        "Three files, one morning",
        "Gaza ceasefire talks collapsed after Hamas negotiators walked out in Cairo. "
        "In Geneva, Ukraine and Russia signed a ceasefire agreement. "
        "Washington is weighing military strikes against Venezuela.",
        at=day(0),
    )
    got = by_track(compute_statuses(seeder.store, seeder.config, day(0, 1)))
    assert got["gaza"].status == "breakdown"
    assert got["ukraine"].status == "agreement"
    assert got["venezuela"].status == "escalation"
    assert got["gaza"].scores["agreement"] == 0 and got["gaza"].scores["escalation"] == 0
    assert got["venezuela"].scores["breakdown"] == 0 and got["venezuela"].scores["agreement"] == 0
    assert "Cairo" in got["gaza"].venues and "Geneva" in got["ukraine"].venues


def test_within_one_sentence_the_nearest_track_takes_the_signal(seeder: Seeder) -> None:
    seeder.add(
        "While Ukraine peace talks resumed in Geneva, the US weighed a strike against Venezuela",
        at=day(0),
    )
    got = by_track(compute_statuses(seeder.store, seeder.config, day(0, 1)))
    assert got["ukraine"].status == "talks" and got["ukraine"].scores["escalation"] == 0
    assert got["venezuela"].status == "escalation" and got["venezuela"].scores["talks"] == 0


def test_a_sentence_naming_no_track_falls_back_to_the_items_single_track(seeder: Seeder) -> None:
    seeder.add("Hamas delegation in Cairo", "Officials said the talks had reached an impasse.", at=day(0))
    got = by_track(compute_statuses(seeder.store, seeder.config, day(0, 1)))
    assert got["gaza"].status == "stalled"
    assert got["ukraine"].status == "quiet" and got["venezuela"].status == "quiet"


TIMELINE = [
    # (day, status expected that day, momentum against the day before, reports)
    (0, "talks", "improving", ["Israel and Hamas negotiators hold talks in Cairo on the Gaza truce"]),
    (
        1,
        "stalled",
        "deteriorating",
        [
            "Gaza ceasefire talks reach deadlock over Hamas disarmament",
            "Gaza truce negotiations at an impasse, mediators say",
        ],
    ),
    (
        2,
        "breakdown",
        "deteriorating",
        [
            "Gaza talks collapse as Hamas delegation walks out in Cairo",
            "Israel suspends Gaza negotiations after walkout",
        ],
    ),
    (
        3,
        "talks",
        "improving",
        [
            "Gaza talks resume in Doha as envoys return to the negotiating table",
            "Hamas and Israel resume Gaza negotiations, mediators say",
            "Qatar hosts new round of Gaza ceasefire talks",
        ],
    ),
    (
        4,
        "agreement",
        "improving",
        [
            "Israel and Hamas sign Gaza ceasefire deal in Cairo",
            "Gaza ceasefire takes effect after deal reached",
            "Gaza truce takes effect; hostages released",
        ],
    ),
]


def test_a_week_of_news_moves_the_status_with_the_right_momentum(seeder: Seeder) -> None:
    for n, _, _, titles in TIMELINE:
        for i, title in enumerate(titles):
            seeder.add(title, at=day(n, i), source=["Reuters", "AP", "Al Jazeera"][i % 3])
    seen = []
    for n, _status, _momentum, _ in TIMELINE:
        gaza = by_track(compute_statuses(seeder.store, seeder.config, day(n, 6)))["gaza"]
        seen.append((gaza.status, gaza.momentum, gaza.arrow))
        # The status turned with one of that day's reports.
        assert gaza.since is not None and day(n) <= gaza.since <= day(n, len(TIMELINE[n][3]) - 1), (n, gaza)
        assert gaza.last_movement is not None and gaza.last_movement.published.date() == day(n).date()
    assert seen == [(s, m, {"improving": "↗", "deteriorating": "↘"}[m]) for _, s, m, _ in TIMELINE]


def test_several_sources_outweigh_one_source_repeating_itself(seeder: Seeder, tmp_path: Path) -> None:
    for hour in range(3):
        seeder.add("Gaza talks deadlocked, Hamas official says", at=day(0, hour), source="Loud Wire")
    seeder.add("Gaza peace talks held in Cairo", at=day(0, 3), source="Reuters")
    seeder.add("Gaza peace talks held in Cairo", at=day(0, 3), source="AP")
    seeder.add("Gaza peace talks held in Cairo", at=day(0, 3), source="BBC")
    assert by_track(compute_statuses(seeder.store, seeder.config, day(0, 4)))["gaza"].status == "talks"

    one_voice = Seeder(tmp_path / "one.db", seeder.config)
    for hour in range(3):
        one_voice.add("Gaza talks deadlocked, Hamas official says", at=day(0, hour), source="Loud Wire")
    for hour in range(3):
        one_voice.add("Gaza peace talks held in Cairo", at=day(0, 3 + hour / 10), source="Reuters")
    assert (
        by_track(compute_statuses(one_voice.store, one_voice.config, day(0, 4)))["gaza"].status == "stalled"
    )


def test_recent_news_outweighs_old_news(seeder: Seeder) -> None:
    seeder.add("Gaza talks collapse in Cairo", at=day(0), source="Reuters")
    seeder.add("Gaza talks collapse in Cairo", at=day(0), source="AP")
    seeder.add("Gaza ceasefire talks resume in Doha", at=day(4), source="BBC")
    gaza = by_track(compute_statuses(seeder.store, seeder.config, day(4, 1)))["gaza"]
    assert gaza.status == "talks"
    assert gaza.scores["breakdown"] > 0  # still in the window, but faded


def test_quiet_when_nothing_in_the_window_and_since_when(seeder: Seeder) -> None:
    empty = by_track(compute_statuses(seeder.store, seeder.config, day(0)))
    assert all(s.status == "quiet" and s.since is None and s.last_movement is None for s in empty.values())
    assert all(s.momentum == "unchanged" and s.evidence == [] for s in empty.values())
    seeder.add("Gaza ceasefire talks held in Cairo", at=day(0))
    gaza = by_track(compute_statuses(seeder.store, seeder.config, day(12)))["gaza"]
    assert gaza.status == "quiet"
    # It went quiet when the report faded below the threshold, before it left the window.
    assert gaza.since is not None and day(0) < gaza.since <= day(7)
    assert gaza.last_movement is not None and gaza.last_movement.published == day(0)
    assert "Quiet" in gaza.rationale


def test_as_of_ignores_later_items_and_is_reproducible(seeder: Seeder) -> None:
    seeder.add("Gaza ceasefire talks held in Cairo", at=day(0), source="Reuters")
    first = [status_json(s) for s in compute_statuses(seeder.store, seeder.config, day(0, 2))]
    seeder.add("Gaza talks collapse; Hamas walks out", at=day(0, 3), source="AP")
    again = [status_json(s) for s in compute_statuses(seeder.store, seeder.config, day(0, 2))]
    assert first == again
    later = by_track(compute_statuses(seeder.store, seeder.config, day(0, 4)))
    assert later["gaza"].status == "breakdown"


def test_evidence_is_best_first_and_upcoming_events_are_found(seeder: Seeder) -> None:
    weak = seeder.add("Hamas says Gaza ceasefire obstacles remain", at=day(0), source="AP")
    strong = seeder.add("Gaza truce talks in deadlock", at=day(0, 1), source="Reuters")
    seeder.add(
        "Gaza envoys to meet in Cairo",
        "Mediators from Egypt and Qatar are scheduled to meet Hamas negotiators tomorrow in Cairo.",
        at=day(0, 2),
        source="BBC",
    )
    gaza = by_track(compute_statuses(seeder.store, seeder.config, day(0, 3)))["gaza"]
    assert gaza.status == "stalled"
    assert gaza.evidence[:2] == [strong, weak]
    assert any("scheduled to meet" in s for s in gaza.upcoming)
    assert {"Egypt", "Qatar", "Hamas"} <= set(gaza.actors)
    assert gaza.venues[0] == "Cairo"


def test_an_analyst_override_survives_recomputation(seeder: Seeder) -> None:
    seeder.add("Gaza talks collapse as Hamas walks out", at=day(0))
    store = seeder.store
    store.set_status_override("gaza", "stalled", "walk-out is tactical; back by Friday", "alice", day(0, 1))
    first = by_track(compute_statuses(store, seeder.config, day(0, 2)))["gaza"]
    assert first.status == "breakdown"  # the computed status is kept apart
    assert first.override is not None and first.override.status == "stalled"
    assert first.effective_status == "stalled"
    seeder.add("Gaza ceasefire talks resume in Doha", at=day(1), source="AP")
    seeder.add("Gaza ceasefire talks resume in Doha", at=day(1), source="BBC")
    second = by_track(compute_statuses(store, seeder.config, day(1, 1)))["gaza"]
    assert second.status == "talks"
    assert second.override == first.override
    assert status_json(second)["override"] == {
        "status": "stalled",
        "note": "walk-out is tactical; back by Friday",
        "set_by": "alice",
        "set_at": "2026-02-10T10:00:00Z",
    }
    assert store.clear_status_override("gaza", "bob", day(1, 2))
    assert not store.clear_status_override("gaza", "bob", day(1, 3))
    assert by_track(compute_statuses(store, seeder.config, day(1, 4)))["gaza"].override is None
    assert [(c.action, c.set_by) for c in store.override_history("gaza")] == [
        ("clear", "bob"),
        ("set", "alice"),
    ]


def test_daily_history_is_recorded_backfilled_and_changes_are_reported(seeder: Seeder) -> None:
    seeder.add("Gaza ceasefire talks held in Cairo", at=day(0))
    seeder.add("Gaza ceasefire talks stall over Hamas disarmament", at=day(2))
    rows = record_daily_history(seeder.store, seeder.config, day(3, 2))
    gaza = [r for r in rows if r.track == "gaza"]
    assert [r.day for r in gaza] == ["2026-02-10", "2026-02-11", "2026-02-12", "2026-02-13"]
    assert [r.status for r in gaza] == ["talks", "talks", "stalled", "stalled"]
    stored = seeder.store.status_history("gaza")
    assert [r.status for r in stored] == ["talks", "talks", "stalled", "stalled"]
    # Past days are final; today's row is rewritten by the next computation.
    again = record_daily_history(seeder.store, seeder.config, day(3, 5))
    assert {r.day for r in again} == {"2026-02-13"}
    assert status_changes(seeder.store, seeder.config, day(2).date()) == {"gaza": ("talks", "stalled")}
    assert status_changes(seeder.store, seeder.config, day(1).date()) == {}


def test_status_json_has_the_documented_shape(seeder: Seeder) -> None:
    seeder.add("Gaza ceasefire talks held in Cairo", at=day(0), link="https://news.example/a")
    data = status_json(by_track(compute_statuses(seeder.store, seeder.config, day(0, 1)))["gaza"])
    for key in (
        "track",
        "status",
        "momentum",
        "since",
        "rationale",
        "last_movement",
        "evidence",
        "actors",
        "venues",
        "upcoming",
        "override",
    ):
        assert key in data
    assert data["last_movement"]["link"] == "https://news.example/a"
    assert set(data["last_movement"]) >= {"published", "title", "source", "link"}
    assert data["since"] == "2026-02-10T09:00:00Z"
