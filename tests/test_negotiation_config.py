"""`[negotiation.*]` validation: the shipped defaults, layering, and one failure per bad table."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_config
from monitor.negotiation_config import SIGNAL_NAMES, NegotiationTrack


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_give_every_track_a_negotiation(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert list(config.negotiation) == sorted(config.track_ids)
    gaza = config.negotiation["gaza"]
    assert isinstance(gaza, NegotiationTrack)
    assert gaza.name == "Gaza ceasefire: Phase Two"
    assert {n.display for n in gaza.venues} >= {"Doha", "Cairo"}
    assert {n.display for n in gaza.mediators} >= {"Steve Witkoff", "Jared Kushner"}
    assert {p.signal for p in gaza.signals} >= set(SIGNAL_NAMES)
    assert gaza.tuning.half_life_hours == 48.0
    assert gaza.cues.negated["agreement"] == "stalled"


def test_a_user_layer_adds_reweights_and_switches_off_phrases(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[tracks.sudan]
title = "Sudan"
terms = { "Sudan" = 2.0, "RSF" = 2.0 }

[negotiation.defaults]
half_life_hours = 24

[negotiation.signals]
"talks" = "none"
"humanitarian pause" = { signal = "agreement", weight = 0.8 }

[negotiation.gaza]
name = "Gaza: Board of Peace"
window_days = 3
venues = ["Sharm el-Sheikh|Sharm"]
""",
        )
    )
    gaza = config.negotiation["gaza"]
    assert gaza.name == "Gaza: Board of Peace"
    assert (gaza.tuning.window_days, gaza.tuning.half_life_hours) == (3.0, 24.0)
    assert [n.patterns for n in gaza.venues] == [("Sharm el-Sheikh", "Sharm")]
    assert {n.display for n in gaza.mediators} >= {"Steve Witkoff"}  # merged key by key
    phrases = {p.phrase: p for p in gaza.signals}
    assert phrases["talks"].signal == "none"
    assert (phrases["humanitarian pause"].signal, phrases["humanitarian pause"].weight) == ("agreement", 0.8)
    assert phrases["deadlock*"].signal == "stalled"
    # A track without a table of its own still gets the shared lexicon and a name.
    sudan = config.negotiation["sudan"]
    assert sudan.name == "Sudan" and sudan.tuning.half_life_hours == 24.0
    assert "humanitarian pause" in {p.phrase for p in sudan.signals}


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        ("[negotiation.gaza]\nnmae = 'x'\n", "negotiation.gaza.nmae", "unknown key"),
        ("[negotiation.gaza]\nparties = 'Hamas'\n", "negotiation.gaza.parties", "must be an array"),
        ("[negotiation.gaza]\nvenues = ['Doha', 3]\n", "negotiation.gaza.venues[1]", "must be a string"),
        ("[negotiation.gaza]\nwindow_days = 'week'\n", "negotiation.gaza.window_days", "must be a number"),
        ("[negotiation.gaza]\nhalf_life_hours = 0\n", "negotiation.gaza.half_life_hours", "greater than 0"),
        ("[negotiation.gaza]\ncarry_weight = 2\n", "negotiation.gaza.carry_weight", "between 0 and 1"),
        (
            "[negotiation.gaza.signals]\n'truce' = 'peace'\n",
            "negotiation.gaza.signals.truce",
            "unknown signal",
        ),
        ("[negotiation.signals]\n'truce' = 3\n", "negotiation.signals.truce", "signal name"),
        (
            "[negotiation.signals]\n'truce' = { signal = 'talks', weight = -1 }\n",
            "negotiation.signals.truce.weight",
            "greater than 0",
        ),
        (
            "[negotiation.signals]\n'truce' = { signal = 'talks', wieght = 1 }\n",
            "negotiation.signals.truce.wieght",
            "unknown key",
        ),
        ("[negotiation.signals]\n'.. truce' = 'talks'\n", "negotiation.signals... truce", "`..` gap"),
        ("[negotiation.signals]\n'*' = 'talks'\n", "negotiation.signals.*", "no letters"),
        ("[negotiation.mars]\nname = 'x'\n", "negotiation.mars", "no such track"),
        ("[negotiation.defaults]\nwindow = 3\n", "negotiation.defaults.window", "unknown key"),
        ("[negotiation.cues]\nnegation = 'no'\n", "negotiation.cues.negation", "must be an array"),
        (
            "[negotiation.cues.negated]\nagreement = 'happy'\n",
            "negotiation.cues.negated.agreement",
            "must be one",
        ),
        ("[negotiation.cues]\nunhedged = ['war']\n", "negotiation.cues.unhedged[0]", "unknown signal"),
        ("[negotiation]\ngaza = 3\n", "negotiation.gaza", "must be a table"),
    ],
)
def test_bad_tables_name_file_and_key(tmp_path: Path, body: str, key: str, problem: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.file == str(path)
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_a_track_cannot_take_a_reserved_name(tmp_path: Path) -> None:
    path = write(tmp_path, "[tracks.signals]\nterms = { 'x' = 2.0 }\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.key == "negotiation.signals" and "reserved" in caught.value.problem
