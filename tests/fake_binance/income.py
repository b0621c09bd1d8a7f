"""The account's history on the fake: GET /fapi/v1/income, GET /fapi/v1/userTrades, and the
public GET /fapi/v1/fundingRate.

Sources (developers.binance.com, USDS-M futures; see README.md):

- "Get Income History" (account/rest-api/Get-Income-History): SIGNED, weight 30; ``symbol``,
  ``incomeType``, ``startTime`` / ``endTime`` inclusive, ``limit`` default 100, max 1000; with
  neither time the last 7 days; more rows than ``limit`` -> the first ``limit`` from
  ``startTime``. Rows ``symbol, incomeType, income, asset, info, time, tranId, tradeId``
  (``tranId`` unique per ``incomeType``); ``page`` (1, 2, ...) pages on in ``limit`` steps.
- "Account Trade List" (trade/rest-api/Account-Trade-List): SIGNED, weight 5; ``symbol``
  mandatory; ``startTime`` / ``endTime`` at most 7 days apart; ``fromId`` not with the times;
  ``limit`` default 500, max 1000; with neither time the last 7 days. Rows as the recorded real
  payloads in tests/data/binance-real/rest/user_trades*.json (``commission`` positive).
- "Get Funding Rate History" (market-data/rest-api/Get-Funding-Rate-History): NONE; ``symbol``,
  ``startTime``, ``endTime``, ``limit`` default 100, max 1000; with neither time the latest 200;
  rows ``symbol, fundingRate, fundingTime, markPrice``.

How the fake fills them: :class:`IncomeBook` listens to the engine's user-data events. Every
execution (ORDER_TRADE_UPDATE ``x`` TRADE or CALCULATED) becomes a trade row and its income:
REALIZED_PNL (``rp``, when not zero) and COMMISSION (``-n``). A liquidation's fee is Binance's
liquidation clearance fee: it is booked as INSURANCE_CLEAR and its trade row carries commission
0 (so the fee is counted once; the docs do not show a liquidation's rows, this is the fake's
reading). Each funding payment (``pay_funding``) becomes one FUNDING_FEE row per symbol with the
wallet's change. So realised PnL, commissions + clearance fees and funding of the history add up
to the engine's ``realized_pnl``, ``fees_paid`` and wallet change. A reset (new epoch) empties it.

Funding-rate history: every 8 hours (00:00, 08:00, 16:00 UTC) from the first candle to the market
clock, rate 0.0001 (Binance's interest-rate baseline) unless a payment or a test set another;
``markPrice`` is the close of the last closed 5m candle then. The 500 / 5 min / IP limit of the
endpoint is not modelled (weight 1 on the minute limit).
"""
from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from tests.fake_binance.errors import ApiError

FUNDING_INTERVAL_MS = 8 * 3_600_000
SEVEN_DAYS_MS = 7 * 24 * 3_600_000
DEFAULT_RATE = Decimal("0.0001")


