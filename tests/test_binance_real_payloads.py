"""Issue 18: Binance's real answers (tests/data/binance-real) through the real code paths.

REST bodies go through the unmodified python-binance client (only its HTTP transport is swapped,
tests/binance_recorded.py) and the adapter; stream frames through the user-data parser. Each
numbered test names the issue's item it pins; each failed on main before its fix.
"""
from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from adapters.binance_futures import (
    DEMO_REST_URL,
    AdapterSetupError,
    BinanceFuturesAdapter,
    fill_price,
    wallet_balance,
)
from adapters.binance_user_stream import parse_user_event
from core.executor import ExecutionStatus, OrderExecutor
from core.model import Action, OrderIntent, Side
from core.ports import (
    AccountConfigUpdate,
    ForcedClose,
    MarginCall,
    OrderRejectedError,
    OrderStatus,
    OutcomeUnknownError,
    PositionUpdate,
    RetryableError,
    TradeUpdate,
)
from tests.binance_recorded import REAL, Answer, error_body, frames, load, recorded_adapter

ORDER = ("POST", "/fapi/v1/order")
QUERY = ("GET", "/fapi/v1/order")
INFO = ("GET", "/fapi/v1/exchangeInfo")
ETH_RESULT = "rest/new_order_RESULT_FILLED_ETHUSDT_2025-12-22.json"


def filled_2026_07() -> dict:
    """The real FILLED RESULT of 2025-12-22 in the documented 2026-07 schema (avgPrice and cumQuote
    deleted: binance-connector-python usds-futures CHANGELOG 14.0.0; docs_examples/..._2026-07)."""
    body = load(ETH_RESULT)
    for name in ("avgPrice", "cumQuote"):
        body.pop(name)
    return body


def eth_rules_info() -> dict:
    """The real exchangeInfo of 2022 with an ETHUSDT entry (step 0.001, as the ETH order's quantity)."""
    return load("rest/exchange_info_real_2022-02-19__nautilus.json")


def intent(side: Side = Side.LONG, action: Action = Action.OPEN, qty: str = "0.007") -> OrderIntent:
    return OrderIntent("ETHUSDT", side, action, float(qty), "R2", 1766412600000, "AL0F55jVYngvTWweEpAFb2")


# ----- REST: every recorded body through python-binance and the adapter ---------------------------------


def test_recorded_new_order_result_of_2025_12_reads_its_price():
    adapter, _ = recorded_adapter({ORDER: Answer(load(ETH_RESULT))})
    report = adapter.submit_market_order("ETHUSDT", Side.LONG, Action.OPEN, Decimal("0.007"), "AL0F55jVYngvTWweEpAFb2")
    assert (report.status, report.executed_qty, report.avg_price) == (OrderStatus.FILLED, Decimal("0.007"),
                                                                      Decimal("3057.89000"))
    assert report.update_time == 1766412825838 and report.price_known


def test_recorded_hedge_close_with_stringified_numbers():
    body = load("rest/new_order_RESULT_hedge_close_LONG_BTCUSDT_2023-11-29__ccxt_info.json")
    adapter, _ = recorded_adapter({ORDER: Answer(body)})
    report = adapter.submit_market_order("BTCUSDT", Side.LONG, Action.CLOSE, Decimal("0.003"), body["clientOrderId"])
    assert (report.executed_qty, report.avg_price, report.update_time) == (Decimal("0.003"), Decimal("38148.90000"),
                                                                          1701258811708)


@pytest.mark.parametrize("recorded", ["rest/new_order_ACK_NEW_ACHUSDT_2024-01-03.json",
                                      "docs_examples/new_order_response_docs_2026-07__binance-connector-python.json",
                                      "docs_examples/new_order_response_docs_2025-12__binance-connector-python.json",
                                      "rest/batch_order_NEW_BTCUSDT_2025-02-17__ccxt.json",
                                      "rest/query_open_order_LTCUSDT_2024-02-14__ccxt.json"])
