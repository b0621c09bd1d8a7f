"""Field-level validation for the settings widgets.

The rules are not repeated here: every field is checked with the same schema
function ``config.settings`` applies to settings.yaml, so the window and the
file accept exactly the same values and say the same sentence when refusing one.
"""
from __future__ import annotations

from typing import Any

from config.settings import SCHEMA, SYMBOL_PATTERN, SYMBOL_SCHEMA, SettingsError

# Binance USDT-M futures' usual MIN_NOTIONAL (most symbols). The exchange's own value,
# when known from a connection, replaces it.
DEFAULT_MIN_NOTIONAL = 5.0


def parse_number_text(label: str, text: str) -> float:
    text = text.strip().replace(",", "")
    if not text:
        raise SettingsError(f"{label} is empty; enter a number")
    try:
        return float(text)
    except ValueError:
        raise SettingsError(f"{label} = {text!r} is not a number") from None


def check_setting(key: str, text: str, label: str | None = None) -> Any:
    """Parse ``text`` for the dotted settings ``key``; raise SettingsError with one sentence."""
    check = SCHEMA[key]
    value = parse_number_text(label or key, text)
    return check(label or key, value)


def check_call_size(symbol: str, text: str) -> float:
    return SYMBOL_SCHEMA["call_size"](f"{symbol} CALL_SIZE", parse_number_text(f"{symbol} CALL_SIZE", text))


def check_symbol(text: str, existing: set[str], known: set[str] | None = None) -> str:
    """A new symbol: upper-cased, a USDT-M name, not a duplicate, listed by the exchange when known."""
    symbol = text.strip().upper()
    if not SYMBOL_PATTERN.match(symbol):
        raise SettingsError(f"{symbol or 'an empty name'} is not a USDT-M futures symbol (expected e.g. DOGEUSDT)")
    if symbol in existing:
        raise SettingsError(f"{symbol} is already in the list")
    if known and symbol not in known:
        raise SettingsError(f"{symbol} is not traded on the connected exchange")
    return symbol


def notional_warning(symbol: str, call_size: float, price: float | None, min_notional: float) -> str:
    """[O6] The text shown next to a CALL_SIZE whose notional is under the exchange minimum."""
    if price is None:
        return ""
    notional = call_size * price
    if notional < min_notional:
        return (f"{symbol}: {call_size:g} x {price:g} = {notional:.2f} USDT is under the exchange minimum "
                f"of {min_notional:g} USDT; orders would be refused")
    return ""
