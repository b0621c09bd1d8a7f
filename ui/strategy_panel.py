"""Strategy settings: symbols and sizes, signal [S1-S4], leverage, exits [X1-X3] and limits [L1-L5].

Every number is a :class:`ValidatedField` checked by the settings schema, so
the window accepts exactly what settings.yaml accepts. ``to_settings`` builds a
validated :class:`AppSettings` (cross-field rules too, e.g. MACD fast <= slow).
"""
from __future__ import annotations

from dataclasses import replace
from functools import partial

from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QGroupBox, QLabel, QSpinBox, QVBoxLayout

from config.settings import AppSettings, SettingsError, parse_settings, settings_to_dict
from core.params import ENTRY_MODES, ON_BREACH_CHOICES, REFERENCES, SignalParams
from ui.accessibility import describe, label_for
from ui.fields import ValidatedField
from ui.symbols_editor import SymbolsEditor
from ui.validators import check_setting

_CONTEXT = "StrategyPanel"
# dotted settings key -> (label, tooltip), English sources translated in the StrategyPanel context
NUMBER_FIELDS: dict[str, tuple[str, str]] = {
    "strategy.rsi_length": (QT_TRANSLATE_NOOP("StrategyPanel", "RSI length"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[I1] Wilder RSI length in candles (the design's RSI2 is 2)")),
    "strategy.signal.centerline": (QT_TRANSLATE_NOOP("StrategyPanel", "Centerline"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[S1] RSI level that splits an up signal from a down signal (50 = RSI centerline)")),
    "strategy.signal.macd.fast": (QT_TRANSLATE_NOOP("StrategyPanel", "MACD fast"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[S1] Fast EMA length of the MACD line (MACD reference only)")),
    "strategy.signal.macd.slow": (QT_TRANSLATE_NOOP("StrategyPanel", "MACD slow"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[S1, S3] Slow EMA length of the MACD line; equal to fast makes the line always 0")),
    "strategy.exit.take_profit_pct": (QT_TRANSLATE_NOOP("StrategyPanel", "Take profit %"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[X1] Close the main position at this profit, percent of the entry price")),
    "strategy.exit.trailing_pct": (QT_TRANSLATE_NOOP("StrategyPanel", "Trailing %"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[X3] Close the main position when the price gives back this percent from its best close")),
    "strategy.exit.trailing_activation_pct": (QT_TRANSLATE_NOOP("StrategyPanel", "Activation %"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[X3] The trailing stop starts once the best close is this percent in profit")),
    "strategy.exit.max_hold_bars": (QT_TRANSLATE_NOOP("StrategyPanel", "Max hold (5m bars)"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[X2] Close the main position after this many 5-minute candles (24 = 2 hours)")),
    "exchange.guard_distance_pct": (QT_TRANSLATE_NOOP("StrategyPanel", "Guard distance %"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[E1] The guard held on the exchange acts at this adverse move from the main's entry, "
        "in percent (paper trading, the backtest and the optimizer model it with each 5-minute candle's high and "
        "low)")),
    # [L1-L5] loss limits and protections, 0 = off
    "strategy.protect.max_daily_loss_usdt": (QT_TRANSLATE_NOOP("StrategyPanel", "Daily loss cap (USDT)"),
                                             QT_TRANSLATE_NOOP("StrategyPanel", "[L1] Once the loss since 00:00 UTC "
                                                               "reaches this many USDT (fees included), act as On "
                                                               "breach says until the next UTC day; 0 = off")),
    "strategy.protect.max_daily_loss_pct": (QT_TRANSLATE_NOOP("StrategyPanel", "Daily loss cap %"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[L1] The same limit in percent of the equity at 00:00 UTC; 0 = off")),
    "strategy.protect.max_drawdown_pct": (QT_TRANSLATE_NOOP("StrategyPanel", "Max drawdown %"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[L2] Once equity is this percent below its peak, act as On breach says; 0 = off")),
    "strategy.protect.max_symbol_notional": (QT_TRANSLATE_NOOP("StrategyPanel", "Max notional per symbol (USDT)"),
                                             QT_TRANSLATE_NOOP("StrategyPanel", "[L3] No new main that would take "
                                                               "the symbol's open notional (both sides) above this; "
                                                               "0 = off")),
    "strategy.protect.max_total_notional": (QT_TRANSLATE_NOOP("StrategyPanel", "Max total notional (USDT)"),
                                            QT_TRANSLATE_NOOP("StrategyPanel", "[L3] No new main that would take all "
                                                              "symbols' open notional above this; 0 = off")),
    "strategy.protect.cooldown_bars": (QT_TRANSLATE_NOOP("StrategyPanel", "Cool-down (5m bars)"), QT_TRANSLATE_NOOP(
        "StrategyPanel", "[L4] No new main for this many 5-minute candles after a main close; 0 = off")),
    "strategy.protect.max_entries_per_day": (QT_TRANSLATE_NOOP("StrategyPanel", "Max entries per day"),
                                             QT_TRANSLATE_NOOP("StrategyPanel", "[L5] At most this many mains per "
                                                               "symbol per UTC day; 0 = off")),
}
GUARD_KEY = "exchange.guard_mode"
GUARD_MODES = ("hedge", "stop", "off")
GUARD_LABELS = {"hedge": QT_TRANSLATE_NOOP("StrategyPanel", "open the hedge"),
                "stop": QT_TRANSLATE_NOOP("StrategyPanel", "close the main"),
                "off": QT_TRANSLATE_NOOP("StrategyPanel", "off")}
ON_BREACH_KEY = "strategy.protect.on_breach"
ON_BREACH_LABELS = {"stop_entries": QT_TRANSLATE_NOOP("StrategyPanel", "stop entries"),
                    "flatten": QT_TRANSLATE_NOOP("StrategyPanel", "flatten")}
LEVERAGE_KEY = "exchange.leverage"
LEVERAGE_BOUNDS = (1, 125)  # Binance USDT-M: 1x to 125x (a symbol's bracket may allow less; it then refuses [O7])
REFERENCE_LABELS = {"centerline": QT_TRANSLATE_NOOP("StrategyPanel", "RSI centerline"),
                    "macd": QT_TRANSLATE_NOOP("StrategyPanel", "MACD line")}
ENTRY_LABELS = {"level": QT_TRANSLATE_NOOP("StrategyPanel", "level"),
                "cross": QT_TRANSLATE_NOOP("StrategyPanel", "cross")}


def _tr(text: str) -> str:
    return QCoreApplication.translate(_CONTEXT, text)


def _get(data: dict, dotted: str):
    for part in dotted.split("."):
        data = data[part]
    return data


def _put(data: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data[part]
    data[last] = value


class StrategyPanel(QGroupBox):
    call_size_changed = Signal(str, float)
    warnings_changed = Signal(list)  # [S3] and other warnings the user must see

    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.setTitle(self.tr("Strategy"))
        self._base = settings
        data = settings_to_dict(settings)

        self.symbols = SymbolsEditor()
        self.symbols.call_size_changed.connect(self.call_size_changed)
        self.symbols.set_sizes({name: sym.call_size for name, sym in settings.symbols.items()})
        self.symbols.set_leverages({name: sym.leverage for name, sym in settings.symbols.items()})

        self.fields: dict[str, ValidatedField] = {}
        for key, (label, tip) in NUMBER_FIELDS.items():
            field = ValidatedField(partial(check_setting, key, label=_tr(label)), _get(data, key))
            field.setObjectName(key)
            describe(field, _tr(label), _tr(tip))
            field.message_changed.connect(self._show_messages)
            field.value_changed.connect(self._update_warning)
            self.fields[key] = field

        self.leverage = QSpinBox()
        self.leverage.setObjectName(LEVERAGE_KEY)
        self.leverage.setRange(*LEVERAGE_BOUNDS)
        self.leverage.setSuffix(" x")
        self.leverage.setValue(settings.exchange.leverage)
        describe(self.leverage, self.tr("Leverage (x)"),
                 self.tr("Leverage set on each symbol at Start, 1 to 125 x (Binance's bounds); a symbol's own "
                         "leverage in the symbols table overrides it"))

        self.guard_mode = QComboBox()
        self.guard_mode.setObjectName(GUARD_KEY)
        for name in GUARD_MODES:
            self.guard_mode.addItem(_tr(GUARD_LABELS[name]), name)
        self.guard_mode.setCurrentIndex(GUARD_MODES.index(settings.exchange.guard_mode))
        describe(self.guard_mode, self.tr("Guard on the exchange"),
                 self.tr("[E1] A conditional order Binance holds for every main position, acting while the bot "
                         "cannot (asleep, offline, stopped with positions kept): it opens the hedge or closes the "
                         "main at the guard distance. Paper trading's simulated exchange holds it too, and the "
                         "backtest and the optimizer model it"))

        self.reference = QComboBox()
        for name in REFERENCES:
            self.reference.addItem(_tr(REFERENCE_LABELS[name]), name)
        self.reference.setCurrentIndex(REFERENCES.index(settings.strategy.signal.reference))
        self.reference.currentIndexChanged.connect(self._update_warning)
        self.entry = QComboBox()
        for name in ENTRY_MODES:
            self.entry.addItem(_tr(ENTRY_LABELS[name]), name)
        self.entry.setCurrentIndex(ENTRY_MODES.index(settings.strategy.signal.entry))
        describe(self.entry, self.tr("Entry mode"),
                 self.tr("[S4] level: any bar with an up signal may open; cross: only the bar where it turns up"))
        describe(self.reference, self.tr("Signal reference"),
                 self.tr("[S1] What RSI is compared with: the RSI centerline, or the MACD line of the design "
                         "document (MACD(1,1) is always 0 [S3])"))

        self.on_breach = QComboBox()
        self.on_breach.setObjectName(ON_BREACH_KEY)
        for name in ON_BREACH_CHOICES:
            self.on_breach.addItem(_tr(ON_BREACH_LABELS[name]), name)
        self.on_breach.setCurrentIndex(ON_BREACH_CHOICES.index(settings.strategy.protect.on_breach))
        describe(self.on_breach, self.tr("On breach"),
                 self.tr("[L1, L2] stop entries: no new main until the next UTC day (positions kept, hedges still "
                         "allowed); flatten: close everything at that close, then no new main that day"))

        self.messages = QLabel()
        self.messages.setWordWrap(True)
        self.messages.setStyleSheet("color: #b00020;")
        self.running_note = QLabel(self.tr(
            "Trading: only CALL_SIZE can change now, and it applies to the next order. The other "
            "strategy settings are locked; stop to change them, they apply at the next Start."))
        self.running_note.setWordWrap(True)
        self.running_note.setStyleSheet("color: #8a5a00;")
        self.running_note.setVisible(False)
        self.s3_warning = QLabel()
        self.s3_warning.setWordWrap(True)
        self.s3_warning.setStyleSheet("color: #8a5a00; font-weight: bold;")

        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        f = self.fields
        rows = [
            (self.reference, f["strategy.rsi_length"]),
            (f["strategy.signal.centerline"], self.entry),
            (f["strategy.signal.macd.fast"], f["strategy.signal.macd.slow"]),
            (self.leverage, f["strategy.exit.take_profit_pct"]),
            (f["strategy.exit.trailing_pct"], f["strategy.exit.trailing_activation_pct"]),
            (f["strategy.exit.max_hold_bars"], None),
            (self.guard_mode, f["exchange.guard_distance_pct"]),
            (f["strategy.protect.max_daily_loss_usdt"], f["strategy.protect.max_daily_loss_pct"]),
            (f["strategy.protect.max_drawdown_pct"], self.on_breach),
            (f["strategy.protect.max_symbol_notional"], f["strategy.protect.max_total_notional"]),
            (f["strategy.protect.cooldown_bars"], f["strategy.protect.max_entries_per_day"]),
        ]
        for row, pair in enumerate(rows):
            for column, widget in enumerate(pair):
                if widget is not None:
                    grid.addWidget(label_for(widget.accessibleName(), widget), row, 2 * column)
                    grid.addWidget(widget, row, 2 * column + 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.symbols)
        layout.addWidget(self.running_note)
        layout.addLayout(grid)
        layout.addWidget(self.s3_warning)
        layout.addWidget(self.messages)
        layout.addStretch(1)
        self._update_warning()

    # ----- public ---------------------------------------------------------------------------

    def field(self, key: str) -> ValidatedField:
        return self.fields[key]

    def set_running(self, running: bool) -> None:
        """While running only CALL_SIZE may change (it applies to the next order): every other field
        is locked (greyed out, not merely read-only) and a line says when they apply."""
        for field in self.fields.values():
            field.setReadOnly(running)
            field.setEnabled(not running)
        self.reference.setEnabled(not running)
        self.entry.setEnabled(not running)
        self.on_breach.setEnabled(not running)
        self.leverage.setEnabled(not running)  # set on the exchange at Start
        self.guard_mode.setEnabled(not running)
        self.symbols.set_running(running)
        self.running_note.setVisible(running)
        if not running:
            self._update_warning()  # MACD / centerline fields enabled by the reference again

    def base_settings(self) -> AppSettings:
        """The settings this panel does not edit (ui, alerts, paths...), as last loaded or chosen."""
        return self._base

    def set_base_sections(self, **sections) -> None:
        """Replace sections the panel does not edit (``ui=...``, ``alerts=...``) in what to_settings returns."""
        self._base = replace(self._base, **sections)

    def to_settings(self, mode: str) -> AppSettings:
        """The settings on screen, validated like the file; raises SettingsError with one sentence."""
        invalid = [field.message() for field in self.fields.values() if not field.is_valid()]
        if invalid:
            raise SettingsError(invalid[0])
        data = settings_to_dict(self._base)
        data["mode"] = mode
        for key, field in self.fields.items():
            _put(data, key, field.value())
        _put(data, "strategy.signal.reference", self.reference.currentData())
        _put(data, "strategy.signal.entry", self.entry.currentData())
        _put(data, ON_BREACH_KEY, self.on_breach.currentData())
        _put(data, LEVERAGE_KEY, self.leverage.value())
        _put(data, GUARD_KEY, self.guard_mode.currentData())
        old_symbols = data["symbols"]
        leverages = self.symbols.leverages()
        data["symbols"] = {}
        for name, size in self.symbols.sizes().items():
            entry = {key: value for key, value in old_symbols.get(name, {}).items() if key != "leverage"}
            entry["call_size"] = size
            if leverages.get(name) is not None:
                entry["leverage"] = leverages[name]
            data["symbols"][name] = entry
        return parse_settings(data)

    def warnings(self) -> list[str]:
        return [self.s3_warning.text()] if self.s3_warning.text() else []

    # ----- slots ----------------------------------------------------------------------------

    def _show_messages(self, _message: str = "") -> None:
        self.messages.setText("\n".join(f.message() for f in self.fields.values() if f.message()))

    def _update_warning(self, *_args) -> None:
        """[S3] Warn whenever the MACD reference has fast == slow (the line is identically 0)."""
        signal = SignalParams(
            reference=self.reference.currentData(),
            macd_fast=self.fields["strategy.signal.macd.fast"].value(),
            macd_slow=self.fields["strategy.signal.macd.slow"].value(),
        )
        warnings = signal.warnings()  # the rule lives in core; only its sentence is shown translated here
        text = self.tr("[S3] signal reference is MACD({fast},{slow}) with fast == slow: the MACD line is identically "
                       "zero, so the signal reads 'RSI > 0' — almost always up; the regime will practically never be "
                       "DOWN and hedges will practically never open. Use the RSI centerline reference (default) "
                       "unless you mean this.").format(fast=signal.macd_fast, slow=signal.macd_slow) if warnings else ""
        if text != self.s3_warning.text():
            self.s3_warning.setText(text)
            self.warnings_changed.emit(warnings)
        is_macd = signal.reference == "macd"
        self.fields["strategy.signal.centerline"].setEnabled(not is_macd)
        self.fields["strategy.signal.macd.fast"].setEnabled(is_macd)
        self.fields["strategy.signal.macd.slow"].setEnabled(is_macd)
