"""Small text helpers shared by the table, the log pane and the charts."""
from __future__ import annotations

from datetime import datetime, timezone

PROFIT_COLOR = "#1b7f2a"
LOSS_COLOR = "#c62828"


def utc_text(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def number(value: float | None, digits: int = 6) -> str:
    return "" if value is None else f"{value:.{digits}g}"


def signed(value: float | None, suffix: str = "", decimals: int = 4) -> str:
    return "" if value is None else f"{value:+.{decimals}f}{suffix}"


def pnl_color(value: float | None) -> str | None:
    if value is None or value == 0:
        return None
    return PROFIT_COLOR if value > 0 else LOSS_COLOR
