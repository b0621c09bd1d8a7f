"""The trading log: library noise is one WARNING line; replayed lines carry the replay's time."""
from __future__ import annotations

import logging

import pytest

from cli.logging_setup import setup_logging, stop_logging


@pytest.fixture
def log_file(tmp_path):
    path = setup_logging(tmp_path, console=False)
    yield path
    stop_logging()


def _flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_a_websockets_keepalive_failure_is_one_warning_line_without_traceback(log_file):
    try:
        raise ConnectionResetError("peer closed the connection")
    except ConnectionResetError:
        logging.getLogger("websockets.client").error("keepalive ping failed", exc_info=True)
    _flush()
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1, lines
    assert " WARNING " in lines[0] and " ERROR " not in lines[0]
    assert lines[0].endswith("websockets.client: keepalive ping failed (ConnectionResetError: peer closed the connection)")


def test_the_programs_own_errors_keep_their_traceback(log_file):
    try:
        raise ValueError("a bug")
    except ValueError:
        logging.getLogger("ui.runner_thread").exception("trading service failed")
    _flush()
    text = log_file.read_text(encoding="utf-8")
    assert " ERROR " in text and "Traceback" in text and "ValueError: a bug" in text


def test_a_replays_log_lines_carry_the_replayed_candles_time_not_the_wall_clock(tmp_path, repo_root):
    from main import main

    state, logs = tmp_path / "state", tmp_path / "logs"
    code = main(["run", "--replay", str(repo_root / "data" / "sample"), "--start", "2023-03-01", "--end",
                 "2023-03-01", "--state-dir", str(state), "--set", f"paths.log_dir={logs}",
                 "--config", str(repo_root / "config" / "settings.yaml")])
    assert code == 0
    lines = [line for line in (logs / "autohedge.log").read_text(encoding="utf-8").splitlines() if "[R2]" in line]
    assert lines, "the replay decided nothing"
    for line in lines:
        assert line.startswith("2023-03-01 ") and " UTC replay " in line, line
    opening = lines[0]
    assert opening.startswith("2023-03-01 00:"), opening  # the day's first decision, at its candle's time
