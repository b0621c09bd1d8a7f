"""Drive a HedgeStrategy over hand-made candles, the way the backtester does with ``fill: close``.

Every intent is executed at once through the real :class:`core.executor.OrderExecutor`
and :class:`core.sim_broker.SimulatedBroker` at the decision bar's close, fee 0 and
slippage 0 [B6], and the fill is handed back to the strategy. A test can also ask
for a bar's intents *without* filling them (``fill=False``) to play delayed,
partial or missing fills by hand.

Time is in ms UTC. ``T0`` is a daily close (00:00 UTC); bar ``k`` closes at
``T0 + k * 5 min``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core.executor import OrderExecutor
from core.model import FIVE_MINUTES_MS, ONE_DAY_MS, Action, BarClose, Fill, OrderIntent, Regime, Side, Signal
from core.params import ExitParams, SignalParams, StrategyParams
from core.sim_broker import SimulatedBroker
from core.strategy import HedgeStrategy

SYMBOL = "DOGEUSDT"
CALL_SIZE = 100.0
T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC, a daily close

UP, DOWN, NONE = Signal.UP, Signal.DOWN, Signal.NONE
OPEN, CLOSE = Action.OPEN, Action.CLOSE
E = 0.2  # entry price of the main in the scenarios below (DOGE-like)


def bar_time(k: int) -> int:
    """Close time of the k-th 5m bar after T0."""
    return T0 + k * FIVE_MINUTES_MS


def day_time(d: int) -> int:
    """Close time of the d-th daily candle after T0."""
    return T0 + d * ONE_DAY_MS


def brief(intents: list[OrderIntent]) -> list[tuple[Side, Action, float, str]]:
    """The parts of intents a rule test writes out: (side, action, qty, reason)."""
    return [(i.side, i.action, i.qty, i.reason) for i in intents]


def favour(regime: Regime, entry: float, pct: float) -> float:
    """A price ``pct`` percent in the main side's favour from ``entry`` (negative pct: against it)."""
    return entry * (1.0 + regime.main_side.direction * pct / 100.0)


def make_params(entry: str = "level", **exit_values: float) -> StrategyParams:
    return StrategyParams(signal=SignalParams(entry=entry), exit=ExitParams(**exit_values))


# Exit thresholds far away, so that a rule test sees only the rule it is about.
NO_EXITS = {"take_profit_pct": 1000.0, "max_hold_bars": 100_000, "trailing_activation_pct": 1000.0}


@dataclass
class Driver:
    """A strategy plus an immediate-fill broker, with a log of every intent and fill."""

    strategy: HedgeStrategy
    broker: SimulatedBroker = field(default_factory=lambda: SimulatedBroker(fee_pct=0.0, slippage_bps=0.0))
    intents: list[OrderIntent] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    prev_signal: Signal = Signal.NONE

    def __post_init__(self) -> None:
        self.executor = OrderExecutor(self.broker, sleep=lambda seconds: None)

    @classmethod
    def create(cls, params: StrategyParams | None = None, call_size: float = CALL_SIZE,
               regime: Regime | None = None) -> "Driver":
        """A fresh strategy; with ``regime`` the first daily close (at T0) sets it [G2]."""
        driver = cls(HedgeStrategy(SYMBOL, params or make_params(**NO_EXITS), call_size))
        if regime is not None:
            assert driver.strategy.on_daily_close(T0, regime.favourable_signal) == []
        return driver

    @property
    def state(self):
        return self.strategy.state

    def daily(self, day: int, signal: Signal, price: float | None = None, fill: bool = True) -> list[OrderIntent]:
        """Close daily candle ``day``; a G3 close fills at ``price`` (the 5m close of that instant)."""
        at = day_time(day)
        intents = self.strategy.on_daily_close(at, signal)
        if fill:
            self._execute(intents, price, at)
        self.intents += intents
        return intents

    def bar(self, k: int, close: float, signal: Signal, fill: bool = True,
            prev_signal: Signal | None = None, equity: float | None = None) -> list[OrderIntent]:
        """Close 5m bar ``k`` with ``close`` and ``signal``; fill every intent at ``close``.
        ``equity``: the account's equity marked at this close, for [L1, L2] (None = not known)."""
        prev = self.prev_signal if prev_signal is None else prev_signal
        intents = self.strategy.on_bar_close(BarClose(bar_time(k), close, signal, prev), equity)
        self.prev_signal = signal
        if fill:
            self._execute(intents, close, bar_time(k))
        self.intents += intents
        return intents

    def fill(self, intents: list[OrderIntent], price: float, at: int) -> None:
        """Fill intents returned earlier with ``fill=False`` (a delayed fill)."""
        self._execute(intents, price, at)

    def _execute(self, intents: list[OrderIntent], price: float | None, at: int) -> None:
        if not intents:
            return
        assert price is not None, "intents to fill need a price"
        self.broker.set_price(SYMBOL, price, at)
        for intent in intents:
            self.executor.execute(intent, price, on_fill=self._on_fill)
            self.strategy.finish_order(intent.client_id)

    def _on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)
        self.strategy.apply_fill(fill)

    def held(self, side: Side) -> tuple[float, float]:
        """(qty, entry price) held on ``side``."""
        position = self.strategy.position(side)
        return position.qty, position.entry_price


# ----- scenarios shared by the rule tests (regime-relative, so UP and DOWN share one body) ----------


@pytest.fixture(params=[Regime.UP, Regime.DOWN], ids=["UP", "DOWN"])
def regime(request) -> Regime:
    """Both regimes for a mirrored rule: import this fixture into a test module."""
    return request.param


@dataclass(frozen=True)
class Roles:
    """A regime's main/hedge sides and its favourable/adverse signals."""

    main: Side
    hedge: Side
    fav: Signal
    adv: Signal

    @classmethod
    def of(cls, regime: Regime) -> "Roles":
        return cls(regime.main_side, regime.main_side.opposite, regime.favourable_signal,
                   regime.favourable_signal.opposite)


def with_main(regime: Regime, params: StrategyParams | None = None) -> tuple[Driver, Roles]:
    """A driver whose main was opened by R2 on bar 1 and filled at E."""
    driver = Driver.create(params, regime=regime)
    roles = Roles.of(regime)
    assert brief(driver.bar(1, E, roles.fav)) == [(roles.main, OPEN, CALL_SIZE, "R2")]
    assert driver.held(roles.main) == (CALL_SIZE, E)
    return driver, roles


def with_main_and_hedge(regime: Regime, params: StrategyParams | None = None) -> tuple[Driver, Roles]:
    """Main at E (bar 1), hedged by R3 on bar 2 at 1 % against the main."""
    driver, roles = with_main(regime, params)
    hedge_price = favour(regime, E, -1.0)
    assert brief(driver.bar(2, hedge_price, roles.adv)) == [(roles.hedge, OPEN, CALL_SIZE, "R3")]
    assert driver.held(roles.hedge) == (CALL_SIZE, hedge_price)
    return driver, roles


def with_lone_hedge(regime: Regime) -> tuple[Driver, Roles]:
    """Main hedged at -1 %, then closed by R3's profit lock at +0.1 % on an adverse bar: the hedge is alone."""
    driver, roles = with_main_and_hedge(regime)
    assert brief(driver.bar(3, favour(regime, E, 0.1), roles.adv)) == [(roles.main, CLOSE, CALL_SIZE, "R3")]
    assert driver.held(roles.main) == (0.0, 0.0)
    assert driver.held(roles.hedge)[0] == CALL_SIZE
    return driver, roles
