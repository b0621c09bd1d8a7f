"""The trading log: library noise is one WARNING line; replayed lines carry the replay's time."""
from __future__ import annotations

import logging

import pytest

from runner.logging_setup import setup_logging, stop_logging


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