def test_recorded_orders_not_executed_yet_are_new_without_a_price(recorded):
    body = load(recorded)
    body = body[0] if isinstance(body, list) else body
    adapter, _ = recorded_adapter({ORDER: Answer(body)})
    report = adapter.submit_market_order("BTCUSDT", Side.SHORT, Action.OPEN, Decimal("1"), "c")
    assert report.status is OrderStatus.NEW and report.executed_qty == 0 and not report.has_unpriced_fill


def test_1_fill_price_from_cum_quote_when_avg_price_is_missing():
    """Issue 18 (1): cumQuote / executedQty is the price when avgPrice is gone."""
    body = load(ETH_RESULT)
    body.pop("avgPrice")
    assert fill_price(body) == Decimal("21.40523") / Decimal("0.007")
    adapter, transport = recorded_adapter({ORDER: Answer(body)})
    report = adapter.submit_market_order("ETHUSDT", Side.LONG, Action.OPEN, Decimal("0.007"), "x")
    assert report.avg_price == Decimal("21.40523") / Decimal("0.007") and report.fee > 0
    assert [path for _, path, _ in transport.requests].count("/fapi/v1/order") == 1  # no look-up needed


def test_1_fill_in_the_2026_07_schema_is_priced_by_an_order_look_up():
    """Issue 18 (1): the documented 2026-07 answer has neither avgPrice nor cumQuote; the order is
    looked up by client id (GET order keeps avgPrice) instead of being recorded at price 0."""
    adapter, transport = recorded_adapter({ORDER: Answer(filled_2026_07()), QUERY: Answer(load(ETH_RESULT))})
    report = adapter.submit_market_order("ETHUSDT", Side.LONG, Action.OPEN, Decimal("0.007"), "AL0F55jVYngvTWweEpAFb2")
    assert report.avg_price == Decimal("3057.89000") and report.price_known
    method, path, params = transport.requests[-1]
    assert (method, path, params["origClientOrderId"]) == ("GET", "/fapi/v1/order", "AL0F55jVYngvTWweEpAFb2")


@pytest.mark.parametrize("look_up", [Answer({"code": -2013, "msg": "Order does not exist."}, 400),
                                     Answer(error_body(-1000, "Unknown"), 503)])
def test_1_a_fill_whose_price_cannot_be_found_is_unknown_never_price_0(look_up):
    """Issue 18 (1): no price anywhere -> the executor keeps the order pending (UNKNOWN, not re-sent,
    no fill), never a fill at price 0 that would stop the bot with the position open."""
    adapter, transport = recorded_adapter({ORDER: Answer(filled_2026_07()), QUERY: look_up,
                                           INFO: Answer(eth_rules_info())})
    fills = []
    result = OrderExecutor(adapter, sleep=lambda s: None).execute(intent(), 3000.0, on_fill=fills.append)
    assert result.status is ExecutionStatus.UNKNOWN and result.unknown_order_id == "AL0F55jVYngvTWweEpAFb2"
    assert fills == [] and result.fills == []
    assert [path for method, path, _ in transport.requests if method == "POST"] == ["/fapi/v1/order"]  # sent once


def test_1_resolution_does_not_apply_an_unpriced_fill_and_asks_again():
    adapter, _ = recorded_adapter({QUERY: Answer(filled_2026_07() | {"cumQuote": "0", "avgPrice": "0.00"})})
    resolved = OrderExecutor(adapter, sleep=lambda s: None).resolve_in_flight(intent(), ids=["AL0F55jVYngvTWweEpAFb2"])
    assert resolved.found and resolved.still_open and resolved.fills == []


