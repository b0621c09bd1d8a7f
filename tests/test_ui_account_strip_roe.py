"""The account strip's figures of issue 20: realised today after fees, funding today, and per
position the mark, ROE as Binance shows it beside the price move, and the distance to liquidation."""
from __future__ import annotations

import pytest

from live.events import AccountUpdate, PositionRisk
from ui.account_strip import AccountStrip


def algo_short() -> PositionRisk:
    # The example: ALGO moved 7.17 % against a 5x position; Binance shows about -36 %.
    entry, mark, qty = 0.2000, 0.2000 * 1.0717, 50.0
    return PositionRisk("ALGOUSDT", "SHORT", qty, entry, mark, (entry - mark) * qty, 0.2390, leverage=5)


def test_roe_is_unrealised_pnl_over_initial_margin_beside_the_price_move():
    position = algo_short()
    assert position.move_pct == pytest.approx(-7.17)
    margin = position.qty * position.mark_price / 5
    assert position.roe_pct == pytest.approx(position.unrealized_pnl / margin * 100)
    assert position.roe_pct == pytest.approx(-33.45, abs=0.01)  # Binance: ROE = uPnL / (qty * mark * IMR), IMR = 1/leverage (How to Calculate PnL for Futures, Binance Support)
    assert position.liquidation_distance_pct == pytest.approx((0.2390 - position.mark_price) / position.mark_price * 100)
    assert PositionRisk("X", "LONG", 1, 1, 1, 0, None).roe_pct is None  # leverage unknown: no ROE, never a guess


def test_strip_shows_realised_after_fees_funding_and_roe(qtbot):
    strip = AccountStrip()
    qtbot.addWidget(strip)
    strip.set_format("ALGOUSDT", 0.0001, 1)
    # the day: +0.413 realised beside 0.658 of fees is a loss of 0.245 after fees
    strip.update_account(AccountUpdate(0, 1000.0, 999.0, -0.72, 0.413, 0.658, 3.0, (algo_short(),),
                                       funding_today=-0.0123))
    assert strip.text_of("realized_today") == "-0.2450 USDT"
    assert strip.text_of("funding_today") == "-0.0123 USDT"
    text = strip.positions.text()
    assert "ROE -33.45 %" in text and "price -7.17 %" in text and "mark 0.2143" in text
    assert "liquidation 0.2390 (11.51 %)" in text


def test_the_strip_drops_a_side_the_status_table_already_shows_closed(qtbot):
    from live.events import StatusRow, SymbolRunState

    strip = AccountStrip()
    qtbot.addWidget(strip)
    long = PositionRisk("DOGEUSDT", "LONG", 100, 0.07, 0.071, 0.1, 0.05, leverage=5)
    short = PositionRisk("DOGEUSDT", "SHORT", 100, 0.072, 0.071, 0.1, 0.09, leverage=5)
    strip.update_account(AccountUpdate(0, 1000.0, 1000.2, 0.2, 0.0, 0.0, 1.0, (long, short, algo_short())))
    # the hedge (SHORT) was closed: the table's row holds only the main
    row = StatusRow("DOGEUSDT", "UP", SymbolRunState.RUNNING, "", 0.071, "LONG", 100, 0.07, 0.1, 1.4, None, 0.0,
                    None, None, 100)
    strip.agree_with(row)
    assert [(p.symbol, p.side) for p in strip.latest.positions] == [("DOGEUSDT", "LONG"), ("ALGOUSDT", "SHORT")]
    assert "DOGEUSDT SHORT" not in strip.positions.text() and "DOGEUSDT LONG" in strip.positions.text()
