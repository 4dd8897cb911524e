"""Daily digest: golden files for md/html/json on a seeded database, escaping, the CLI, the TUI writer."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.clustering import Clusterer
from monitor.config import Config, build_config, default_tables
from monitor.digest import build_digest, render, write_daily_digest
from monitor.digest.model import Negotiation, day_bounds
from monitor.models import CleanEntry, ErrorKind, FeedStatus
from monitor.store import Store

GOLDEN = Path(__file__).parent / "data" / "digest"
UPDATE = os.environ.get("SITMON_UPDATE_GOLDEN") == "1"
"""Set SITMON_UPDATE_GOLDEN=1 to rewrite the golden files; review the diff before committing."""

DAY = date(2026, 3, 10)  # a Tuesday; Europe/Berlin is UTC+1 then
NOW = datetime(2026, 3, 11, 6, 30, tzinfo=UTC)
FEEDS = [
    ("https://www.wire.example.com/world.xml", "Wire World"),
    ("https://www.wire.example.com/europe.xml", "Wire Europe"),
    ("https://daily.example.net/rss", "The Daily"),
    ("https://herald.example.org/feed", "Herald"),
    ("https://post.example.co.uk/news.rss", "Post"),
    ("https://broken.example.org/feed", "Broken Feed"),
    ("https://gone.example.org/feed", "Gone Feed"),
]
URL = {title: url for url, title in FEEDS}


def berlin(day: date, hh: int, mm: int = 0) -> datetime:
    """A wall-clock time in Europe/Berlin in March (UTC+1), as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC) - timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Seed:
    key: str
    source: str
    title: str
    summary: str
    at: datetime
    tracks: Sequence[str] = ()
    link: str | None = ""


PREV = DAY - timedelta(days=1)
SEEDS = [
    # Gaza: one story from three outlets, first reported late the evening before.
    Seed("g1", "Herald", "Hamas and Israel agree to extend Gaza truce by two weeks",
         "Mediators in Cairo said Hamas and Israel agreed to extend the Gaza truce by two weeks.",
         berlin(PREV, 23, 30), ("gaza",)),
    Seed("g2", "The Daily", "Gaza truce extended for two weeks, Cairo mediators say",
         "The truce in Gaza between Israel and Hamas will be extended for two weeks, Egyptian mediators in Cairo said.",
         berlin(DAY, 8, 15), ("gaza",)),
    Seed("g3", "Post", "Israel and Hamas extend Gaza truce two more weeks",
         "Israel and Hamas agreed in Cairo to extend their Gaza truce by two weeks.",
         berlin(DAY, 9, 40), ("gaza",)),
    Seed("g4", "Wire World", "Aid convoy of 40 trucks reaches Rafah crossing",
         "Forty aid trucks crossed at Rafah on Tuesday, the UN said.", berlin(DAY, 11, 5), ("gaza",)),
    Seed("g5", "Herald", "UNRWA warns of fuel shortage in Khan Younis hospitals",
         "Hospitals in Khan Younis have fuel for three days, UNRWA said.", berlin(DAY, 16, 20), ("gaza",)),
    Seed("g6", "Post", "Gaza football club plays first match in two years",
         "A crowd of hundreds watched the match in Deir al-Balah.", berlin(DAY, 18, 0), ("gaza",)),
    # Ukraine: a story in two feeds of one outlet (same link) plus another outlet; hostile text.
    Seed("u1", "Wire World", "Ukraine and Russia swap 300 prisoners in UAE-brokered exchange",
         "Ukraine and Russia exchanged 300 prisoners each on Tuesday in a swap brokered by the UAE.",
         berlin(DAY, 10, 0), ("ukraine",), "https://www.wire.example.com/story/swap-300?utm_source=rss"),
    Seed("u2", "Wire Europe", "Ukraine and Russia swap 300 prisoners in UAE-brokered exchange",
         "Ukraine and Russia exchanged 300 prisoners each on Tuesday in a swap brokered by the UAE.",
         berlin(DAY, 10, 5), ("ukraine",), "https://www.wire.example.com/story/swap-300"),
    Seed("u3", "The Daily", "Russia and Ukraine exchange 300 prisoners each",
         "The UAE brokered the exchange of 300 prisoners between Russia and Ukraine, officials said.",
         berlin(DAY, 12, 30), ("ukraine",)),
    Seed("u4", "Herald", "Drone attack [on](javascript:alert(1)) Odesa port <b>damages</b> grain *silo*",
         "Russian drones struck the port of Odesa overnight, damaging a grain silo.",
         berlin(DAY, 6, 45), ("ukraine",), "javascript:alert(1)"),
    # Venezuela: nothing on the day, one item the day before.
    Seed("v1", "Post", "Caracas sets date for talks with opposition",
         "The government in Caracas said talks would start next month.", berlin(PREV, 14, 0), ("venezuela",)),
    # Items matching no track.
    Seed("n1", "The Daily", "Heavy snow closes Alpine passes", "Roads in Tyrol were closed.", berlin(DAY, 7, 0)),
    Seed("n2", "Herald", "Alpine passes closed by heavy snow", "Snow closed roads across Tyrol on Tuesday.",
         berlin(DAY, 8, 0)),
    Seed("n3", "Post", "Central bank holds rates steady", "The bank kept its rate at 2%.", berlin(DAY, 13, 0)),
    Seed("n4", "Wire World", "Museum returns stolen painting", "The work was found in a barn.", berlin(PREV, 9, 0)),
    # After the day: must not appear in this day's digest.
    Seed("late", "Herald", "Gaza truce extension takes effect", "The extended Gaza truce took effect.",
         berlin(DAY + timedelta(days=1), 0, 30), ("gaza",)),
]  # fmt: skip


