"""The question asked before LIVE trading: the account, and per symbol what an order will be.

Per symbol: CALL_SIZE, leverage and margin type (as set on the exchange at Start), the
notional of one order and the margin it ties up at the last price the window has seen, and
the expected fee drag: a round trip (open and close) pays the taker fee twice, so it costs
2 x ``backtest.fee_pct`` of the notional (0.10 % at Binance's 0.05 % taker rate); a hedge
is a second round trip of the same size.
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from config.settings import AppSettings
from live.accounts import ApiCredentials, mask


def symbol_line(settings: AppSettings, symbol: str, price: float | None) -> str:
    """'DOGEUSDT: CALL_SIZE 100, 5x ISOLATED, notional 8.05 USDT (margin 1.61 USDT), fees about
    0.0081 USDT per round trip' (margin = notional / leverage; fees = 2 taker fills)."""
    size = settings.symbols[symbol].call_size
    leverage = settings.leverage_for(symbol)
    head = QCoreApplication.translate("LiveConfirm", "{symbol}: CALL_SIZE {size}, {leverage}x {margin}").format(
        symbol=symbol, size=f"{size:g}", leverage=leverage, margin=settings.exchange.margin_type)
    if price is None or price <= 0:
        return head + ", " + QCoreApplication.translate(
            "LiveConfirm", "notional unknown until the first price (test the connection to see it)")
    notional = size * price
    round_trip = notional * 2 * settings.backtest.fee_pct / 100
    return head + ", " + QCoreApplication.translate(
        "LiveConfirm", "notional {notional} USDT (margin {margin} USDT), fees about {fees} USDT per round trip").format(
        notional=f"{notional:,.2f}", margin=f"{notional / leverage:,.2f}", fees=f"{round_trip:,.4f}")


def live_question(credentials: ApiCredentials | None, settings: AppSettings, verb: str,
                  prices: dict[str, float] | None = None) -> str:
    """The whole question; ``verb`` "Start" or "Switch to"; ``prices``: the last price per symbol."""
    prices = prices or {}
    if credentials:
        account = QCoreApplication.translate(
            "LiveConfirm", "the Binance USDT-M futures account of API key {key}").format(key=mask(credentials.api_key))
    else:
        account = QCoreApplication.translate(
            "LiveConfirm", "the Binance USDT-M futures account of the key you will enter")
    if verb == "Start":
        question = QCoreApplication.translate("LiveConfirm", "Start LIVE trading with REAL MONEY on {account}?")
    else:
        question = QCoreApplication.translate("LiveConfirm", "Switch to LIVE trading with REAL MONEY on {account}?")
    lines = [question.format(account=account), ""]
    lines += [symbol_line(settings, symbol, prices.get(symbol)) for symbol in settings.symbols]
    fee = settings.backtest.fee_pct
    fees = QCoreApplication.translate(
        "LiveConfirm", "Fees: {fee} % of the notional per fill at the taker rate, so {trip} % per round trip "
                       "(open and close); a hedge is one more round trip.")
    lines += ["", fees.format(fee=f"{fee:g}", trip=f"{2 * fee:g}"),
              QCoreApplication.translate(
                  "LiveConfirm", "Orders will be sent to Binance as soon as the strategy decides.")]
    return "\n".join(lines)
