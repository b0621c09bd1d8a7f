"""The guard's settings in the Settings tab [E1] (issue 19, item 3): mode and distance reach
the settings the bot starts with, a bad distance is one sentence, both lock while trading."""
from __future__ import annotations

import pytest

from config.settings import SettingsError, load_settings
from ui.strategy_panel import GUARD_KEY, StrategyPanel


def test_guard_mode_and_distance_reach_the_settings(qtbot):
    panel = StrategyPanel(load_settings())
    qtbot.addWidget(panel)
    assert panel.to_settings("demo").exchange.guard_mode == "hedge"  # the default
    panel.guard_mode.setCurrentIndex(panel.guard_mode.findData("stop"))
    distance = panel.field("exchange.guard_distance_pct")
    qtbot.keyClicks(distance, "\b\b\b3")
    distance.editingFinished.emit()
    settings = panel.to_settings("demo")
    assert (settings.exchange.guard_mode, settings.exchange.guard_distance_pct) == ("stop", 3.0)
    panel.set_running(True)
    assert not panel.guard_mode.isEnabled() and not distance.isEnabled()
    assert panel.guard_mode.objectName() == GUARD_KEY


def test_a_guard_distance_of_zero_is_refused_with_one_sentence_and_the_last_value_kept(qtbot):
    panel = StrategyPanel(load_settings())
    qtbot.addWidget(panel)
    distance = panel.field("exchange.guard_distance_pct")
    qtbot.keyClicks(distance, "\b\b\b0")
    assert distance.text() == "0"
    with pytest.raises(SettingsError, match="Guard distance % = 0.0 must be > 0"):
        panel.to_settings("demo")  # while the text on screen is refused
    distance.editingFinished.emit()
    assert "kept 5" in distance.message()
    assert panel.to_settings("demo").exchange.guard_distance_pct == 5.0