def test_1_pnl_and_trailing_never_divide_by_a_zero_or_nan_price():
    from core import decide

    for bad in (0.0, float("nan")):
        assert decide.pnl_pct(1, bad, 0.2) == 0.0
        assert decide.trailing_stop_hit(-1, 0.2, bad, 0.19, 0.5, 0.5) is False
        assert decide.exit_rule(1, bad, 0, bad, 0.2, 300_000, 1.0, 24, 0.5, 0.5) == decide.NO_RULE
    # valid prices decide as before
    assert decide.pnl_pct(1, 0.2, 0.202) == pytest.approx(1.0)
    assert decide.trailing_stop_hit(1, 0.2, 0.21, 0.2089, 0.5, 0.5) is True


def test_positions_from_v3_rows_without_v2_only_fields_and_one_way_rows_ignored():
    rows = load("rest/position_risk_v3_BTCUSDT_2024-07-28__ccxt.json")
    hedge = [dict(rows[0], positionSide="LONG"), dict(rows[0], positionSide="SHORT", positionAmt="0",
                                                      entryPrice="0.0")]
    adapter, _ = recorded_adapter({("GET", "/fapi/v3/positionRisk"): Answer(hedge),
                                   ("GET", "/fapi/v2/positionRisk"): Answer(hedge)})
    positions = adapter.positions("BTCUSDT")
    assert (positions[Side.LONG].qty, positions[Side.LONG].entry_price) == (Decimal("0.009"), Decimal("67445.9"))
    assert positions[Side.SHORT].qty == 0
    adapter, _ = recorded_adapter({("GET", "/fapi/v3/positionRisk"): Answer(rows),
                                   ("GET", "/fapi/v2/positionRisk"): Answer(rows)})
    assert all(position.qty == 0 for position in adapter.positions("BTCUSDT").values())  # a BOTH row is not ours


def test_account_snapshot_from_the_recorded_multi_assets_account():
    account = load("rest/account_v3_multiasset_2024-07-28__ccxt.json")
    adapter, _ = recorded_adapter({("GET", "/fapi/v3/account"): Answer(account),
                                   ("GET", "/fapi/v2/account"): Answer(account),
                                   ("GET", "/fapi/v3/positionRisk"): Answer([]),
                                   ("GET", "/fapi/v2/positionRisk"): Answer([])})
    snapshot = adapter.account_snapshot(["BTCUSDT"])
    assert (snapshot.wallet, snapshot.margin_balance) == (25.7261006, 26.26840422)


def test_9_balances_in_bnfcr_and_usdc_are_the_real_balance():
    """Issue 18 (9): an EU account's wallet is BNFCR, a Multi-Assets account may hold USDC only."""
    docs = load("docs_examples/balance_v3_docs__nautilus_crate.json")
    assert wallet_balance(docs).wallet == Decimal("122.12345678") and wallet_balance(docs).asset == "USDT"
    bnfcr_wb = json.loads(frames("ws/account_update_bnfcr__nautilus_crate.json")[0])["a"]["B"][0]["wb"]
    eu = [dict(docs[0], balance="0", availableBalance="0", crossWalletBalance="0"),
          dict(docs[0], asset="BNFCR", balance=bnfcr_wb, availableBalance=bnfcr_wb, crossWalletBalance=bnfcr_wb)]
    account = load("rest/account_v3_multiasset_2024-07-28__ccxt.json")
    usdc = next(asset for asset in account["assets"] if asset["asset"] == "USDC")
    multi = [dict(docs[0], balance="0", availableBalance="0"),
             dict(docs[0], asset="USDC", balance=usdc["walletBalance"], availableBalance=usdc["availableBalance"])]
    for rows, asset, wallet in ((eu, "BNFCR", Decimal(bnfcr_wb)), (multi, "USDC", Decimal("22.00000000"))):
        adapter, _ = recorded_adapter({("GET", "/fapi/v2/balance"): Answer(rows),
                                       ("GET", "/fapi/v3/balance"): Answer(rows)})
        balance = adapter.balance()
        assert (balance.asset, balance.wallet) == (asset, wallet)


