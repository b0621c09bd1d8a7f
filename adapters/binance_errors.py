"""Binance's error answers as the core's error classes [O4]: the one place that decides what may
be retried, what is an unknown outcome, and what a user must act on (one sentence each).

Sources: Binance USDⓈ-M General Info ("HTTP Return Codes", "HTTP 503 Status: Message Variants &
Handling") and Error Codes pages (copies in the file index: ids 54080916766 and 53776809382).
"""
from __future__ import annotations

from typing import Any

import requests
from binance.exceptions import BinanceAPIException, BinanceRequestException

from core.ports import (
    PASSING_REFUSAL_CODES,
    BrokerError,
    OrderRejectedError,
    OutcomeUnknownError,
    RetryableError,
)

# Binance codes that mean "the request was sent, the outcome is unknown" [O4].
UNKNOWN_OUTCOME_CODES = frozenset({-1006, -1007})
# Late requests refused before execution, answered like -1021: re-sync the clock, send with a fresh
# timestamp. -5028 "Timestamp for this request is outside of the ME recvWindow" is the matching
# engine's own late-request refusal (USDⓈ-M Error Codes page).
LATE_REQUEST_CODES = frozenset({-1021, -5028})
# HTTP 503 answers Binance documents as certain failures (USDⓈ-M General Info, "HTTP 503 Status:
# Message Variants & Handling" B and C, and 5XX item 3): nothing was executed, retry with back-off.
CERTAIN_FAILURE_CODES = frozenset({-1008})  # "Request throttled by system-level protection..."
CERTAIN_FAILURE_MESSAGES = ("service unavailable", "internal error; unable to process your request")
# The one 503 message that means "sent, execution status UNKNOWN" (General Info, variant A).
UNKNOWN_OUTCOME_MESSAGE = "unknown error, please check your request or try again later"
# What the user should do about each non-retryable code (one sentence each).
ADVICE: dict[int, str] = {
    -2019: "Add USDT to the futures wallet, lower the order size, or raise the leverage, then resume the symbol.",
    -2018: "Add USDT to the futures wallet, then resume the symbol.",
    -4164: "Raise the symbol's order size so that quantity x price reaches the exchange's minimum notional.",
    -1111: "The quantity has more decimals than the symbol allows; restart so the exchange filters are reloaded.",
    -4003: "Set an order size above zero.",
    -4004: "Raise the symbol's order size to at least the exchange's minimum quantity.",
    -4005: "Lower the symbol's order size below the exchange's maximum quantity.",
    -2015: "Check the API key, its IP whitelist and that 'Enable Futures' is on in Binance API management.",
    -2014: "Re-enter the API key in Settings (it looks malformed).",
    -1022: "Re-enter the API secret in Settings (it does not match the key).",
    -1011: "Add this computer's IP address to the API key's whitelist in Binance API management.",
    -4061: "Switch the account to Hedge Mode in Binance futures settings (it is account-wide: every USDⓈ-M "
           "symbol and COIN-M futures too), then resume the symbol.",
    -1106: "This is a bug in the bot's order parameters; report it and trade the symbol manually meanwhile.",
    -2022: "The bot's position differs from the exchange's; it re-reads the exchange's positions now and "
           "decides again on the next close.",
    -4131: "The order book is too thin for a market order right now; the decision is made again on the next close.",
    -1121: "Check the symbol name in Settings.",
    -2010: "Check the order in the Binance app, then resume the symbol.",
}
DEFAULT_ADVICE = "Check the order in the Binance app, then resume the symbol."
HTTP_REFUSAL_ADVICE = {
    403: "Binance's web firewall blocked this computer (too many requests, or a blocked network or VPN); "
         "wait a few minutes, check the network, then resume the symbol.",
    451: "Binance does not serve this location (restricted region); trading from here is not possible.",
}


# ----- error classification [O4] -------------------------------------------------------------------


def _retry_after(response: Any) -> float | None:
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _sentence(message: str) -> str:
    return (message or "").strip().rstrip(".")


def classify(error: Exception, order_submission: bool = False) -> BrokerError:
    """Map an exception from python-binance / requests to a core.ports error.

    ``order_submission``: the request was a new order, so anything that may have
    reached the matching engine becomes :class:`OutcomeUnknownError` (look it up
    by client id before re-sending). Messages never contain URLs (they carry the
    signature) or credentials.
    """
    unknown = OutcomeUnknownError if order_submission else RetryableError
    if isinstance(error, BrokerError):
        return error
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return RetryableError("network error: connection to Binance timed out (request not sent)")
    if isinstance(error, requests.exceptions.Timeout):
        return unknown("network error: Binance did not answer in time (timeout)")
    if isinstance(error, requests.exceptions.ConnectionError):
        return unknown("network error: cannot reach Binance (connection failed)")
    if isinstance(error, requests.exceptions.RequestException):
        return unknown(f"network error: {type(error).__name__}")
    if isinstance(error, BinanceRequestException):
        return unknown("Binance sent an unreadable answer")
    if not isinstance(error, BinanceAPIException):
        return RetryableError(f"unexpected error: {type(error).__name__}")

    status, code, message = error.status_code, error.code, _sentence(error.message)
    lowered = (message or "").lower()
    if code in LATE_REQUEST_CODES:  # refused before execution: a fresh timestamp is safe [O4]
        return RetryableError(f"{message} (clock offset re-synced)", code, resync_time=True)
    if status in (429, 418) or code == -1003:
        return RetryableError(f"rate limited by Binance (HTTP {status}): {message}", code or None,
                              retry_after=_retry_after(error.response))
    if code in UNKNOWN_OUTCOME_CODES or (status == 503 and UNKNOWN_OUTCOME_MESSAGE in lowered):
        return OutcomeUnknownError(f"{message} (execution status unknown)", code or None)
    if code in CERTAIN_FAILURE_CODES or (status == 503 and any(text in lowered for text in CERTAIN_FAILURE_MESSAGES)):
        # Documented as a 100 % failure: nothing executed, the same request may be sent again.
        return RetryableError(f"Binance is overloaded and did not execute the request (HTTP {status}): {message}",
                              code or None)
    if code == -4116:  # our client id already exists: the order was placed before [O4]
        return OutcomeUnknownError(f"{message} (an order with this client id exists)", code)
    if status in (403, 451):  # not worth retrying: the same request gets the same answer
        return OrderRejectedError(f"Binance refused the request (HTTP {status})", None, HTTP_REFUSAL_ADVICE[status])
    if status >= 500 or not code:
        text = message if code else f"HTTP {status} from Binance"
        return unknown(f"server error: {text}", code or None)
    return OrderRejectedError(message, code, ADVICE.get(code, DEFAULT_ADVICE), definitive=code not in PASSING_REFUSAL_CODES)
