"""Funding payments and liquidations reach the ledger and the account strip's "today" figures as
they happen (issue 20), not only through the start-up import, and each counts once when the
import brings it again after a restart. On the project's fake exchange: a funding payment
(ACCOUNT_UPDATE ``m`` FUNDING_FEE, cross: only ``B``) and a liquidation (ORDER_TRADE_UPDATE of an
``autoclose-`` LIQUIDATION order, ``x`` CALCULATED)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.binance_history import BinanceHistory
from core.ports import ForcedClose
from live.assemble import open_ledger
from live.events import AccountUpdate
from live.ledger import Ledger
from live.ledger_import import HistoryImporter
from tests.fake_binance.fixtures import fake, fake_server  # noqa: F401
from tests.test_ledger_import import fake_account, ledger_account, to_cent
from tests.test_runner_money_safety import BAR, IDLE, SYMBOL, Bot, wait_until

LEDGER = "ledgers/ledger.sqlite"


@pytest.fixture(autouse=True)
def _settled(request):
    yield
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake_server").settle()


def _bot(fake, tmp_path, script) -> Bot:
    bot = Bot(fake, tmp_path, [], user_stream=True)
    open_ledger(bot.service, tmp_path / LEDGER, BinanceHistory(bot.adapter), lambda: fake.now_ms,
                {SYMBOL: 5})
    bot.feed.script.extend([lambda: wait_until(bot.user_stream.connected.is_set), *script])
    return bot


def _strip(bot: Bot) -> list:
    """Script steps: the account strip's figures now (the service thread asks the exchange, as the
    cockpit's refresh does), after the stream's records so far were handled (one idle turn)."""
    return [IDLE, lambda: bot.service.cockpit._fetch_account([SYMBOL], {})]


def _queued_forced_close(bot: Bot) -> bool:
    return any(isinstance(record, ForcedClose) for record in list(bot.user_stream._queue.queue))


def test_funding_and_a_liquidation_reach_the_strip_live_and_count_once_after_the_import(fake, tmp_path):
    funding: list[Decimal] = []

    def pay() -> None:
        funding.append(fake.pay_funding(SYMBOL, "0.0003"))
        wait_until(lambda: not bot.user_stream._account_events.empty())

    def liquidate() -> None:
        fake.step(candles=3)  # the market moves away from the entry: the liquidation realises a loss or gain
        fake.liquidate(SYMBOL, "LONG")
        wait_until(lambda: _queued_forced_close(bot))

    bot = _bot(fake, tmp_path, [])
    bot.feed.script.extend([BAR] * 6 + _strip(bot) + [pay, BAR, liquidate, BAR] + _strip(bot))
    bot.run()
    assert funding and funding[0] != 0, "the bot held a position when funding was paid"
    updates = [e for e in bot.events if isinstance(e, AccountUpdate)]
    before, after = updates[0], updates[-1]
    assert before.funding_today == 0.0
    assert after.funding_today == pytest.approx(float(funding[0]), abs=1e-9)  # live, before any import
    with Ledger(tmp_path / LEDGER) as ledger:
        [forced] = [f for f in ledger.fills() if f.source == "stream"]
        streamed_fee = ledger.db.execute("SELECT amount FROM fees_other WHERE key LIKE 'stream:%'").fetchall()
        assert [p.amount for p in ledger.funding_payments()] == [funding[0]]
    assert forced.reason == "liquidation" and forced.trade_id is not None and forced.realized_pnl != 0
    # the liquidation's result and its clearance fee are in the day's figures as they happened, beside
    # what the bot's own fills made (the cockpit's day totals)
    own_realized, own_fees = (sum(day[i] for day in bot.service.cockpit._day_totals.values()) for i in (0, 1))
    assert len(streamed_fee) == 1 and Decimal(streamed_fee[0][0]) < 0
    assert after.realized_today == pytest.approx(own_realized + float(forced.realized_pnl), abs=1e-9)
    assert after.fees_today == pytest.approx(own_fees - float(Decimal(streamed_fee[0][0])), abs=1e-9)
    assert before.realized_today == pytest.approx(own_realized, abs=1e-9)  # no bot close after the first snapshot

    second = _bot(fake, tmp_path, [BAR])  # the restart: the import brings the same funding and liquidation
    second.feed.script.extend(_strip(second))
    second.run()
    with Ledger(tmp_path / LEDGER) as ledger:
        keys = [row[0] for row in ledger.db.execute("SELECT key FROM funding")]
        assert len(keys) == 1 and keys[0].startswith("FUNDING_FEE:"), "the income row replaced the streamed one"
        fees = ledger.db.execute("SELECT key, amount FROM fees_other").fetchall()
        assert len(fees) == 1 and fees[0][0].startswith("INSURANCE_CLEAR:") and fees[0][1] == streamed_fee[0][0]
        assert len([f for f in ledger.fills() if f.trade_id == forced.trade_id]) == 1
        assert to_cent(ledger_account(ledger)) == to_cent(fake_account(fake))
        again = HistoryImporter(BinanceHistory(second.adapter), ledger, [SYMBOL]).run(fake.now_ms)
        assert again.trades_added == 0 and again.income_added == 0
    restarted = [e for e in second.events if isinstance(e, AccountUpdate)][-1]
    assert restarted.funding_today == pytest.approx(float(funding[0]), abs=1e-9)  # once, not twice


# ----- the pieces: the stream's frames, and the ledger's dedupe in either order --------------------------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from adapters.binance_user_stream import parse_user_event  # noqa: E402
from core.ports import FundingFee  # noqa: E402

RECORDED = Path(__file__).parent / "data" / "binance-real" / "ws"
T = 1_764_835_200_000  # 2025-12-04 08:00 UTC, a funding time


def _funding_frame(positions: list) -> str:
    return json.dumps({"e": "ACCOUNT_UPDATE", "E": T + 3, "T": T + 1, "a": {
        "m": "FUNDING_FEE", "B": [{"a": "USDT", "wb": "1000.1", "cw": "1000.1", "bc": "-0.02250000"}],
        "P": positions}})


def test_a_funding_frame_gives_the_payment_with_its_symbol_when_isolated():
    # cross: "only the balance B ..., without any position P message" (Binance, Event: Balance and Position Update)
    assert parse_user_event(_funding_frame([])) == [FundingFee("", "USDT", Decimal("-0.0225"), T + 1,
                                                               Decimal("1000.1"))]
    isolated = {"s": "DOGEUSDT", "pa": "100", "ep": "0.3", "bep": "0.3", "cr": "0", "up": "0", "mt": "isolated",
                "iw": "6", "ps": "LONG"}
    records = parse_user_event(_funding_frame([isolated]))
    assert FundingFee("DOGEUSDT", "USDT", Decimal("-0.0225"), T + 1, Decimal("1000.1")) in records


def test_the_recorded_liquidation_frame_carries_its_trade_id_result_and_fee():
    [forced] = parse_user_event((RECORDED / "ws_futures_order_update_liquidation__nautilus.json").read_text())
    assert (forced.kind, forced.trade_id, forced.realized_pnl, forced.commission, forced.commission_asset) == (
        "liquidation", 1122334455, Decimal("-100.00"), Decimal("5.00000000"), "USDT")


def _income(symbol: str, amount: str, tran_id: int, time: int = T, kind: str = "FUNDING_FEE", trade_id: str = "") -> dict:
    return {"symbol": symbol, "incomeType": kind, "income": amount, "asset": "USDT", "info": kind, "time": time,
            "tranId": tran_id, "tradeId": trade_id}


def test_streamed_funding_counts_once_whichever_comes_first(tmp_path):
    with Ledger(tmp_path / "a.sqlite") as ledger:  # stream first (cross: no symbol), then the import's rows
        assert ledger.record_streamed_funding("", Decimal("-0.02"), "USDT", T + 1, Decimal("99.98"))
        assert not ledger.record_streamed_funding("", Decimal("-0.02"), "USDT", T + 1, Decimal("99.98"))  # same frame
        # another symbol's equal payment of the same moment: another wallet balance after it
        assert ledger.record_streamed_funding("", Decimal("-0.02"), "USDT", T + 1, Decimal("99.96"))
        assert ledger.record_streamed_funding("", Decimal("0.025"), "USDT", T + 2)
        assert ledger.queries.today(T).funding == Decimal("-0.015")
        ledger.record_income(_income("DOGEUSDT", "-0.02", 7))
        ledger.record_income(_income("XRPUSDT", "-0.02", 8))
        ledger.record_income(_income("ALGOUSDT", "0.025", 9))
        assert sorted((p.symbol, p.amount) for p in ledger.funding_payments()) == [
            ("ALGOUSDT", Decimal("0.025")), ("DOGEUSDT", Decimal("-0.02")), ("XRPUSDT", Decimal("-0.02"))]
        # a payment 8 hours later is another payment
        assert ledger.record_streamed_funding("", Decimal("-0.01"), "USDT", T + 8 * 3_600_000)
        assert ledger.queries.totals().funding == Decimal("-0.025")
    with Ledger(tmp_path / "b.sqlite") as ledger:  # the import first: the stream's late copy is not added
        ledger.record_income(_income("DOGEUSDT", "-0.02", 7))
        assert not ledger.record_streamed_funding("DOGEUSDT", Decimal("-0.02"), "USDT", T + 1)
        assert ledger.queries.totals().funding == Decimal("-0.02")


def test_a_streamed_liquidation_fee_is_replaced_by_its_income_row(tmp_path):
    with Ledger(tmp_path / "c.sqlite") as ledger:
        assert ledger.record_forced_close("DOGEUSDT", "LONG", "liquidation", Decimal("100"), Decimal("0.3"), T,
                                          "autoclose-1", 42, Decimal("-1.5"), Decimal("0.015"), "USDT")
        assert ledger.queries.forced_today(T) == (Decimal("-1.5"), Decimal("0.015"))
        ledger.record_income(_income("DOGEUSDT", "-0.015", 9, kind="INSURANCE_CLEAR", trade_id="42"))
        ledger.record_trade({"symbol": "DOGEUSDT", "id": 42, "orderId": 5, "side": "SELL", "positionSide": "LONG",
                             "price": "0.3", "qty": "100", "realizedPnl": "-1.5", "commission": "0",
                             "commissionAsset": "USDT", "time": T})
        assert ledger.queries.forced_today(T) == (Decimal("-1.5"), Decimal("0.015"))  # once each
        assert len(ledger.fills()) == 1
        assert ledger.db.execute("SELECT COUNT(*) FROM fees_other").fetchone()[0] == 1