def test_11_only_perpetual_trading_symbols_are_accepted():
    """Issue 18 (11): the real exchangeInfo lists BTCUSDT_220325 (CURRENT_QUARTER)."""
    info = eth_rules_info()
    adapter, _ = recorded_adapter({INFO: Answer(info)})
    adapter.load_exchange_filters(["BTCUSDT", "ETHUSDT"])
    assert adapter.symbol_rules("ETHUSDT").step_size == Decimal("0.001")
    with pytest.raises(AdapterSetupError) as caught:
        adapter.load_exchange_filters(["BTCUSDT_220325"])
    assert str(caught.value) == ("BTCUSDT_220325 is a current quarter contract, not a perpetual; the bot trades "
                                 "perpetual USDT-M futures only, so remove it from the symbol list in Settings.")
    halted = copy.deepcopy(info)
    halted["symbols"][1]["status"] = "SETTLING"
    adapter, _ = recorded_adapter({INFO: Answer(halted)})
    with pytest.raises(AdapterSetupError, match=r"^ETHUSDT is not trading on Binance demo trading right now "
                                                r"\(status SETTLING\); remove it"):
        adapter.load_exchange_filters(["ETHUSDT"])


def test_8_order_limits_are_read_from_the_recorded_exchange_info():
    adapter, _ = recorded_adapter({INFO: Answer(eth_rules_info())})
    adapter.load_exchange_filters(["ETHUSDT"])
    assert adapter.budget.order_limits == {"10S": 300, "1M": 1200}


def test_10_hedge_mode_is_read_and_switched_only_when_asked():
    """Issue 18 (10): the adapter does not switch silently; the switch is its own call."""
    one_way = Answer({"dualSidePosition": False})
    adapter, transport = recorded_adapter({("GET", "/fapi/v1/positionSide/dual"): one_way,
                                           ("POST", "/fapi/v1/positionSide/dual"): Answer({"code": 200, "msg": "success"})})
    assert adapter.hedge_mode_on() is False
    with pytest.raises(AdapterSetupError) as caught:
        adapter.ensure_hedge_mode()
    assert "account-wide" in str(caught.value) and "COIN-M" in str(caught.value)
    assert not [r for r in transport.requests if r[0] == "POST"]  # nothing was switched
    adapter.switch_to_hedge_mode()
    assert [r[:2] for r in transport.requests if r[0] == "POST"] == [("POST", "/fapi/v1/positionSide/dual")]
    recorded = load("rest/position_side_dual__nautilus.json")
    adapter, _ = recorded_adapter({("GET", "/fapi/v1/positionSide/dual"): Answer(recorded)})
    assert adapter.hedge_mode_on() is (recorded["dualSidePosition"] in (True, "true"))


@pytest.mark.parametrize("code", [-4067, -4068])
def test_10_a_refused_switch_names_coin_m_and_account_wide(code):
    from tests.fake_binance.errors import ERRORS

    adapter, _ = recorded_adapter({("POST", "/fapi/v1/positionSide/dual"): Answer({"code": code,
                                                                                  "msg": ERRORS[code][1]}, 400)})
    with pytest.raises(AdapterSetupError) as caught:
        adapter.switch_to_hedge_mode()
    text = str(caught.value)
    assert "COIN-M" in text and "account-wide" in text and "\n" not in text


def test_7_demo_trading_is_the_practice_host():
    """Issue 18 (7): Binance's General Info gives https://demo-fapi.binance.com for USDⓈ-M practice."""
    assert DEMO_REST_URL == "https://demo-fapi.binance.com"
    adapter, transport = recorded_adapter({("GET", "/fapi/v1/ping"): Answer({})})
    adapter.client.futures_ping()
    assert adapter.client.FUTURES_DEMO_URL == "https://demo-fapi.binance.com/fapi" and adapter.venue == "demo trading"
    legacy = BinanceFuturesAdapter(None, testnet=True)  # the old keyword still selects the practice host
    assert legacy.demo and legacy.client.FUTURES_URL == "https://demo-fapi.binance.com/fapi"
    override = BinanceFuturesAdapter(None, demo=True, base_url="http://127.0.0.1:9/")
    assert override.client.FUTURES_URL == "http://127.0.0.1:9/fapi"


