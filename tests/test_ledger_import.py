"""The start-up import against the fake exchange on 127.0.0.1: a day with fills, a funding
payment, a liquidation and a restart in the middle. The ledger's realised PnL, fees and funding
equal the fake's own account to the cent; importing again adds each event once."""
from __future__ import annotations

from decimal import Decimal

from adapters.binance_futures import BinanceFuturesAdapter
from adapters.binance_history import BinanceHistory
from adapters.secrets import ApiCredentials
from live.ledger import Ledger
from live.ledger_import import HistoryImporter
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET
from tests.fake_binance.fixtures import binance_client, fake, fake_server  # noqa: F401

SYMBOL = "DOGEUSDT"
CENT = Decimal("0.01")


def importer(fake, ledger: Ledger, page_limit: int = 1000) -> HistoryImporter:
    adapter = BinanceFuturesAdapter(ApiCredentials(TEST_API_KEY, TEST_API_SECRET), testnet=True,
                                    base_url=fake.base_url)
    return HistoryImporter(BinanceHistory(adapter), ledger, [SYMBOL], page_limit=page_limit)


def trade(client, side: str, position_side: str, qty: str) -> None:
    client.futures_create_order(symbol=SYMBOL, side=side, positionSide=position_side, type="MARKET",
                                quantity=qty, newOrderRespType="RESULT")


def fake_account(fake) -> tuple[Decimal, Decimal, Decimal]:
    """(realised PnL, fees, funding) of the fake's account: funding is the rest of the wallet's change."""
    state = fake.state()
    realized, fees = Decimal(state["realized_pnl"]), Decimal(state["fees_paid"])
    wallet_change = Decimal(state["wallet"]) - fake.exchange.engine.initial_wallet
    return realized, fees, wallet_change - realized + fees


def ledger_account(ledger: Ledger) -> tuple[Decimal, Decimal, Decimal]:
    totals = ledger.queries.totals()
    assert set(totals.fees) <= {"USDT"}
    return totals.realized_pnl, totals.fees.get("USDT", Decimal(0)) - totals.insurance_clear, totals.funding


def to_cent(values: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    return tuple(value.quantize(CENT) for value in values)


def test_a_day_with_fills_funding_a_liquidation_and_a_restart_equals_the_fake_to_the_cent(fake, tmp_path):
    client = binance_client(fake)
    path = tmp_path / "ledger.sqlite"
    start = fake.now_ms
    trade(client, "BUY", "LONG", "3000")
    trade(client, "SELL", "SHORT", "2000")
    fake.step(candles=12)
    trade(client, "SELL", "LONG", "1000")  # LONG 2000 against SHORT 2000 now: funding nets to 0
    trade(client, "SELL", "LONG", "500")
    fake.pay_funding(SYMBOL, "0.0003")
    with Ledger(path) as ledger:  # first start: what happened so far
        first = importer(fake, ledger).run(fake.now_ms, since_ms=start)
        assert first.trades_added == 4 and first.by_type["FUNDING_FEE"] == 1
        assert first.summary().startswith("ledger: imported 4 trades and ")
        assert to_cent(ledger_account(ledger)) == to_cent(fake_account(fake))
    # the bot is off: the market moves, funding is paid, the short is liquidated, the long closed
    fake.step(candles=100)
    fake.pay_funding(SYMBOL, "-0.0002")
    fake.liquidate(SYMBOL, "SHORT")
    fake.step(candles=3)
    trade(client, "SELL", "LONG", "1500")
    with Ledger(path) as ledger:  # restart: the import picks up from its cursor
        second = importer(fake, ledger, page_limit=2).run(fake.now_ms)  # small pages: pagination
        assert second.trades_added == 2  # the liquidation and the last close
        assert second.by_type == {"COMMISSION": 1, "FUNDING_FEE": 1, "INSURANCE_CLEAR": 1, "REALIZED_PNL": 2}
        realized, fees, funding = ledger_account(ledger)
        assert to_cent((realized, fees, funding)) == to_cent(fake_account(fake))
        assert realized != 0 and fees > 0 and funding != 0
        again = importer(fake, ledger).run(fake.now_ms)
        assert (again.trades_added, again.income_added) == (0, 0)
        assert len(ledger.fills()) == 6 and len(ledger.funding_payments()) == 2
        long, short = ledger.queries.round_trips()
        assert (long["side"], long["close_time"] is not None, short["side"]) == ("LONG", True, "SHORT")
        wallet_change = Decimal(fake.state()["wallet"]) - fake.exchange.engine.initial_wallet
        assert ledger.queries.equity_curve()[-1][1].quantize(CENT) == wallet_change.quantize(CENT)


def test_the_fake_history_endpoints_answer_as_documented(fake):
    client = binance_client(fake)
    trade(client, "BUY", "LONG", "1000")
    fake.pay_funding(SYMBOL, "0.0001")
    rows = client.futures_income_history(startTime=fake.now_ms - 1000, endTime=fake.now_ms)
    assert {row["incomeType"] for row in rows} == {"COMMISSION", "FUNDING_FEE"}
    assert set(rows[0]) == {"symbol", "incomeType", "income", "asset", "info", "time", "tranId", "tradeId"}
    (row,) = client.futures_account_trades(symbol=SYMBOL)
    assert set(row) == {"symbol", "id", "orderId", "side", "price", "qty", "realizedPnl", "marginAsset", "quoteQty",
                        "commission", "commissionAsset", "time", "positionSide", "buyer", "maker"}
    assert Decimal(row["commission"]) > 0  # positive for a fee paid, as the recorded real rows
    too_long = fake.now_ms - 8 * 24 * 3_600_000
    try:
        client.futures_account_trades(symbol=SYMBOL, startTime=too_long, endTime=fake.now_ms)
    except Exception as error:  # noqa: BLE001 - python-binance's BinanceAPIException
        assert getattr(error, "code", None) == -1127
    else:
        raise AssertionError("a window over 7 days must be refused")
    rates = client.futures_funding_rate(symbol=SYMBOL, startTime=fake.now_ms - 24 * 3_600_000, limit=10)
    assert len(rates) == 3 and all(int(r["fundingTime"]) % (8 * 3_600_000) == 0 for r in rates)
    assert set(rates[0]) == {"symbol", "fundingRate", "fundingTime", "markPrice"}