def make_config(tmp_path: Path | None = None) -> Config:
    layer = {
        "settings": {"timezone": "Europe/Berlin", "digest_dir": str(tmp_path or "")},
        "feeds": [{"url": url, "title": title} for url, title in FEEDS],
    }
    return build_config([*default_tables(), ("<test>", layer)])


def seed(store: Store, config: Config, seeds: Sequence[Seed] = SEEDS) -> None:
    """Store items through save_poll feed by feed, cluster them, and record two failing feeds."""
    store.sync_feeds(config.feeds, NOW - timedelta(days=3))
    clusterer = Clusterer.from_config(store, config, clock=lambda: NOW)
    for s in sorted(seeds, key=lambda s: s.at):
        state = replace(store.feed_state(URL[s.source]), status=FeedStatus.OK, last_polled=s.at,  # type: ignore[arg-type]
                        last_success=s.at)  # fmt: skip
        entry = CleanEntry(
            id=s.key,
            guid=f"urn:test:{s.key}",
            link=s.link if s.link != "" else f"{URL[s.source].rsplit('/', 1)[0]}/{s.key}.html",
            title=s.title,
            summary=s.summary,
            published=s.at,
            date_estimated=False,
        )
        tags = {s.key: {t: ["term"] for t in s.tracks}}
        clusterer(store.save_poll(state, entries=[entry], tags=tags, source=s.source, now=s.at).new_ids)
    broken = replace(store.feed_state(URL["Broken Feed"]), status=FeedStatus.FAILING,  # type: ignore[arg-type]
                     last_polled=NOW, last_success=berlin(PREV, 12), error_count=3,
                     error_kind=str(ErrorKind.HTTP_STATUS), last_error="HTTP 503 Service Unavailable")  # fmt: skip
    store.save_poll(broken, now=NOW)
    gone = replace(store.feed_state(URL["Gone Feed"]), status=FeedStatus.GONE, last_polled=NOW,  # type: ignore[arg-type]
                   error_count=3, gone_count=3, error_kind=str(ErrorKind.GONE),
                   last_error="HTTP 410 Gone (3 times in a row: marked gone)")  # fmt: skip
    store.save_poll(gone, now=NOW)


