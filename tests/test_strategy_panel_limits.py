"""The Settings tab edits the loss limits and protections [L1-L5] exactly as settings.yaml holds them."""
from __future__ import annotations

from config.settings import load_settings
from core.params import ProtectParams
from ui.strategy_panel import ON_BREACH_KEY, StrategyPanel

KEYS = ("max_daily_loss_usdt", "max_daily_loss_pct", "max_drawdown_pct", "max_symbol_notional",
        "max_total_notional", "cooldown_bars", "max_entries_per_day")


def test_the_limits_show_off_by_default_and_what_is_typed_reaches_the_settings(qtbot):
    panel = StrategyPanel(load_settings())
    qtbot.addWidget(panel)
    assert panel.to_settings("paper").strategy.protect == ProtectParams()
    typed = {"max_daily_loss_usdt": "25", "max_daily_loss_pct": "2.5", "max_drawdown_pct": "10",
             "max_symbol_notional": "500", "max_total_notional": "1500", "cooldown_bars": "12",
             "max_entries_per_day": "20"}
    for key, text in typed.items():
        field = panel.fields[f"strategy.protect.{key}"]
        field.setText(text)
        field.editingFinished.emit()  # as leaving the field does
    panel.on_breach.setCurrentIndex(panel.on_breach.findData("flatten"))
    protect = panel.to_settings("paper").strategy.protect
    assert protect == ProtectParams(max_daily_loss_usdt=25.0, max_daily_loss_pct=2.5, max_drawdown_pct=10.0,
                                    max_symbol_notional=500.0, max_total_notional=1500.0, cooldown_bars=12,
                                    max_entries_per_day=20, on_breach="flatten")


def test_a_bad_limit_is_refused_with_one_sentence_and_the_limits_lock_while_trading(qtbot):
    panel = StrategyPanel(load_settings())
    qtbot.addWidget(panel)
    panel.fields["strategy.protect.max_drawdown_pct"].setText("150")
    assert not panel.fields["strategy.protect.max_drawdown_pct"].is_valid()
    assert "100" in panel.fields["strategy.protect.max_drawdown_pct"].message()
    panel.set_running(True)
    assert not panel.on_breach.isEnabled()
    assert not any(panel.fields[f"strategy.protect.{key}"].isEnabled() for key in KEYS)
    assert panel.on_breach.objectName() == ON_BREACH_KEY