class IncomeBook:
    def __init__(self, engine: Any):
        self.engine = engine
        self.epoch = engine.epoch
        self.income: list[dict[str, object]] = []
        self.trades: list[dict[str, object]] = []
        self.rates: dict[tuple[str, int], Decimal] = {}  # (symbol, funding time) -> rate set by a payment or a test
        self._tran_ids = itertools.count(9_000_000_000)
        engine.listeners.append(self.on_event)
        engine.funding_listeners.append(self.on_funding)

    def _same_epoch(self) -> None:
        if self.engine.epoch != self.epoch:
            self.epoch = self.engine.epoch
            self.income.clear()
            self.trades.clear()

    def _add(self, symbol: str, kind: str, amount: Decimal, time: int, trade_id: object = "") -> None:
        self.income.append({"symbol": symbol, "incomeType": kind, "income": f"{amount:.8f}", "asset": "USDT",
                            "info": kind, "time": time, "tranId": next(self._tran_ids), "tradeId": str(trade_id)})

    def on_event(self, event: dict) -> None:
        self._same_epoch()
        if event.get("e") != "ORDER_TRADE_UPDATE":
            return
        o = event["o"]
        qty = Decimal(o["l"])
        if o["x"] not in ("TRADE", "CALCULATED") or qty <= 0:
            return
        price, fee, realized = Decimal(o["L"]), Decimal(o["n"]), Decimal(o["rp"])
        liquidation = o["o"] == "LIQUIDATION"
        self.trades.append({
            "symbol": o["s"], "id": o["t"], "orderId": o["i"], "side": o["S"], "price": o["L"], "qty": o["l"],
            "realizedPnl": o["rp"], "marginAsset": "USDT", "quoteQty": str(price * qty),
            "commission": "0" if liquidation else o["n"], "commissionAsset": o["N"], "time": o["T"],
            "positionSide": o["ps"], "buyer": o["S"] == "BUY", "maker": False})
        if realized:
            self._add(o["s"], "REALIZED_PNL", realized, o["T"], o["t"])
        if fee:
            self._add(o["s"], "INSURANCE_CLEAR" if liquidation else "COMMISSION", -fee, o["T"], o["t"])

    def on_funding(self, symbol: str, change: Decimal, rate: Decimal, time: int) -> None:
        self._same_epoch()
        self.rates[(symbol, time - time % FUNDING_INTERVAL_MS)] = rate
        if change:
            self._add(symbol, "FUNDING_FEE", change, time)

    # ----- endpoints ------------------------------------------------------------------------------

    def income_rows(self, params: dict[str, str]) -> list[dict[str, object]]:
        self._same_epoch()
        limit = _limit(params, 100)
        start, end = _times(params, self.engine.market.now_ms)
        rows = [row for row in self.income if start <= int(row["time"]) <= end
                and params.get("symbol", row["symbol"]) == row["symbol"]
                and params.get("incomeType", row["incomeType"]) == row["incomeType"]]
        page = int(params["page"]) if params.get("page", "").isdigit() and int(params["page"]) > 0 else 1
        return sorted(rows, key=lambda row: (row["time"], row["tranId"]))[(page - 1) * limit:page * limit]

    def trade_rows(self, params: dict[str, str]) -> list[dict[str, object]]:
        self._same_epoch()
        symbol = params.get("symbol") or ""
        if not symbol:
            raise ApiError.of(-1102, "symbol")
        self.engine.spec(symbol)
        limit = _limit(params, 500)
        rows = [row for row in self.trades if row["symbol"] == symbol]
        if params.get("orderId"):
            rows = [row for row in rows if str(row["orderId"]) == params["orderId"]]
        if params.get("fromId"):
            if params.get("startTime") or params.get("endTime"):
                raise ApiError(-1128, "Combination of optional parameters invalid.")
            rows = [row for row in rows if int(row["id"]) >= int(params["fromId"])]
            return sorted(rows, key=lambda row: int(row["id"]))[:limit]
        start, end = _times(params, self.engine.market.now_ms)
        if end - start > SEVEN_DAYS_MS:
            raise ApiError(-1127, "More than 168 hours between startTime and endTime.")
        rows = [row for row in rows if start <= int(row["time"]) <= end]
        return sorted(rows, key=lambda row: int(row["id"]))[:limit]

    def funding_rate_rows(self, params: dict[str, str]) -> list[dict[str, object]]:
        market = self.engine.market
        symbols = [params["symbol"]] if params.get("symbol") else list(market.symbols)
        for symbol in symbols:
            self.engine.spec(symbol)
        limit = _limit(params, 100)
        rows = []
        for symbol in symbols:
            series = market.get(symbol, "5m")
            first = int(series.open_time[0])
            moment = first - first % FUNDING_INTERVAL_MS + (FUNDING_INTERVAL_MS if first % FUNDING_INTERVAL_MS else 0)
            while moment <= market.now_ms:
                count = series.closed_count(moment)
                if count:
                    rate = self.rates.get((symbol, moment), DEFAULT_RATE)
                    rows.append({"symbol": symbol, "fundingRate": f"{rate:.8f}", "fundingTime": moment,
                                 "markPrice": f"{series.ohlcv[count - 1, 3]:.8f}"})
                moment += FUNDING_INTERVAL_MS
        rows.sort(key=lambda row: (row["fundingTime"], row["symbol"]))
        start = int(params["startTime"]) if params.get("startTime") else None
        end = int(params["endTime"]) if params.get("endTime") else None
        if start is None and end is None:
            return rows[-min(200, limit if params.get("limit") else 200):]
        rows = [row for row in rows if (start is None or row["fundingTime"] >= start)
                and (end is None or row["fundingTime"] <= end)]
        return rows[:limit] if start is not None else rows[-limit:]


def _limit(params: dict[str, str], default: int) -> int:
    text = params.get("limit", "")
    return min(int(text), 1000) if text.isdigit() else default


def _times(params: dict[str, str], now_ms: int) -> tuple[int, int]:
    """[start, end] of a history query: with neither time, the last 7 days."""
    start = int(params["startTime"]) if params.get("startTime") else None
    end = int(params["endTime"]) if params.get("endTime") else None
    if start is None and end is None:
        return now_ms - SEVEN_DAYS_MS, now_ms
    return (start if start is not None else (end or now_ms) - SEVEN_DAYS_MS,
            end if end is not None else min(now_ms, start + SEVEN_DAYS_MS) if start is not None else now_ms)


def _income(ex: Any, params: dict[str, str]) -> object:
    return ex.income.income_rows(params)


def _user_trades(ex: Any, params: dict[str, str]) -> object:
    return ex.income.trade_rows(params)


def _funding_rate(ex: Any, params: dict[str, str]) -> object:
    return ex.income.funding_rate_rows(params)


# (method, path, security, handler): server.py makes its Route objects of these.
ROUTES = (
    ("GET", "/fapi/v1/income", "SIGNED", _income),
    ("GET", "/fapi/v1/userTrades", "SIGNED", _user_trades),
    ("GET", "/fapi/v1/fundingRate", "NONE", _funding_rate),
)
