"""Stop asks exactly as closing the window does (issue 19, item 6): with positions open, the
Stop button offers Flatten and stop / Stop and keep positions / Cancel and does what was answered."""
from __future__ import annotations

import pytest

from tests.test_ui_cockpit import open_testnet_window, started, step_until_a_position, trading  # noqa: F401
from tests.ui_helpers import MemoryKeyring, fake, home, settings  # noqa: F401
from ui.close_dialog import CANCEL, FLATTEN, KEEP


@pytest.mark.parametrize("answer", [CANCEL, KEEP, FLATTEN])
def test_stop_with_positions_asks_and_does_what_was_answered(qtbot, trading, fake, answer):
    window = trading
    asked: list[list[str]] = []
    window.ask_close = lambda positions: asked.append(positions) or answer
    window.stop_button.click()
    assert asked and asked[0][0].startswith("DOGEUSDT ")
    if answer == CANCEL:
        assert window.is_running() and window.stop_button.isEnabled()
        assert fake.state()["positions"]
        window.ask_close = lambda positions: KEEP
        return
    qtbot.waitUntil(lambda: not window.is_running(), timeout=30_000)
    if answer == KEEP:
        assert fake.state()["positions"]  # still open on the exchange
    else:
        assert fake.state()["positions"] == []  # flattened before the stop


def test_stop_without_positions_does_not_ask(qtbot, home, settings, fake):
    window = open_testnet_window(qtbot, settings, fake.base_url, fake.ws_url)
    window.ask_close = lambda positions: pytest.fail("asked although nothing is open")
    started(qtbot, window)
    assert not window.open_positions()
    window.stop_button.click()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=30_000)
