"""Labels tied to their fields, tooltips and accessible names for every input.

A screen reader announces a field by its accessible name and reads its label
through the buddy link; a mouse user gets the same explanation as a tooltip.
Both texts are passed in already translated (``self.tr(...)`` at the call site,
so ``lupdate`` finds them in the panel's own context).
"""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget


def describe(widget: QWidget, name: str, tip: str) -> QWidget:
    """Give ``widget`` an accessible name and a tooltip (a ValidatedField keeps the tip under its messages)."""
    widget.setAccessibleName(name)
    widget.setAccessibleDescription(tip)
    if hasattr(widget, "help_text"):
        widget.help_text = tip
    widget.setToolTip(tip)
    return widget


def label_for(text: str, buddy: QWidget) -> QLabel:
    """A label bound to ``buddy`` (QLabel.setBuddy): clicking it or its mnemonic focuses the field."""
    label = QLabel(text)
    label.setBuddy(buddy)
    return label
