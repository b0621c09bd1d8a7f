"""Issue 18 (Build 3): every recorded Binance payload, mutated (fields missing, nulls, strings for
numbers, zeros, NaN, extra fields, unknown event types), through every parser: the adapter's REST
parsing (through python-binance, transport swapped) and the user-data stream parser.

Properties: nothing raises except the adapter's own one-sentence errors (BrokerError,
AdapterSetupError), and no record ever carries a price of 0 or NaN for a quantity above 0.
Hypothesis runs derandomized (the same examples every run: no flaky test)."""
from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.binance_futures import AdapterSetupError
from adapters.binance_user_stream import parse_user_event
from core.errors import UserError
from core.model import Action, Side
from core.ports import (
    AccountConfigUpdate,
    BrokerError,
    ForcedClose,
    MarginCall,
    PositionUpdate,
    TradeUpdate,
)
from tests.binance_recorded import REAL, Answer, frames, load, recorded_adapter

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ODD_VALUES = ["", "0", "0.0", "-0", "NaN", "nan", "Infinity", "-Infinity", "-1", "1e400", "abc", " 1 ",
              0, 0.0, -1, 1e308, float("nan"), True, False, [], {}, {"x": 1}, ["1"]]
EVENT_TYPES = ["ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE", "MARGIN_CALL", "ACCOUNT_CONFIG_UPDATE", "listenKeyExpired",
               "TRADE_LITE", "ALGO_UPDATE", "STRATEGY_UPDATE", "GRID_UPDATE", "CONDITIONAL_ORDER_TRIGGER_REJECT",
               "SOMETHING_NEW", None, 5]


def mutate(data: st.DataObject, value: Any, depth: int = 0) -> Any:
    """``value`` with a few random changes; most nodes are kept so the payload stays mostly real."""
    roll = data.draw(st.integers(0, 15))
    if roll == 0:
        return None
    if roll == 1:
        return data.draw(st.sampled_from(ODD_VALUES))
    if isinstance(value, dict) and depth < 6:
        result = {}
        for key, item in value.items():
            if data.draw(st.integers(0, 12)) == 0:
                continue  # field missing
            result[key] = mutate(data, item, depth + 1)
        if data.draw(st.integers(0, 5)) == 0:
            result[data.draw(st.sampled_from(["extra", "e", "o", "a", "P", "status", "avgPrice"]))] = \
                data.draw(st.sampled_from(ODD_VALUES + EVENT_TYPES))
        return result
    if isinstance(value, list) and depth < 6:
        items = [mutate(data, item, depth + 1) for item in value]
        if items and data.draw(st.integers(0, 6)) == 0:
            items.pop(data.draw(st.integers(0, len(items) - 1)))
        if items and data.draw(st.integers(0, 8)) == 0:
            items.append(items[0])
        return items
    if isinstance(value, str) and roll == 2:
        return data.draw(st.sampled_from(["0", "NaN", "", "-5", "1e-30"]))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and roll == 2:
        return str(value)  # numbers as strings
    return value


def priced(value: Decimal) -> bool:
    return value.is_finite() and value > 0


# ----- the user-data stream parser ------------------------------------------------------------------

STREAM_FRAMES = [frame for path in sorted((REAL / "ws").iterdir()) for frame in frames(f"ws/{path.name}")] + \
    [frame for name in ("listen_key_expired_docs.json", "margin_call_docs__hummingbot.json")
     for frame in frames(f"docs_examples/{name}")]


def check_records(records: list) -> None:
    assert isinstance(records, list)
    for record in records:
        if isinstance(record, TradeUpdate):
            assert priced(record.last_price) and record.last_qty > 0
        elif isinstance(record, ForcedClose):
            assert priced(record.price) and priced(record.qty)
        elif isinstance(record, PositionUpdate):
            assert record.qty >= 0 and (record.qty == 0 or priced(record.entry_price))
        else:
            assert record == "expired" or isinstance(record, (MarginCall, AccountConfigUpdate))


@SETTINGS
@given(st.data(), st.sampled_from(STREAM_FRAMES))
def test_mutated_stream_frames_never_raise_nor_give_a_zero_price(data, frame):
    message = mutate(data, json.loads(frame))
    if isinstance(message, dict) and data.draw(st.booleans()):
        target = message.get("data", message)
        if isinstance(target, dict):
            target["e"] = data.draw(st.sampled_from(EVENT_TYPES))  # unknown / other event types
    check_records(parse_user_event(json.dumps(message)))


