"""A line edit that refuses invalid input at the field, with the reason shown.

While the text is invalid the field turns red and ``message`` says why; when
editing ends on an invalid text the field goes back to its last valid value,
so the value the program uses is always one the settings schema accepts.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLineEdit

from config.settings import SettingsError

INVALID_STYLE = "QLineEdit { background: #ffd6d6; }"


class ValidatedField(QLineEdit):
    """``check(text) -> value`` raises SettingsError with the sentence to show."""

    value_changed = Signal(object)  # a new valid value
    message_changed = Signal(str)  # "" when valid

    def __init__(self, check: Callable[[str], Any], value: Any, parent=None):
        super().__init__(parent)
        self._check = check
        self._value = value
        self._message = ""
        self.help_text = ""  # the field's tooltip when no message is shown (ui.accessibility.describe)
        self.setText(_format(value))
        self.textChanged.connect(self._on_edited)  # any change (typing, undo, paste) re-checks: no stale message
        self.editingFinished.connect(self._on_finished)

    def value(self) -> Any:
        return self._value

    def message(self) -> str:
        return self._message

    def set_value(self, value: Any) -> None:
        self._value = value
        self.setText(_format(value))
        self._set_message("", invalid=False)

    def _on_edited(self, text: str) -> None:
        try:
            self._check(text)
        except SettingsError as exc:
            self._set_message(str(exc), invalid=True)
        else:
            self._set_message("", invalid=False)

    def _on_finished(self) -> None:
        try:
            value = self._check(self.text())
        except SettingsError as exc:
            self.setText(_format(self._value))  # refused: keep the last valid value
            kept = self.tr("{problem}; kept {value}").format(problem=exc, value=_format(self._value))
            self._set_message(kept, invalid=False)
            return
        self._set_message("", invalid=False)
        if value != self._value:
            self._value = value
            self.value_changed.emit(value)

    def is_valid(self) -> bool:
        """False while the text on screen is not the value in use (being edited, invalid)."""
        return self.styleSheet() != INVALID_STYLE

    def _set_message(self, message: str, invalid: bool) -> None:
        self.setStyleSheet(INVALID_STYLE if invalid else "")
        self.setToolTip(f"{message}\n\n{self.help_text}" if message and self.help_text else message or self.help_text)
        if message != self._message:
            self._message = message
            self.message_changed.emit(message)


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
