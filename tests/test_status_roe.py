"""ROE per open position in the status table (issue 20): Binance's figure, unrealised PnL /
initial margin (notional at the price / leverage), for the main and the hedge, computed by the
same function as the account strip's, so the strip, the table and the dialogs agree. A figure
that cannot be computed gives a placeholder, never an exception (live/status.py)."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from core.model import Regime, Side
from core.state import PositionState, SymbolState
from live.events import AccountUpdate, PositionRisk, SymbolRunState
from live.status import status_row
from ui.account_strip import AccountStrip
from ui.status_table import COLUMNS, StatusTable


def slot(price, leverage_told=None, long_qty=50.0, short_qty=50.0):
    state = SymbolState("ALGOUSDT", regime=Regime.DOWN)
    state.positions[Side.SHORT] = PositionState(qty=short_qty, entry_price=0.2000)  # the main (DOWN)
    state.positions[Side.LONG] = PositionState(qty=long_qty, entry_price=0.2100)  # the hedge
    return SimpleNamespace(symbol="ALGOUSDT", driver=SimpleNamespace(strategy=SimpleNamespace(state=state)),
                           strategy=SimpleNamespace(state=state), last_price=price, run_state=SymbolRunState.RUNNING,
                           detail="", leverage=leverage_told)


def test_the_row_carries_binance_roe_of_main_and_hedge():
    price = 0.2000 * 1.0717  # the ALGO example: 7.17 % against a 5x SHORT
    row = status_row(slot(price), {"ALGOUSDT": 50.0}, {"ALGOUSDT": 5})
    assert row.main_pnl_pct == pytest.approx(-7.17)  # the price move stays in the row
    margin = 50.0 * price / 5
    assert row.main_roe_pct == pytest.approx((0.2000 - price) * 50 / margin * 100)
    assert row.main_roe_pct == pytest.approx(-33.45, abs=0.01)  # what Binance shows, not -7.17
    assert row.hedge_roe_pct == pytest.approx((price - 0.2100) * 50 / margin * 100)


def test_the_leverage_the_exchange_told_wins_over_the_settings():
    price = 0.2000 * 1.0717
    told = status_row(slot(price, leverage_told=10), {"ALGOUSDT": 50.0}, {"ALGOUSDT": 5})
    settings = status_row(slot(price), {"ALGOUSDT": 50.0}, {"ALGOUSDT": 5})
    assert told.main_roe_pct == pytest.approx(2 * settings.main_roe_pct)


@pytest.mark.parametrize("price", [None, float("nan"), 0.0])
def test_no_usable_price_or_leverage_gives_no_roe_and_no_exception(price):
    row = status_row(slot(price), {"ALGOUSDT": 50.0}, {"ALGOUSDT": 5})
    assert row.main_roe_pct is None or math.isfinite(row.main_roe_pct)
    assert row.main_roe_pct is None and row.hedge_roe_pct is None
    assert status_row(slot(0.21), {"ALGOUSDT": 50.0}).main_roe_pct is None  # leverage unknown: never a guess


def test_a_broken_state_gives_a_placeholder_row():
    broken = SimpleNamespace(symbol="ALGOUSDT", driver=object(), last_price=0.2, run_state=SymbolRunState.RUNNING,
                             detail="", leverage=None)
    row = status_row(broken, {"ALGOUSDT": 50.0}, {"ALGOUSDT": 5})
    assert row.symbol == "ALGOUSDT" and row.main_roe_pct is None and row.main_qty == 0.0


def test_table_and_strip_show_the_same_roe_for_the_same_position(qtbot):
    price = 0.2000 * 1.0717
    row = status_row(slot(price, long_qty=0.0), {"ALGOUSDT": 50.0}, {"ALGOUSDT": 5})
    table, strip = StatusTable(), AccountStrip()
    qtbot.addWidget(table)
    qtbot.addWidget(strip)
    table.update_row(row)
    risk = PositionRisk("ALGOUSDT", "SHORT", 50.0, 0.2000, price, (0.2000 - price) * 50, 0.239, leverage=5)
    strip.update_account(AccountUpdate(0, 1000.0, 999.0, risk.unrealized_pnl, 0.0, 0.0, 3.0, (risk,)))
    shown = table.item(0, COLUMNS.index("ROE %")).text()
    assert shown == "-33.45 %" and f"ROE {shown}" in strip.positions.text()
    assert "-7.17 %" in table.item(0, COLUMNS.index("ROE %")).toolTip()  # the price move beside it
    assert table.item(0, COLUMNS.index("Hedge ROE %")).text() == ""  # no hedge held: empty, not 0


def test_a_position_at_its_entry_shows_zero_not_minus_zero():
    # the screenshot's "ALGOUSDT SHORT 50 @ 0.3413, mark 0.3413: ROE -0.00 % (price -0.00 %)"
    from ui.formatting import money, percent

    at_entry = PositionRisk("ALGOUSDT", "SHORT", 50.0, 0.3413, 0.3413, -0.0, 0.4075, leverage=5)
    assert percent(at_entry.roe_pct) == "+0.00 %" and percent(at_entry.move_pct) == "+0.00 %"
    assert percent(-1e-17) == "+0.00 %" and percent(-0.006) == "-0.01 %"
    assert money(-1e-9, signed=True) == "+0.0000 USDT" and money(-0.5, signed=True) == "-0.5000 USDT"


# ----- the paper strip follows every close, so its figures and the table's are of the same moment ------

from core.model import Candle  # noqa: E402
from core.ports import AccountSnapshot  # noqa: E402
from live.cockpit import ACCOUNT_AFTER_FILL_S, LOCAL_ACCOUNT_S, CockpitReporter  # noqa: E402


class _Broker:
    def __init__(self, paper: bool):
        if paper:
            self.set_price = lambda symbol, price: None  # what makes a broker simulated (cockpit._is_local)
        self.asked = 0

    def account_snapshot(self, symbols, marks):
        self.asked += 1
        return AccountSnapshot(1000.0, 0.0, 1000.0, 0.0)


def _reporter(paper: bool, now: list[float]):
    service = SimpleNamespace(feed=object(), slots={}, broker=_Broker(paper), clock=lambda: 0, leverage={})
    events: list = []
    reporter = CockpitReporter(service, events.append, monotonic=lambda: now[0], account_every_s=5.0)
    return reporter, service.broker, events


@pytest.mark.parametrize("paper", [True, False])
def test_a_close_asks_for_the_account_at_once_in_paper_mode_only(paper):
    now = [100.0]
    reporter, broker, events = _reporter(paper, now)
    reporter.tick()  # the first refresh
    if not paper:
        reporter._account_thread.join(5)
    asked = broker.asked
    now[0] += LOCAL_ACCOUNT_S
    reporter.on_bar("DOGEUSDT", Candle(0, 1, 1, 1, 1, 1, 300_000), "UP")
    reporter.tick()
    if not paper:
        reporter._account_thread.join(5)  # an exchange is asked in a worker thread
    assert broker.asked == asked + (1 if paper else 0)  # an exchange waits for its 5 s (or a fill)
    assert LOCAL_ACCOUNT_S < ACCOUNT_AFTER_FILL_S