# ----- errors: the recorded bodies through python-binance's exception and the classifier -----------------


def _classified(body: dict, status: int, order: bool = True):
    adapter, _ = recorded_adapter({ORDER: Answer(body, status)})
    with pytest.raises(Exception) as caught:
        adapter.submit_market_order("BTCUSDT", Side.LONG, Action.OPEN, Decimal("1"), "e")
    return caught.value


def test_2_minus_5028_is_a_late_request_retried_with_a_fresh_timestamp():
    """Issue 18 (2): -5028 (ME recvWindow) is refused before execution, like -1021."""
    error = _classified(error_body(-5028), 400)
    assert isinstance(error, RetryableError) and not isinstance(error, OutcomeUnknownError) and error.resync_time


@pytest.mark.parametrize("body", [error_body(-1008), error_body(-1000, "Service Unavailable"),
                                  error_body(-1001, "Internal error")])
def test_3_documented_certain_failure_503s_are_retryable_not_unknown(body):
    """Issue 18 (3): General Info, "HTTP 503 Status: Message Variants": B and C are 100 % failures."""
    error = _classified(body, 503)
    assert isinstance(error, RetryableError) and not isinstance(error, OutcomeUnknownError)


@pytest.mark.parametrize("body", [error_body(-1000, "Unknown error"), error_body(-1007)])
def test_3_unknown_error_and_minus_1007_stay_unknown_outcome(body):
    assert isinstance(_classified(body, 503), OutcomeUnknownError)


def test_3_a_certain_failure_is_sent_again_with_the_same_id_and_fills():
    adapter, transport = recorded_adapter({ORDER: [Answer(error_body(-1008), 503), Answer(load(ETH_RESULT))],
                                           INFO: Answer(eth_rules_info())})
    result = OrderExecutor(adapter, sleep=lambda s: None).execute(intent(), 3000.0)
    assert result.status is ExecutionStatus.FILLED and result.avg_price == pytest.approx(3057.89)
    sent = [params["newClientOrderId"] for method, path, params in transport.requests if method == "POST"]
    assert sent == ["AL0F55jVYngvTWweEpAFb2"] * 2
    assert not [r for r in transport.requests if r[:2] == QUERY]  # no look-ups for a certain failure


def test_2_minus_5028_on_an_order_resyncs_and_sends_again():
    adapter, transport = recorded_adapter({ORDER: [Answer(error_body(-5028), 400), Answer(load(ETH_RESULT))],
                                           INFO: Answer(eth_rules_info())})
    result = OrderExecutor(adapter, sleep=lambda s: None).execute(intent(), 3000.0)
    assert result.status is ExecutionStatus.FILLED and not result.pauses_symbol
    assert [p for _, p, _ in transport.requests].count("/fapi/v1/time") >= 2  # the clock was re-synced


def test_definitive_refusals_from_recorded_bodies_stay_definitive():
    for code in (-2019, -4061):
        error = _classified(error_body(code), 400)
        assert isinstance(error, OrderRejectedError) and error.definitive


# ----- stream frames: every recorded frame through the user-data parser ---------------------------------

WS_FILES = sorted(str(path.relative_to(REAL)) for path in (REAL / "ws").iterdir()) + [
    "docs_examples/listen_key_expired_docs.json", "docs_examples/margin_call_docs__hummingbot.json"]