@SETTINGS
@given(st.one_of(st.text(max_size=40), st.binary(max_size=40)))
def test_stream_text_that_is_not_json_never_raises(text):
    check_records(parse_user_event(text))


# ----- the adapter's REST parsing, through python-binance ------------------------------------------------

ORDER_BODIES = ["rest/new_order_RESULT_FILLED_ETHUSDT_2025-12-22.json",
                "rest/new_order_RESULT_hedge_close_LONG_BTCUSDT_2023-11-29__ccxt_info.json",
                "rest/new_order_ACK_NEW_ACHUSDT_2024-01-03.json",
                "docs_examples/new_order_response_docs_2026-07__binance-connector-python.json",
                "docs_examples/query_order_response_docs_2026-08__binance-connector-python.json"]
ALLOWED = (BrokerError, AdapterSetupError, UserError)


def call(function, *args):
    """The adapter's call; its own one-sentence errors are an answer, anything else fails the test."""
    try:
        return function(*args)
    except ALLOWED as error:
        assert str(error) and "\n" not in str(getattr(error, "message", error))
        return None


@SETTINGS
@given(st.data(), st.sampled_from(ORDER_BODIES), st.sampled_from(ORDER_BODIES))
def test_mutated_order_answers_never_give_a_fill_at_price_0(data, answer_file, query_file):
    adapter, _ = recorded_adapter({("POST", "/fapi/v1/order"): Answer(mutate(data, load(answer_file))),
                                   ("GET", "/fapi/v1/order"): Answer(mutate(data, load(query_file)))})
    report = call(adapter.submit_market_order, "BTCUSDT", Side.LONG, Action.OPEN, Decimal("1"), "m-1")
    for answer in (report, call(adapter.query_order, "BTCUSDT", "m-1")):
        if answer is not None:
            assert answer.executed_qty >= 0 and answer.fee.is_finite()
            assert answer.executed_qty == 0 or answer.has_unpriced_fill or priced(answer.avg_price)


def hedge_rows() -> list[dict]:
    row = load("rest/position_risk_v3_BTCUSDT_2024-07-28__ccxt.json")[0]
    return [dict(row, positionSide="LONG"), dict(row, positionSide="SHORT", positionAmt="-0.004")]


@SETTINGS
@given(st.data())
def test_mutated_positions_balances_and_accounts(data):
    rows = mutate(data, hedge_rows())
    adapter, _ = recorded_adapter({("GET", "/fapi/v2/positionRisk"): Answer(rows),
                                   ("GET", "/fapi/v3/positionRisk"): Answer(rows),
                                   ("GET", "/fapi/v2/balance"): Answer(mutate(data, load(
                                       "docs_examples/balance_v3_docs__nautilus_crate.json"))),
                                   ("GET", "/fapi/v2/account"): Answer(mutate(data, load(
                                       "rest/account_v3_multiasset_2024-07-28__ccxt.json"))),
                                   ("GET", "/fapi/v1/positionSide/dual"): Answer(mutate(data, load(
                                       "rest/position_side_dual__nautilus.json")))})
    positions = call(adapter.positions, "BTCUSDT")
    for position in (positions or {}).values():
        assert position.qty >= 0 and (position.qty == 0 or priced(position.entry_price))
    balance = call(adapter.balance)
    if balance is not None:
        assert balance.wallet.is_finite() and balance.available.is_finite()
    snapshot = call(adapter.account_snapshot, ["BTCUSDT"])
    if snapshot is not None:
        assert all(math.isfinite(figure) for figure in (snapshot.wallet, snapshot.margin_balance))
        assert all(p.entry_price > 0 for p in snapshot.positions)
    assert call(adapter.hedge_mode_on) in (True, False, None)


@SETTINGS
@given(st.data(), st.sampled_from(["BTCUSDT", "ETHUSDT", "BTCUSDT_220325"]))
def test_mutated_exchange_info_and_klines(data, symbol):
    info = mutate(data, load("rest/exchange_info_real_2022-02-19__nautilus.json"))
    klines = mutate(data, load("docs_examples/klines_docs__nautilus.json"))
    adapter, _ = recorded_adapter({("GET", "/fapi/v1/exchangeInfo"): Answer(info),
                                   ("GET", "/fapi/v1/klines"): Answer(klines)})
    if call(adapter.load_exchange_filters, [symbol]) is None and symbol in adapter._rules:  # noqa: SLF001
        rules = adapter.symbol_rules(symbol)
        assert rules.step_size > 0 and rules.min_qty >= 0
    for candle in call(adapter.klines, symbol, "5m", 0, None) or []:
        assert all(price > 0 and math.isfinite(price) for price in (candle.open, candle.high, candle.low,
                                                                     candle.close))


