"""`sitmon status`: the JSON shape, --as-of reproducibility, set/clear, and history per day."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.commands import status as status_command
from tests.conftest import fresh_python
from tests.test_negotiation_fixtures import Seeder, day, make_config

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """`sitmon --config ... --db ... ARGS` over a seeded database, with the command's clock frozen."""
    config_file = tmp_path / "config.toml"
    config_file.write_text('[settings]\ntimezone = "UTC"\n')
    db = tmp_path / "monitor.db"
    seeder = Seeder(db, make_config())
    seeder.add("Israel and Hamas hold Gaza ceasefire talks in Cairo", at=day(0), source="Reuters")
    seeder.add("Gaza truce talks reach deadlock over Hamas disarmament", at=day(2), source="AP")
    seeder.add(
        "Ukraine and Russia hold peace talks in Geneva \x1b]52;c;aGk=\x07",
        "Umerov met Witkoff. Another round is scheduled for tomorrow.",
        at=day(2, 1),
        source="BBC",
        link="https://bbc.example/ukraine",
    )
    seeder.store.close()
    monkeypatch.setattr(status_command, "clock", lambda: day(3))
    monkeypatch.setenv("SITMON_ANALYST", "alice")

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config_file), "--db", str(db), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_json_is_a_list_with_the_documented_keys(run: Run) -> None:
    code, out, _ = run("status", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [d["track"] for d in data] == ["gaza", "ukraine", "venezuela"]
    for entry in data:
        assert {
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
        } <= set(entry)
        assert entry["override"] is None
    gaza, ukraine, venezuela = data
    assert gaza["status"] == "stalled" and gaza["since"] == "2026-02-12T09:00:00Z"
    assert ukraine["status"] == "talks"
    assert ukraine["last_movement"]["link"] == "https://bbc.example/ukraine"
    assert set(ukraine["last_movement"]) >= {"published", "title", "source", "link"}
    assert any("scheduled for tomorrow" in s for s in ukraine["upcoming"])
    assert "Geneva" in ukraine["venues"] and "Rustem Umerov" in ukraine["actors"]
    assert venezuela["status"] == "quiet" and venezuela["evidence"] == []


def test_as_of_is_reproducible_and_ignores_later_news(run: Run) -> None:
    first = run("status", "--as-of", "2026-02-11T12:00:00Z", "--format", "json")[1]
    again = run("status", "--as-of", "2026-02-11T12:00", "--format", "json")[1]  # naive = configured zone
    assert first == again
    gaza = json.loads(first)[0]
    assert gaza["status"] == "talks" and gaza["as_of"] == "2026-02-11T12:00:00Z"


def test_text_output_is_safe_for_a_terminal(run: Run) -> None:
    code, out, _ = run("status")
    assert code == 0
    assert "gaza: STALLED" in out and "Gaza ceasefire: Phase Two" in out
    assert "ukraine: TALKS" in out and "next: Another round is scheduled for tomorrow." in out
    assert "\x1b" not in out and "\x07" not in out


def test_set_clear_and_history(run: Run) -> None:
    assert run("status", "set", "gaza", "talks", "--note", "envoys in Doha say otherwise")[0] == 0
    gaza = json.loads(run("status", "--format", "json")[1])[0]
    assert gaza["status"] == "stalled"
    assert gaza["override"] == {
        "status": "talks",
        "note": "envoys in Doha say otherwise",
        "set_by": "alice",
        "set_at": "2026-02-13T09:00:00Z",
    }
    assert "analyst: TALKS — envoys in Doha say otherwise (alice" in run("status")[1]
    code, out, _ = run("status", "clear", "gaza")
    assert code == 0 and "cleared" in out
    assert "no analyst status was set" in run("status", "clear", "gaza")[1]
    assert json.loads(run("status", "--format", "json")[1])[0]["override"] is None

    code, out, _ = run("status", "history", "gaza", "--days", "4", "--format", "json")
    assert code == 0
    history = json.loads(out)
    assert [(d["day"], d["status"]) for d in history["days"]] == [
        ("2026-02-10", "talks"),
        ("2026-02-11", "talks"),
        ("2026-02-12", "stalled"),
        ("2026-02-13", "stalled"),
    ]
    assert [o["action"] for o in history["overrides"]] == ["clear", "set"]
    code, out, _ = run("status", "history", "gaza", "--days", "2")
    assert code == 0 and "2026-02-12  stalled" in out and "2026-02-11" not in out
    assert "set talks — envoys in Doha say otherwise  (alice)" in out and "cleared  (alice)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("status", "set", "mars", "talks"), "unknown track 'mars'"),
        (("status", "set", "gaza", "peace"), "unknown status 'peace'"),
        (("status", "clear", "mars"), "unknown track 'mars'"),
        (("status", "history", "gaza", "--days", "0"), "--days must be at least 1"),
        (("status", "--as-of", "yesterday"), "not an ISO 8601"),
    ],
)
def test_user_errors_exit_2(run: Run, args: tuple[str, ...], message: str) -> None:
    code, _, err = run(*args)
    assert code == 2 and message in err


def test_the_engine_and_the_status_command_never_import_textual() -> None:
    code = (
        "import sys, monitor.negotiation, monitor.negotiation_config, monitor.commands.status, "
        "monitor.store.status; print('textual' in sys.modules)"
    )
    assert fresh_python(code) == "False"