@pytest.mark.parametrize("recorded", WS_FILES)
def test_every_recorded_frame_parses_without_a_zero_price(recorded):
    for frame in frames(recorded):
        for record in parse_user_event(frame):
            if isinstance(record, (TradeUpdate, ForcedClose)):
                assert record.last_price > 0 if isinstance(record, TradeUpdate) else record.price > 0
            if isinstance(record, PositionUpdate) and record.qty > 0:
                assert record.entry_price > 0


def test_recorded_market_fill_sequence_gives_the_trade_and_the_position():
    records = [r for frame in frames("ws/seq_BTCUSDT_MARKET_FILLED_2025-03-21.jsonl") for r in parse_user_event(frame)]
    assert records == [TradeUpdate("BTCUSDT", "KWsJ1UBaWM1C0IhvgdXxZb", Decimal("0.100"), Decimal("0.100"),
                                   Decimal("84146.50"), Decimal("3.36586000"), "USDT", "FILLED", 1742585119595)]
    records = [r for frame in frames("ws/seq_ETHUSDC_hedge_SHORT_2026-08-31.jsonl") for r in parse_user_event(frame)]
    assert records == [PositionUpdate("ETHUSDC", Side.SHORT, Decimal("0.473"), Decimal("2463.26"), "ORDER",
                                      1788231624647)]


def test_6_settlement_autoclose_is_a_forced_close():
    """Issue 18 (6): a delisting/delivery close (client id settlement_autoclose-...)."""
    [record] = parse_user_event(frames("ws/ws_futures_order_update_settlement__nautilus.json")[0])
    assert isinstance(record, ForcedClose) and record.kind == "settlement"
    assert (record.symbol, record.side, record.qty, record.price) == ("BTCUSDT", Side.SHORT, Decimal("0.050"),
                                                                      Decimal("51000.00"))


def test_6_a_zero_quantity_liquidation_frame_gives_no_record():
    assert parse_user_event(frames("ws/ws_futures_order_update_liquidation_zero_qty__nautilus.json")[0]) == []
    kinds = {r.kind for f in ("ws/ws_futures_order_update_liquidation__nautilus.json",
                              "ws/ws_futures_order_update_adl_filled__nautilus.json")
             for r in parse_user_event(frames(f)[0]) if isinstance(r, ForcedClose)}
    assert kinds <= {"liquidation", "adl"}


def test_5_margin_call_is_a_typed_event():
    [call] = parse_user_event(frames("docs_examples/margin_call_docs__hummingbot.json")[0])
    assert isinstance(call, MarginCall) and call.cross_wallet == Decimal("3.16812045")
    [position] = call.positions
    assert (position.symbol, position.side, position.qty, position.mark_price) == (
        "ETHUSDT", Side.LONG, Decimal("1.327"), Decimal("187.17127"))


def test_5_account_config_update_leverage_and_multi_assets():
    """Binance's documented ACCOUNT_CONFIG_UPDATE examples (User Data Streams, "Event: Account
    Configuration Update previous Leverage Update"): ``ac`` for leverage, ``ai`` for Multi-Assets."""
    leverage = {"e": "ACCOUNT_CONFIG_UPDATE", "E": 1611646737479, "T": 1611646737476, "ac": {"s": "BTCUSDT", "l": 25}}
    assets = {"e": "ACCOUNT_CONFIG_UPDATE", "E": 1611646737479, "T": 1611646737476, "ai": {"j": True}}
    assert parse_user_event(json.dumps(leverage)) == [AccountConfigUpdate("BTCUSDT", 25, None, 1611646737479)]
    assert parse_user_event(json.dumps(assets)) == [AccountConfigUpdate(None, None, True, 1611646737479)]


def test_4_listen_key_expired_and_trade_lite_algo_update_ignored():
    assert parse_user_event(frames("docs_examples/listen_key_expired_docs.json")[0]) == ["expired"]
    for name in ("ws_futures_trade_lite__nautilus.json", "ws_futures_algo_update_finished__nautilus.json"):
        assert parse_user_event(frames(f"ws/{name}")[0]) == []