# ----- through a running service on the fake (issue 18, Build 3, second half) ----------------------------

import tempfile  # noqa: E402
import threading  # noqa: E402

from tests.fake_binance.fixtures import fake_server  # noqa: E402,F401
from tests.test_runner_money_safety import BAR, IDLE, SYMBOL, Bot, assert_bot_equals_exchange  # noqa: E402

# Bounded: a few derandomized examples (each runs the whole service on the fake for a few closes).
SERVICE_SETTINGS = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                   HealthCheck.function_scoped_fixture])
MUTATED_CALLS = ("futures_position_information", "futures_get_order", "futures_create_order")


class MutatedStream:
    """The user-data stream's queues, filled with the real parser's records of mutated recorded frames
    (what UserDataStream queues: executions and position changes; account events apart)."""

    def __init__(self):
        self.connected = threading.Event()
        self.connected.set()
        self.records: list = []
        self.account: list = []
        self.received = 0

    def feed(self, text: str) -> None:
        for record in parse_user_event(text):
            if record == "expired":
                continue
            (self.account if isinstance(record, (MarginCall, AccountConfigUpdate)) else self.records).append(record)

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> list:
        records, self.records = self.records, []
        return records

    def wait(self, timeout: float) -> list:
        return self.drain()

    def drain_account_events(self) -> list:
        records, self.account = self.account, []
        return records


def mutate_with(rng, value: Any, depth: int = 0) -> Any:
    """:func:`mutate` driven by a seeded ``random.Random``: REST answers are mutated on the service's
    own schedule (how many it asks for may vary), so their draws cannot come from Hypothesis itself."""
    roll = rng.randint(0, 15)
    if roll == 0:
        return None
    if roll == 1:
        return rng.choice(ODD_VALUES)
    if isinstance(value, dict) and depth < 6:
        result = {key: mutate_with(rng, item, depth + 1) for key, item in value.items() if rng.randint(0, 12)}
        if rng.randint(0, 5) == 0:
            result[rng.choice(["extra", "status", "avgPrice", "positionAmt", "entryPrice"])] = rng.choice(ODD_VALUES)
        return result
    if isinstance(value, list) and depth < 6:
        items = [mutate_with(rng, item, depth + 1) for item in value]
        if items and rng.randint(0, 6) == 0:
            items.pop(rng.randrange(len(items)))
        return items
    if isinstance(value, str) and roll == 2:
        return rng.choice(["0", "NaN", "", "-5", "1e-30"])
    return value


def _mutating(rng, call, on: list[bool]):
    def wrapped(*args, **kwargs):
        answer = call(*args, **kwargs)
        return mutate_with(rng, answer) if on[0] else answer
    return wrapped


@SERVICE_SETTINGS
@given(st.data(), st.lists(st.sampled_from(STREAM_FRAMES), min_size=1, max_size=4), st.integers(0, 2**32))
def test_mutated_payloads_through_a_running_service_never_stop_it_nor_price_at_0(fake_server, data,  # noqa: F811
                                                                                  chosen, seed):
    import random
    fake_server.reset()
    with tempfile.TemporaryDirectory() as folder:
        bot = Bot(fake_server, __import__("pathlib").Path(folder), [])
        stream = MutatedStream()
        bot.service.ctx.user_stream = stream
        on = [False]
        for name in MUTATED_CALLS:
            setattr(bot.adapter.client, name, _mutating(random.Random(seed), getattr(bot.adapter.client, name), on))

        def mutations_on() -> None:
            on[0] = True
            for frame in chosen:
                message = mutate(data, json.loads(frame))
                if isinstance(message, dict) and data.draw(st.booleans()):
                    message["e"] = data.draw(st.sampled_from(EVENT_TYPES))
                stream.feed(json.dumps(message, default=str))

        def mutations_off() -> None:
            on[0] = False
        bot.feed.script.extend([BAR, mutations_on, BAR, IDLE, BAR, mutations_off, BAR, BAR, BAR])
        bot.run()  # returns at the script's end: nothing stopped it
        state = bot.state()
        for side in Side:
            position = state.positions[side]
            if position.qty > 0:
                assert math.isfinite(position.entry_price) and position.entry_price > 0
                assert math.isfinite(position.best_price) and position.best_price > 0
        journal = bot.state_dir / "fills.jsonl"
        for line in journal.read_text().splitlines() if journal.exists() else []:
            if line.strip():
                price = json.loads(line)["price"]
                assert math.isfinite(price) and price > 0
        assert_bot_equals_exchange(bot)