def fixed_negotiation(store: Store, config: Config, day: date, as_of: datetime) -> dict[str, Negotiation]:
    """Statuses fixed here so the golden files test the digest, not the negotiation engine's tuning."""
    return {
        "gaza": Negotiation("Gaza ceasefire: Phase Two", "talks", "↗", "improving", berlin(PREV, 23, 30),
                            "Talks: “extend the truce” (3 reports, 3 sources).", ("stalled", "talks")),
        "ukraine": Negotiation("Russia–Ukraine peace talks", "stalled", "→", "unchanged", berlin(DAY, 1, 0) - timedelta(days=20),
                               "Stalled: no meeting since the last round.", None, "talks (set by analyst): swap counts"),
    }  # fmt: skip


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Store, Config]]:
    config = make_config(tmp_path / "digests")
    store = Store(tmp_path / "monitor.db")
    seed(store, config)
    yield store, config
    store.close()


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_golden_digest(seeded: tuple[Store, Config], fmt: str) -> None:
    store, config = seeded
    digest = build_digest(store, config, NOW, day=DAY, negotiation=fixed_negotiation, top=2, also=2)
    text = render(digest, fmt)
    path = GOLDEN / f"day.{fmt}"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"golden {path.name} differs (SITMON_UPDATE_GOLDEN=1 rewrites)"
    )


def test_digest_contents(seeded: tuple[Store, Config]) -> None:
    store, config = seeded
    d = build_digest(store, config, NOW, day=DAY, negotiation=fixed_negotiation)
    assert d.start == berlin(DAY, 0) and d.end == berlin(DAY + timedelta(days=1), 0)
    gaza, ukraine, venezuela = d.tracks
    assert [t.id for t in d.tracks] == ["gaza", "ukraine", "venezuela"]  # config order
    # Ranked by outlets, then recency; the first report may be from the evening before.
    assert [s.outlets for s in gaza.top][:1] == [3] and gaza.top[0].first.item_id == "g1"
    assert [r.source for r in gaza.top[0].others] == ["The Daily", "Post"]
    assert "late" not in {r.item_id for s in gaza.top for r in (s.first, *s.others)}
    assert (gaza.counts.items, gaza.counts.sources, gaza.counts.prev_items) == (5, 4, 1)
    # Two feeds of one outlet are one outlet.
    assert ukraine.top[0].outlets == 2 and ukraine.top[0].items == 3
    assert venezuela.top == () and (venezuela.counts.items, venezuela.counts.prev_items) == (0, 1)
    assert venezuela.negotiation is None
    assert (d.untracked.items, d.untracked.sources, d.untracked_stories) == (3, 3, 2)
    assert [p.title for p in d.feeds_failing] == ["Broken Feed", "Gone Feed"] and d.feeds_total == 7


def test_day_bounds_follow_the_zone_across_a_clock_change() -> None:
    from zoneinfo import ZoneInfo

    start, end = day_bounds(date(2026, 3, 29), ZoneInfo("Europe/Berlin"))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)


def test_real_negotiation_engine_feeds_the_status_lines(seeded: tuple[Store, Config]) -> None:
    store, config = seeded
    d = build_digest(store, config, NOW, day=DAY)
    assert all(t.negotiation is not None for t in d.tracks)
    text = render(d, "md")
    assert text.count("Negotiations: ") == 3 and "Since yesterday: " in text


HOSTILE = [
    Seed("x1", "Herald", '<script>alert("x")</script> Gaza talks resume in Cairo',
         "<img src=x onerror=alert(1)> Talks resumed.", berlin(DAY, 9), ("gaza",)),
    Seed("x2", "The Daily", "Gaza \"quoted\" & 'single' <img src=y onerror=prompt(2)> headline",
         "x", berlin(DAY, 10), ("gaza",), 'https://daily.example.net/a"onmouseover="alert(1)'),
    Seed("x3", "Post", "Gaza \x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 text",
         "\x9b31m", berlin(DAY, 11), ("gaza",), "javascript:alert(document.cookie)"),
]  # fmt: skip


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_feed_text_is_escaped_in_html_and_stripped_everywhere(tmp_path: Path) -> None:
    config = make_config()
    store = Store(tmp_path / "hostile.db")
    seed(store, config, HOSTILE)
    d = build_digest(store, config, NOW, day=DAY, negotiation=None)
    page = render(d, "html")
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert "script" not in parser.tags and "img" not in parser.tags
    assert not [name for name, _ in parser.attrs if name.startswith("on")]
    hrefs = [value for name, value in parser.attrs if name == "href"]
    assert hrefs and all(v is not None and v.startswith(("http://", "https://")) for v in hrefs)
    assert 'https://daily.example.net/a"onmouseover="alert(1)' in hrefs  # one attribute value, quotes escaped
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&quot;quoted&quot; &amp; &#x27;single&#x27;" in page
    shown = "".join(parser.text)
    assert '<script>alert("x")</script> Gaza talks resume in Cairo' in shown  # visible as text, intact
    for fmt in ("md", "html", "json"):
        text = render(d, fmt)
        assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text, fmt
        assert "javascript:" not in text, fmt
    md = render(d, "md")
    assert r"\<script\>" in md and r"\<img src=y onerror=prompt(2)\>" in md
    data = json.loads(render(d, "json"))
    titles = [s["title"] for s in data["tracks"][0]["top_stories"]]
    assert "Gaza red link text" in titles
    store.close()


