"""The Binance adapter against the fake: start-up checks, filters, positions, klines, test connection,
and the error classifier on real python-binance exceptions."""
from __future__ import annotations

import socket
from decimal import Decimal

import pytest
import requests

from adapters.binance_futures import AdapterSetupError, BinanceFuturesAdapter, classify
from adapters.secrets import ApiCredentials
from core.model import Action, Side
from core.ports import OrderRejectedError, OutcomeUnknownError, RetryableError
from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET
from tests.fake_binance.fixtures import binance_client, fake, fake_server  # noqa: F401

SYMBOL = "DOGEUSDT"


def adapter_for(fake, key=TEST_API_KEY, secret=TEST_API_SECRET, **kwargs) -> BinanceFuturesAdapter:
    return BinanceFuturesAdapter(ApiCredentials(key, secret), testnet=True, base_url=fake.base_url, **kwargs)


def test_prepare_symbols_switches_to_hedge_mode_and_sets_margin_and_leverage(fake):
    fake.exchange.engine.account.dual_side = False
    rules = adapter_for(fake).prepare_symbols([SYMBOL], {SYMBOL: 7}, "isolated", switch_hedge_mode=True)
    account = fake.exchange.engine.account
    assert account.dual_side and account.leverage[SYMBOL] == 7 and account.margin_type[SYMBOL] == "isolated"
    assert rules[SYMBOL].step_size == 1 and rules[SYMBOL].min_notional == 5 and rules[SYMBOL].min_qty == 1
    # -4059 (already hedge) and -4046 (margin type unchanged) are not errors on a second start
    adapter_for(fake).prepare_symbols([SYMBOL], {SYMBOL: 7}, "isolated")


@pytest.mark.parametrize("blocker, word", [("position", "positions"), ("orders", "orders")])
def test_hedge_mode_blocked_by_open_positions_or_orders_stops_with_a_sentence(fake, blocker, word):
    if blocker == "position":
        binance_client(fake).futures_create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity=100,
                                                  positionSide="LONG")
    else:
        fake.exchange.engine.account.open_orders = 2
    fake.exchange.engine.account.dual_side = False
    with pytest.raises(AdapterSetupError) as caught:
        adapter_for(fake).prepare_symbols([SYMBOL], {SYMBOL: 5}, switch_hedge_mode=True)
    assert str(caught.value).startswith("The Binance futures account is in one-way mode and cannot switch")
    assert f"open {word}" in str(caught.value) and "\n" not in str(caught.value)
    # issue 18 (10): COIN-M positions or orders may be the cause, and the switch is account-wide
    assert "COIN-M" in str(caught.value) and "account-wide" in str(caught.value)


def test_unknown_symbol_is_a_user_error(fake):
    with pytest.raises(AdapterSetupError, match="NOPEUSDT is not a USDT-M futures symbol on Binance demo trading"):
        adapter_for(fake).prepare_symbols(["NOPEUSDT"], {})


def test_O1_orders_are_hedge_mode_market_orders_with_position_side(fake):
    adapter = adapter_for(fake)
    for side, action, qty in ((Side.LONG, Action.OPEN, 100), (Side.SHORT, Action.OPEN, 50),
                              (Side.LONG, Action.CLOSE, 100)):
        report = adapter.submit_market_order(SYMBOL, side, action, Decimal(qty), f"o-{side.value}-{action.value}")
        assert report.status.value == "FILLED" and report.executed_qty == qty
        assert report.avg_price == fake.price(SYMBOL)
        assert report.fee == qty * report.avg_price * Decimal("0.0005")
    sides = [(o["side"], o["positionSide"], o["reduceOnly"]) for o in fake.state()["orders"]]
    assert sides == [("BUY", "LONG", False), ("SELL", "SHORT", False), ("SELL", "LONG", False)]
    positions = adapter.positions(SYMBOL)
    assert positions[Side.LONG].qty == 0 and positions[Side.SHORT].qty == 50
    assert positions[Side.SHORT].entry_price == fake.price(SYMBOL)
    assert adapter.query_order(SYMBOL, "missing") is None
    assert adapter.query_order(SYMBOL, "o-SHORT-OPEN").executed_qty == 50


def test_balance(fake):
    balance = adapter_for(fake).balance()
    assert balance.asset == "USDT" and balance.wallet == 10000 and balance.available == 10000


