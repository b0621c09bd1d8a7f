"""Text helpers shared by the table, the account strip, the heartbeat, the log pane and the charts.

Numbers never print in exponent form: a price gets the decimals of the symbol's
tick size, a quantity those of its step size, money two decimals (four under
one USDT) with its unit; all with thousands separators ("97,123.4",
"1,234,567", "0.00001234").
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from decimal import Decimal

PROFIT_COLOR = "#1b7f2a"
LOSS_COLOR = "#c62828"
MAX_DECIMALS = 8


def utc_text(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def decimals_of(increment: float | Decimal | None) -> int | None:
    """Decimals of a tick or step size (0.00001 -> 5, 1 -> 0); None when unknown (0 or None)."""
    if not increment:
        return None
    exponent = Decimal(str(increment)).normalize().as_tuple().exponent
    return min(MAX_DECIMALS, max(0, -int(exponent)))


def price_decimals(prices) -> int:
    """The decimals a symbol's prices are written with, read from the prices themselves
    (exchange prices are multiples of the tick size: 0.08081 -> 5), when the tick size is unknown."""
    most = 0
    for value in prices:
        if value and math.isfinite(value):
            # the fewest decimals that write it, float noise aside (0.0805 + 0.0001 -> 4, not 8)
            most = max(most, next((d for d in range(MAX_DECIMALS) if abs(value - round(value, d)) <=
                                   1e-9 * max(1.0, abs(value)) * 10 ** -d), MAX_DECIMALS))
    return most


def _grouped(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def _plain(value: float) -> str:
    """Up to 8 decimals, trailing zeros dropped, no exponent."""
    text = _grouped(value, MAX_DECIMALS)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def significant_decimals(value: float, digits: int = 6) -> int:
    """Decimals that keep ``digits`` significant digits (a price with no known tick size)."""
    if value == 0 or not math.isfinite(value):
        return 2
    return min(MAX_DECIMALS, max(0, digits - 1 - math.floor(math.log10(abs(value)))))


def price(value: float | None, tick: float | Decimal | None = None) -> str:
    """A price with the tick size's decimals, e.g. 97,123.40 or 0.06930."""
    if value is None:
        return ""
    decimals = decimals_of(tick)
    if decimals is None:  # no tick size known: six significant digits, trailing zeros dropped
        text = _grouped(value, significant_decimals(value))
        return text.rstrip("0").rstrip(".") if "." in text else text
    return _grouped(value, decimals)


def quantity(value: float | None, step: float | Decimal | None = None) -> str:
    """A quantity with the step size's decimals, e.g. 1,234,567 or 0.001."""
    if value is None:
        return ""
    decimals = decimals_of(step)
    return _plain(value) if decimals is None else _grouped(value, decimals)


def money(value: float | None, unit: str = "USDT", signed: bool = False) -> str:
    """USDT amounts: two decimals (four under 1), thousands separators, the unit."""
    if value is None:
        return ""
    decimals = 2 if abs(value) >= 1 or value == 0 else 4
    value = round(value, decimals) + 0.0  # never '-0.0000 USDT'
    text = f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"
    return f"{text} {unit}" if unit else text


def percent(value: float | None, signed: bool = True) -> str:
    """'+1.25 %'; a value that rounds to zero is '+0.00 %', never '-0.00 %' (a position at its entry
    price, a float's -1e-17, must not look like a loss)."""
    if value is None:
        return ""
    value = round(value, 2) + 0.0  # -0.0 + 0.0 is 0.0
    return f"{value:+,.2f} %" if signed else f"{value:,.2f} %"


def count(value: int) -> str:
    return f"{value:,}"


def number(value: float | None, digits: int = 6) -> str:
    """A plain number with ``digits`` significant digits, grouped, never in exponent form."""
    return "" if value is None else _grouped(value, significant_decimals(value, digits))


def signed(value: float | None, suffix: str = "", decimals: int = 4) -> str:
    return "" if value is None else f"{value:+,.{decimals}f}{suffix}"


def duration(ms: int) -> str:
    """A countdown: 02:31 or 13:02:31."""
    seconds = max(0, int(ms // 1000))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours:d}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def pnl_color(value: float | None) -> str | None:
    if value is None or value == 0:
        return None
    return PROFIT_COLOR if value > 0 else LOSS_COLOR
