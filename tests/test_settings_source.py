"""run, backtest and optimize take their settings from one place and say which; a bare run is paper."""
from __future__ import annotations

import csv

import pytest

from config.sources import run_mode
from main import main

SAVED = """\
mode: testnet
symbols:
  DOGEUSDT:
    call_size: 250
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("AUTOHEDGE_HOME", str(path))
    return path


def first_line(capsys) -> str:
    return capsys.readouterr().out.splitlines()[0]


def test_without_a_saved_file_backtest_and_run_say_they_use_the_bundled_defaults(home, tmp_path, capsys):
    assert main(["backtest", "--start", "2023-03-01", "--end", "2023-03-01", "--out", str(tmp_path / "bt")]) == 0
    assert first_line(capsys).startswith("settings: bundled defaults (config/settings.yaml)")
    assert main(["run", "--replay", "data/sample", "--start", "2023-03-01", "--end", "2023-03-01",
                 "--state-dir", str(tmp_path / "state")]) == 0
    assert first_line(capsys).startswith("settings: bundled defaults (config/settings.yaml)")


def test_backtest_takes_the_windows_saved_settings_as_run_does_and_says_so(home, tmp_path, capsys):
    (home / "settings.yaml").write_text(SAVED, encoding="utf-8")
    out = tmp_path / "bt"
    assert main(["backtest", "--start", "2023-03-01", "--end", "2023-03-01", "--out", str(out)]) == 0
    assert first_line(capsys) == f"settings: {home / 'settings.yaml'} (saved from the window; --config FILE for another)"
    with open(out / "trades.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {row["symbol"] for row in rows} == {"DOGEUSDT"} and {float(row["qty"]) for row in rows} == {250.0}


def test_a_bare_run_is_paper_trading_even_when_the_window_was_in_testnet(home, tmp_path, capsys):
    (home / "settings.yaml").write_text(SAVED, encoding="utf-8")
    assert main(["run", "--start", "2023-03-01", "--end", "2023-03-01", "--state-dir", str(tmp_path / "state")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"settings: {home / 'settings.yaml'} (saved from the window")
    assert printed[1] == "mode: paper (the settings say demo; add --mode demo to trade demo)"
    assert printed[2].startswith("AutoHedge paper: symbols DOGEUSDT;")


@pytest.mark.parametrize("requested, replay, saved, expected", [
    (None, None, "live", "paper"), (None, None, "testnet", "paper"), (None, None, "paper", "paper"),
    ("testnet", None, "paper", "testnet"), ("live", None, "live", "live"), (None, "data/sample", "live", "replay"),
])
def test_run_mode_never_takes_real_orders_from_the_settings_alone(requested, replay, saved, expected):
    mode, note = run_mode(requested, replay, saved)
    assert mode == expected
    assert (note is not None) == (requested is None and replay is None and saved != "paper")