def test_klines_paginates_and_returns_closed_candles_only(fake):
    adapter = adapter_for(fake)
    adapter.sync_time()
    start = fake.now_ms - 3200 * 300_000
    candles = adapter.klines(SYMBOL, "5m", start, None, limit=1000)
    assert len(candles) == 3200
    assert [c.open_time for c in candles] == list(range(start, fake.now_ms, 300_000))
    assert candles[-1].close_time == fake.now_ms and candles[-1].close == float(fake.price(SYMBOL))
    window = adapter.klines(SYMBOL, "5m", start, start + 9 * 300_000)
    assert len(window) == 10


def test_check_connection_reports_each_problem_in_one_sentence(fake):
    ok = adapter_for(fake).check_connection()
    assert ok.ok and ok.reason.startswith("Connected to Binance demo trading: 10000 USDT")
    bad_key = adapter_for(fake, key="not-the-key").check_connection()
    assert not bad_key.ok and bad_key.reason.startswith("Binance refused the API key")
    bad_secret = adapter_for(fake, secret="not-the-secret").check_connection()
    assert not bad_secret.ok and "API secret does not match" in bad_secret.reason
    missing = BinanceFuturesAdapter(None, testnet=False, base_url=fake.base_url).check_connection()
    assert not missing.ok and missing.reason.startswith("No API key is set for Binance live")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    offline = BinanceFuturesAdapter(ApiCredentials(TEST_API_KEY, TEST_API_SECRET), testnet=True,
                                    base_url=f"http://127.0.0.1:{closed_port}").check_connection()
    assert not offline.ok and offline.reason.startswith("Cannot reach Binance demo trading")
    assert "signature" not in offline.reason and "127.0.0.1" not in offline.reason


def test_check_connection_names_clock_skew(fake):
    """A clock the re-sync cannot fix (the adapter's clock and python-binance's disagree by 30 s):
    -1021 persists after the retry, and the user is told to fix the computer's clock."""
    import time
    skewed = adapter_for(fake, clock=lambda: time.time() - 30)
    result = skewed.check_connection()
    assert not result.ok
    assert result.reason == ("This computer's clock differs from Binance's by more than the receive window; "
                             "turn on automatic time synchronisation.")


def test_minus_1021_is_retried_once_after_a_clock_resync(fake):
    adapter = adapter_for(fake)
    adapter.sync_time()
    fake.exchange.skew_ms = 30_000  # the server's clock moved: the old offset is now wrong
    assert adapter.balance().wallet == 10000
    assert abs(adapter.client.timestamp_offset - 30_000) < 2_000


def _api_error(fake, fault: dict) -> Exception:
    client = binance_client(fake)
    fake.add_fault(path="/fapi/v1/order", **fault)
    try:
        client.futures_create_order(symbol=SYMBOL, side="BUY", positionSide="LONG", type="MARKET", quantity=100)
    except Exception as error:  # noqa: BLE001 - the real exception python-binance raises
        return error
    raise AssertionError("no error")


@pytest.mark.parametrize("fault, kind, retry_after", [
    ({"kind": "unknown_after_execute"}, OutcomeUnknownError, None),
    ({"kind": "error", "code": -1006}, OutcomeUnknownError, None),
    ({"kind": "error", "code": -1007}, OutcomeUnknownError, None),
    ({"kind": "http_error", "status": 502}, OutcomeUnknownError, None),
    ({"kind": "rate_limit", "retry_after": 3}, RetryableError, 3.0),
    ({"kind": "rate_limit"}, RetryableError, None),
    ({"kind": "timestamp"}, RetryableError, None),
    ({"kind": "error", "code": -2019}, OrderRejectedError, None),
    ({"kind": "error", "code": -4164}, OrderRejectedError, None),
])
def test_classifier_on_real_python_binance_exceptions(fake, fault, kind, retry_after):
    error = classify(_api_error(fake, fault), order_submission=True)
    assert type(error) is kind
    if isinstance(error, RetryableError):
        assert error.retry_after == retry_after
    if isinstance(error, OrderRejectedError):
        assert error.advice


def test_classifier_on_network_errors(fake):
    assert type(classify(requests.exceptions.ReadTimeout(), order_submission=True)) is OutcomeUnknownError
    assert type(classify(requests.exceptions.ReadTimeout())) is RetryableError
    assert type(classify(requests.exceptions.ConnectTimeout(), order_submission=True)) is RetryableError
    message = classify(requests.exceptions.ConnectionError("GET /x?signature=abc"), True).message
    assert "signature" not in message
    duplicate = classify(_api_error(fake, {"kind": "error", "code": -4116}), order_submission=True)
    assert type(duplicate) is OutcomeUnknownError  # the order exists: look it up, never re-send blindly
