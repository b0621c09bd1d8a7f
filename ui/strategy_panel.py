"""Strategy settings: symbols and sizes, signal [S1-S4], leverage and exits [X1-X3].

Every number is a :class:`ValidatedField` checked by the settings schema, so
the window accepts exactly what settings.yaml accepts. ``to_settings`` builds a
validated :class:`AppSettings` (cross-field rules too, e.g. MACD fast <= slow).
"""
from __future__ import annotations

from functools import partial

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QGroupBox, QLabel, QVBoxLayout

from config.settings import AppSettings, SettingsError, parse_settings, settings_to_dict
from core.params import ENTRY_MODES, REFERENCES, SignalParams
from ui.fields import ValidatedField
from ui.symbols_editor import SymbolsEditor
from ui.validators import check_setting

# dotted settings key -> label shown in the window
NUMBER_FIELDS: dict[str, str] = {
    "strategy.rsi_length": "RSI length",
    "strategy.signal.centerline": "Centerline",
    "strategy.signal.macd.fast": "MACD fast",
    "strategy.signal.macd.slow": "MACD slow",
    "exchange.leverage": "Leverage (x)",
    "strategy.exit.take_profit_pct": "Take profit %",
    "strategy.exit.trailing_pct": "Trailing %",
    "strategy.exit.trailing_activation_pct": "Trailing activation %",
    "strategy.exit.max_hold_bars": "Max hold (5m bars)",
}
REFERENCE_LABELS = {"centerline": "RSI centerline", "macd": "MACD line"}


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
        super().__init__("Strategy", parent)
        self._base = settings
        data = settings_to_dict(settings)

        self.symbols = SymbolsEditor()
        self.symbols.call_size_changed.connect(self.call_size_changed)
        self.symbols.set_sizes({name: sym.call_size for name, sym in settings.symbols.items()})

        self.fields: dict[str, ValidatedField] = {}
        for key, label in NUMBER_FIELDS.items():
            field = ValidatedField(partial(check_setting, key, label=label), _get(data, key))
            field.setObjectName(key)
            field.message_changed.connect(self._show_messages)
            field.value_changed.connect(self._update_warning)
            self.fields[key] = field

        self.reference = QComboBox()
        for name in REFERENCES:
            self.reference.addItem(REFERENCE_LABELS[name], name)
        self.reference.setCurrentIndex(REFERENCES.index(settings.strategy.signal.reference))
        self.reference.currentIndexChanged.connect(self._update_warning)
        self.entry = QComboBox()
        for name in ENTRY_MODES:
            self.entry.addItem(name, name)
        self.entry.setCurrentIndex(ENTRY_MODES.index(settings.strategy.signal.entry))
        self.entry.setToolTip("[S4] level: any bar with an up signal may open; cross: only the bar where it turns up")

        self.messages = QLabel()
        self.messages.setWordWrap(True)
        self.messages.setStyleSheet("color: #b00020;")
        self.s3_warning = QLabel()
        self.s3_warning.setWordWrap(True)
        self.s3_warning.setStyleSheet("color: #8a5a00; font-weight: bold;")

        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(3)
        rows = [
            ("Signal reference", self.reference, NUMBER_FIELDS["strategy.rsi_length"], self.fields["strategy.rsi_length"]),
            ("Centerline", self.fields["strategy.signal.centerline"], "Entry mode", self.entry),
            ("MACD fast", self.fields["strategy.signal.macd.fast"], "MACD slow", self.fields["strategy.signal.macd.slow"]),
            ("Leverage (x)", self.fields["exchange.leverage"], "Take profit %", self.fields["strategy.exit.take_profit_pct"]),
            ("Trailing %", self.fields["strategy.exit.trailing_pct"], "Activation %", self.fields["strategy.exit.trailing_activation_pct"]),
            ("Max hold (5m bars)", self.fields["strategy.exit.max_hold_bars"], None, None),
        ]
        for row, (label_a, widget_a, label_b, widget_b) in enumerate(rows):
            grid.addWidget(QLabel(label_a), row, 0)
            grid.addWidget(widget_a, row, 1)
            if widget_b is not None:
                grid.addWidget(QLabel(label_b), row, 2)
                grid.addWidget(widget_b, row, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.symbols)
        layout.addLayout(grid)
        layout.addWidget(self.s3_warning)
        layout.addWidget(self.messages)
        layout.addStretch(1)
        self._update_warning()

    # ----- public ---------------------------------------------------------------------------

    def field(self, key: str) -> ValidatedField:
        return self.fields[key]

    def set_running(self, running: bool) -> None:
        """While running only CALL_SIZE may change (it applies to the next order)."""
        for field in self.fields.values():
            field.setReadOnly(running)
        self.reference.setEnabled(not running)
        self.entry.setEnabled(not running)
        self.symbols.set_running(running)

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
        old_symbols = data["symbols"]
        data["symbols"] = {name: {**old_symbols.get(name, {}), "call_size": size}
                           for name, size in self.symbols.sizes().items()}
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
        warnings = signal.warnings()
        text = warnings[0] if warnings else ""
        if text != self.s3_warning.text():
            self.s3_warning.setText(text)
            self.warnings_changed.emit(warnings)
        is_macd = signal.reference == "macd"
        self.fields["strategy.signal.centerline"].setEnabled(not is_macd)
        self.fields["strategy.signal.macd.fast"].setEnabled(is_macd)
        self.fields["strategy.signal.macd.slow"].setEnabled(is_macd)
