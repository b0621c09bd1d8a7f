"""Resume after a crash or reboot (issue 19, item 8): the window remembers it was trading, and a
window opened after a session that ended without Stop offers to start again (pressing Start:
the lock and the reconciliation come first); a Stop or a "no" forgets it."""
from __future__ import annotations

import pytest

from tests.test_ui_cockpit import open_testnet_window, started  # noqa: F401
from tests.ui_helpers import MemoryKeyring, fake, home, settings  # noqa: F401
from ui.close_dialog import KEEP
from ui.resume import offer_resume, was_trading


def crash(window) -> None:  # noqa: ANN001
    """The process dies while trading: nothing of the window's own stop path runs."""
    window.runner.stop()
    window.runner.wait(30_000)


def test_a_session_that_ended_without_stop_is_offered_and_yes_starts_again(qtbot, home, settings, fake):
    first = open_testnet_window(qtbot, settings, fake.base_url, fake.ws_url)
    first.ask_close = lambda positions: KEEP
    started(qtbot, first)
    assert was_trading(first) == "demo"  # the practice mode is demo trading (issue 18)
    remembered = was_trading(first)
    crash(first)
    qtbot.waitUntil(lambda: was_trading(first) == "", timeout=30_000)  # the window saw its runner end
    # the runner's end removes it in a window that lives on; a crashed process never gets there:
    first._ui_state.setValue("trading_mode", remembered)  # noqa: SLF001 - as the dead process left it
    first._ui_state.sync()  # noqa: SLF001
    second = open_testnet_window(qtbot, settings, fake.base_url, fake.ws_url)
    second.ask_close = lambda positions: KEEP
    asked: list[str] = []
    second.ask = lambda title, question: asked.append(question) or True
    assert offer_resume(second)
    assert len(asked) == 1 and "demo trading" in asked[0] and "reconciliation" in asked[0]
    qtbot.waitUntil(lambda: second.is_running() and second.state_label.text() == "Running", timeout=30_000)
    second.stop()
    qtbot.waitUntil(lambda: not second.is_running(), timeout=30_000)
    assert was_trading(second) == ""
    second.ask = lambda title, question: pytest.fail("asked after a Stop")
    assert not offer_resume(second)


def test_no_forgets_and_is_not_asked_again(qtbot, home, settings, fake):
    window = open_testnet_window(qtbot, settings, fake.base_url, fake.ws_url)
    window._ui_state.setValue("trading_mode", "testnet")  # noqa: SLF001
    asked: list[str] = []
    window.ask = lambda title, question: asked.append(question) or False
    assert not offer_resume(window)
    assert not window.is_running() and was_trading(window) == ""
    assert not offer_resume(window) and len(asked) == 1