def test_write_daily_digest_for_the_tui(seeded: tuple[Store, Config], tmp_path: Path) -> None:
    store, config = seeded
    path = write_daily_digest(store, config, NOW)  # format and folder from config
    assert path == tmp_path / "digests" / "digest-2026-03-11.md"
    assert path.read_text(encoding="utf-8").startswith("# Daily digest: Wednesday 11 March 2026\n")
    other = write_daily_digest(store, config, NOW, fmt="html", folder=tmp_path / "elsewhere")
    assert other.name == "digest-2026-03-11.html" and other.read_text(encoding="utf-8").startswith(
        "<!DOCTYPE html>"
    )
    assert not list((tmp_path / "digests").glob(".digest-*"))  # no temporary files left behind


@pytest.fixture
def cli_env(seeded: tuple[Store, Config], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    store, _ = seeded
    store.close()
    config_file = tmp_path / "config.toml"
    lines = ["[settings]", 'timezone = "Europe/Berlin"', 'digest_format = "md"', ""]
    for url, title in FEEDS:
        lines += ["[[feeds]]", f'url = "{url}"', f'title = "{title}"', ""]
    config_file.write_text("\n".join(lines), encoding="utf-8")
    monkeypatch.setattr("monitor.commands.digest.clock", lambda: NOW)
    return ["--config", str(config_file), "--db", str(tmp_path / "monitor.db")]


def test_cli_writes_stdout_or_a_file(
    cli_env: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*cli_env, "digest", "--date", "2026-03-10"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Daily digest: Tuesday 10 March 2026\n") and "## Feed health" in out
    target = tmp_path / "out" / "day.json"
    assert (
        main([*cli_env, "digest", "--date", "2026-03-10", "--format", "json", "--output", str(target)]) == 0
    )
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["day"] == "2026-03-10" and data["timezone"] == "Europe/Berlin"
    assert data["tracks"][0]["top_stories"][0]["first_report"]["published"] == "2026-03-09T22:30:00Z"
    assert main([*cli_env, "digest"]) == 0  # today by the clock: 11 March in Berlin
    assert capsys.readouterr().out.startswith("# Daily digest: Wednesday 11 March 2026\n")


def test_cli_rejects_a_bad_date(cli_env: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*cli_env, "digest", "--date", "10/03/2026"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_digest_of_a_real_day_from_the_saved_feeds(realfeeds_dir: Path, tmp_path: Path) -> None:
    """2026-02-17 through the project pipeline (parse_feed -> clean_entry -> Tagger -> store -> cluster)."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "scripts" / "score_clustering.py"
    spec = importlib.util.spec_from_file_location("score_clustering", path)
    assert spec is not None and spec.loader is not None
    score = importlib.util.module_from_spec(spec)
    sys.modules["score_clustering"] = score
    spec.loader.exec_module(score)
    config = build_config([*default_tables(), ("<test>", {"settings": {"timezone": "Europe/London"}})])
    store = Store(tmp_path / "real.db")
    files = sorted(p for p in realfeeds_dir.glob("*_2026.xml") if not p.name.startswith("odd_"))
    score.build(store, config, files, score.THRESHOLD)
    d = build_digest(store, config, datetime(2026, 2, 18, 7, tzinfo=UTC), day=date(2026, 2, 17))
    ukraine = next(t for t in d.tracks if t.id == "ukraine")
    talks = ukraine.top[0]
    assert talks.outlets >= 5 and "Geneva" in " ".join(r.title for r in (talks.first, *talks.others))
    md = render(d, "md")
    long_lines = [line for line in md.splitlines() if len(line) > 78 and "://" not in line]
    assert not long_lines
    parser = _Collector()
    parser.feed(render(d, "html"))
    assert "script" not in parser.tags
    store.close()
