"""The window's question at Start when a loss limit [L1, L2] was breached earlier this UTC day and
saved (issue 19 §2): it names the limit and the time, the default answer keeps new mains off, and a
yes starts the service with the override (the service then records it)."""
from __future__ import annotations

import pytest

from core import decide
from live.account_limits import LimitsRecord, save_record
from live.assemble import build_service, default_state_dir
from tests.test_ui_cockpit import started
from tests.ui_helpers import MemoryKeyring, fake, home, settings  # noqa: F401
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET
from tests.test_ui_i18n import HANGUL, korean  # noqa: F401
from ui import limits_question
from ui.close_dialog import KEEP
from ui.main_window import MainWindow

NOW = 1_780_000_000_000  # 2026-05-28T20:26:40Z: "today" for the window
TODAY = decide.utc_day(NOW)


def _window(qtbot, settings, fake, built):  # noqa: ANN001
    def builder(settings, listener, **kwargs):  # noqa: ANN001
        built.append(kwargs)
        return build_service(settings, listener, base_url=fake.base_url, stream_url=fake.ws_url, **kwargs)

    window = MainWindow(builder, None, MemoryKeyring(), settings=settings)
    qtbot.addWidget(window)
    window.show()
    window.api.mode.setCurrentIndex(window.api.mode.findData("demo"))
    window.api.api_key.setText(TEST_API_KEY)
    window.api.api_secret.setText(TEST_API_SECRET)
    window.ask_close = lambda positions: KEEP
    return window


def _stop(qtbot, window) -> None:  # noqa: ANN001
    window.ask = lambda title, question: True
    window.stop()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=30_000)


@pytest.fixture
def breach_today(settings, monkeypatch):  # noqa: ANN001, F811
    monkeypatch.setattr(limits_question, "_now_ms", lambda: NOW)
    folder = default_state_dir(settings, "demo")
    save_record(folder, LimitsRecord(limit_day=TODAY, day_start_equity=1000.0, peak_equity=1000.0,
                                     breach_day=TODAY, breach_rule="L1", breach_time=TODAY * decide.DAY_MS + 13 * 3_600_000,
                                     breach_equity=948.5, breach_limit="a daily loss of 50 USDT, fees included"))
    return folder


@pytest.mark.parametrize("answer", [False, True])
def test_start_after_a_breach_today_asks_once_and_the_answer_decides_the_override(qtbot, home, settings, fake,
                                                                                  breach_today, answer):
    built: list[dict] = []
    window = _window(qtbot, settings, fake, built)
    asked: list[tuple[str, str]] = []
    window.ask = lambda title, question: asked.append((title, question)) or answer
    started(qtbot, window)
    try:
        [(title, question)] = asked
        assert title == "Loss limit reached today"
        assert question.startswith("The daily loss limit [L1] was reached at 2026-05-28 13:00:00 UTC "
                                   "(equity 948.50 USDT; limit: a daily loss of 50 USDT, fees included)")
        assert question.endswith("Resume new entries anyway?")
        assert built[-1].get("override_limits", False) is answer
    finally:
        _stop(qtbot, window)


def test_no_question_without_a_breach_saved_for_today(qtbot, home, settings, fake, monkeypatch):
    monkeypatch.setattr(limits_question, "_now_ms", lambda: NOW)
    save_record(default_state_dir(settings, "demo"), LimitsRecord(breach_day=TODAY - 1, breach_rule="L1"))  # yesterday
    built: list[dict] = []
    window = _window(qtbot, settings, fake, built)
    window.ask = lambda title, question: pytest.fail(f"asked: {question}")
    started(qtbot, window)
    try:
        assert "override_limits" not in built[-1]
    finally:
        _stop(qtbot, window)


def test_the_question_is_in_korean_too(korean, settings):  # noqa: F811
    save_record(default_state_dir(settings, "demo"), LimitsRecord(breach_day=TODAY, breach_rule="L2",
                                                                  breach_time=TODAY * decide.DAY_MS,
                                                                  breach_limit="a drawdown of 10 %"))
    question = limits_question.breach_question(settings, "demo", NOW)
    assert question is not None and HANGUL.search(question) and "[L2]" in question
    assert "a drawdown of 10 %" in question  # the limit is off in these settings: the service's words, as logged


def test_the_limit_is_told_in_the_window_language_from_the_settings(korean, settings):  # noqa: F811
    """With the limit still set, its words come from the window's translations, not the service's English."""
    from dataclasses import replace

    protect = replace(settings.strategy.protect, max_drawdown_pct=10.0)
    settings = replace(settings, strategy=replace(settings.strategy, protect=protect))
    save_record(default_state_dir(settings, "demo"), LimitsRecord(breach_day=TODAY, breach_rule="L2",
                                                                  breach_time=TODAY * decide.DAY_MS,
                                                                  peak_equity=1200.0,
                                                                  breach_limit="a drawdown of 10 %"))
    question = limits_question.breach_question(settings, "demo", NOW)
    assert question is not None and "a drawdown" not in question
    assert "10 %" in question and "1080.00" in question  # 10 % below the 1,200 peak


def test_both_daily_amounts_are_named(settings):  # noqa: F811
    from dataclasses import replace

    protect = replace(settings.strategy.protect, max_daily_loss_usdt=50.0, max_daily_loss_pct=2.5)
    record = LimitsRecord(breach_rule="L1", day_start_equity=1000.0, breach_limit="unused")
    assert limits_question.limit_words(record, protect) == (
        "a daily loss of 50 USDT or 2.5 % of the day's start (25.00 USDT), fees included")
