"""Field-level validation for the settings widgets.

The rules are not repeated here: every field is checked with the same schema
function ``config.settings`` applies to settings.yaml, so the window and the
file accept exactly the same values and say the same sentence when refusing one.
"""
from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP

from config.settings import SCHEMA, SYMBOL_PATTERN, SYMBOL_SCHEMA, SettingsError

# Binance USDT-M futures' usual MIN_NOTIONAL (most symbols). The exchange's own value,
# when known from a connection, replaces it.
DEFAULT_MIN_NOTIONAL = 5.0


translate = QCoreApplication.translate  # translate("Validators", "...") is what lupdate collects


# The schema's sentences (config/settings.py builds them in English, without Qt), shown in the
# window's language: (pattern of the English sentence, its translatable form).
_SCHEMA_SENTENCES = (
    (re.compile(r"^(?P<key>.+) = (?P<value>.+) must be a number$"),
     QT_TRANSLATE_NOOP("Validators", "{key} = {value} must be a number")),
    (re.compile(r"^(?P<key>.+) = (?P<value>.+) must be a finite number$"),
     QT_TRANSLATE_NOOP("Validators", "{key} = {value} must be a finite number")),
    (re.compile(r"^(?P<key>.+) = (?P<value>.+) must be a whole number$"),
     QT_TRANSLATE_NOOP("Validators", "{key} = {value} must be a whole number")),
    (re.compile(r"^(?P<key>.+) = (?P<value>.+) must be >= (?P<bound>\S+)$"),
     QT_TRANSLATE_NOOP("Validators", "{key} = {value} must be >= {bound}")),
    (re.compile(r"^(?P<key>.+) = (?P<value>.+) must be > (?P<bound>\S+)$"),
     QT_TRANSLATE_NOOP("Validators", "{key} = {value} must be > {bound}")),
    (re.compile(r"^(?P<key>.+) = (?P<value>.+) must be <= (?P<bound>\S+)$"),
     QT_TRANSLATE_NOOP("Validators", "{key} = {value} must be <= {bound}")),
)


def localized(message: str) -> str:
    """A schema sentence in the window's language (unchanged when it is not one of the known forms)."""
    for pattern, text in _SCHEMA_SENTENCES:
        match = pattern.match(message)
        if match:
            return translate("Validators", text).format(**match.groupdict())
    return message


def parse_number_text(label: str, text: str) -> float:
    text = text.strip().replace(",", "")
    if not text:
        raise SettingsError(translate("Validators", "{label} is empty; enter a number").format(label=label))
    try:
        return float(text)
    except ValueError:
        raise SettingsError(translate("Validators", "{label} = {text} is not a number").format(
            label=label, text=repr(text))) from None


def _checked(check, label: str, value: Any) -> Any:
    try:
        return check(label, value)
    except SettingsError as exc:
        raise SettingsError(localized(str(exc))) from None


def check_setting(key: str, text: str, label: str | None = None) -> Any:
    """Parse ``text`` for the dotted settings ``key``; raise SettingsError with one sentence."""
    value = parse_number_text(label or key, text)
    return _checked(SCHEMA[key], label or key, value)


def check_call_size(symbol: str, text: str) -> float:
    label = f"{symbol} CALL_SIZE"
    return _checked(SYMBOL_SCHEMA["call_size"], label, parse_number_text(label, text))


def check_symbol_leverage(symbol: str, text: str) -> int | None:
    """A symbol's own leverage; empty: none (the default leverage applies)."""
    if not text.strip():
        return None
    label = translate("Validators", "{symbol} leverage").format(symbol=symbol)
    return int(_checked(SYMBOL_SCHEMA["leverage"], label, parse_number_text(label, text)))


def check_symbol(text: str, existing: set[str], known: set[str] | None = None) -> str:
    """A new symbol: upper-cased, a USDT-M name, not a duplicate, listed by the exchange when known."""
    symbol = text.strip().upper()
    if not SYMBOL_PATTERN.match(symbol):
        raise SettingsError(translate("Validators", "{symbol} is not a USDT-M futures symbol (expected e.g. "
                                                    "DOGEUSDT)").format(symbol=symbol or translate("Validators",
                                                                                                  "an empty name")))
    if symbol in existing:
        raise SettingsError(translate("Validators", "{symbol} is already in the list").format(symbol=symbol))
    if known and symbol not in known:
        raise SettingsError(translate("Validators", "{symbol} is not traded on the connected exchange").format(
            symbol=symbol))
    return symbol


def notional_warning(symbol: str, call_size: float, price: float | None, min_notional: float) -> str:
    """[O6] The text shown next to a CALL_SIZE whose notional is under the exchange minimum."""
    if price is None:
        return ""
    notional = call_size * price
    if notional < min_notional:
        text = translate("Validators", "{symbol}: {size} x {price} = {notional} USDT is under the exchange minimum "
                                       "of {minimum} USDT; orders would be refused")
        return text.format(symbol=symbol, size=f"{call_size:g}", price=f"{price:g}", notional=f"{notional:.2f}",
                           minimum=f"{min_notional:g}")
    return ""
