"""Strategy parameters: the numbers of SPEC sections 2, 3 and 6 as one immutable record.

Validation of the settings *file* lives in ``config.settings``; this module only
holds the values and the cheap invariants the strategy itself relies on.
"""
from __future__ import annotations

from dataclasses import dataclass

REFERENCES = ("centerline", "macd")
ENTRY_MODES = ("level", "cross")


@dataclass(frozen=True)
class SignalParams:
    """How a timeframe's signal is computed [S1-S4]."""

    rsi_length: int = 2
    reference: str = "centerline"
    centerline: float = 50.0
    macd_fast: int = 1
    macd_slow: int = 1
    macd_signal: int = 1  # kept for the document's MACD(1,1,1); the line itself does not use it
    entry: str = "level"

    @property
    def macd_is_identically_zero(self) -> bool:
        """[S3] MACD line(f, f) = EMA(f) - EMA(f) == 0 for every candle."""
        return self.reference == "macd" and self.macd_fast == self.macd_slow

    def warnings(self) -> list[str]:
        """Messages the user must see about these settings [S3]."""
        if self.macd_is_identically_zero:
            return [
                f"[S3] signal reference is MACD({self.macd_fast},{self.macd_slow}) with fast == slow: "
                "the MACD line is identically zero, so the signal reads 'RSI > 0' — almost always up; "
                "the regime will practically never be DOWN and hedges will practically never open. "
                "Use the RSI centerline reference (default) unless you mean this."
            ]
        return []


@dataclass(frozen=True)
class ExitParams:
    """exit_rule_hit thresholds [X1-X3]; percentages are in percent (1.0 = 1 %)."""

    take_profit_pct: float = 1.0
    max_hold_bars: int = 24
    trailing_pct: float = 0.5
    trailing_activation_pct: float = 0.5


ON_BREACH_CHOICES = ("stop_entries", "flatten")  # as core.decide.ON_BREACH_CHOICES


@dataclass(frozen=True)
class ProtectParams:
    """[L1-L5] Loss limits and protections against fee drag; 0 = off (the defaults change nothing).

    ``on_breach``: what a breach of [L1] or [L2] does for the rest of the UTC day:
    ``stop_entries`` (no new main; positions held are still managed, hedges allowed) or
    ``flatten`` (close everything at that close, then no new main)."""

    cooldown_bars: int = 0
    max_entries_per_day: int = 0
    max_daily_loss_usdt: float = 0.0  # [L1]
    max_daily_loss_pct: float = 0.0  # [L1] percent of the UTC day's starting equity
    max_drawdown_pct: float = 0.0  # [L2] percent below the peak equity
    max_symbol_notional: float = 0.0  # [L3] USDT, both sides of one symbol
    max_total_notional: float = 0.0  # [L3] USDT, all symbols (in a backtest: the symbol's, see RULES.md)
    on_breach: str = "stop_entries"

    @property
    def on_breach_code(self) -> int:
        """core.decide.ON_BREACH_STOP_ENTRIES / ON_BREACH_FLATTEN."""
        return ON_BREACH_CHOICES.index(self.on_breach)


GUARD_MODES = ("off", "hedge", "stop")  # as core.decide.GUARD_MODES (index = code)


@dataclass(frozen=True)
class GuardParams:
    """[E1] The guard held on the exchange, as the backtest models it.

    The settings keep it under ``exchange.guard_mode`` / ``exchange.guard_distance_pct`` (live
    places it there); ``config.settings.parse_settings`` copies both here so the backtest, the
    kernel and the optimizer read it with the strategy. The default of this record is ``off``
    so that ``StrategyParams()`` backtests as before the guard was modelled; the settings'
    default is ``config.settings.ExchangeSettings``'."""

    mode: str = "off"
    distance_pct: float = 5.0

    @property
    def mode_code(self) -> int:
        """core.decide.GUARD_OFF / GUARD_HEDGE / GUARD_STOP."""
        return GUARD_MODES.index(self.mode)


@dataclass(frozen=True)
class StrategyParams:
    signal: SignalParams = SignalParams()
    exit: ExitParams = ExitParams()
    protect: ProtectParams = ProtectParams()
    guard: GuardParams = GuardParams()
