"""Binance USDT-M futures error codes and messages, and HMAC request signing checks.

Messages are copied from the Binance USDS-M futures "Error Codes" page
(developers.binance.com/docs/derivatives/usds-margined-futures/error-code) so the
adapter's classifier is tested against the texts the real exchange sends.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import unquote_plus

# code -> (HTTP status, message). "%s" is filled in per request.
ERRORS: dict[int, tuple[int, str]] = {
    -1000: (503, "Unknown error, please check your request or try again later."),
    -1001: (503, "Internal error; unable to process your request. Please try again."),
    -1003: (429, "Too many requests; current limit is %s requests per minute. Please use the websocket "
                 "for live updates to avoid polling the API."),
    -1006: (503, "An unexpected response was received from the message bus. Execution status unknown."),
    -1008: (503, "Request throttled by system-level protection. Reduce-only/close-position orders are exempt. "
                 "Please try again."),
    -1007: (503, "Timeout waiting for response from backend server. Send status unknown; execution status unknown."),
    -1015: (429, "Too many new orders; current limit is %s orders per %s."),
    -1021: (400, "Timestamp for this request is outside of the recvWindow."),
    -1022: (400, "Signature for this request is not valid."),
    -1102: (400, "Mandatory parameter '%s' was not sent, was empty/null, or malformed."),
    -1106: (400, "Parameter '%s' sent when not required."),
    -1111: (400, "Precision is over the maximum defined for this asset."),
    -1116: (400, "Invalid orderType."),
    -1117: (400, "Invalid side."),
    -1120: (400, "Invalid interval."),
    -1121: (400, "Invalid symbol."),
    -1125: (400, "This listenKey does not exist. Please use `POST /fapi/v1/listenKey` to recreate `listenKey`"),
    -2011: (400, "Unknown order sent."),
    -2013: (400, "Order does not exist."),
    -2014: (401, "API-key format invalid."),
    -2015: (401, "Invalid API-key, IP, or permissions for action."),
    -2019: (400, "Margin is insufficient."),
    -2021: (400, "Order would immediately trigger."),
    -2022: (400, "ReduceOnly Order is rejected."),
    -2027: (400, "Exceeded the maximum allowable position at current leverage."),
    -4003: (400, "Quantity less than or equal to zero."),
    -4015: (400, "Client order id is not valid."),
    -4028: (400, "Leverage %s is not valid"),
    -4031: (400, "Invalid parameter working type"),
    -4045: (400, "Reach max stop order limit."),
    -4046: (400, "No need to change margin type."),
    -4047: (400, "Margin type cannot be changed if there exists open orders."),
    -4048: (400, "Margin type cannot be changed if there exists position."),
    -4059: (400, "No need to change position side."),
    -4061: (400, "Order's position side does not match user's setting."),
    -4067: (400, "Position side cannot be changed if there exists open orders."),
    -4068: (400, "Position side cannot be changed if there exists position."),
    -4116: (400, "ClientOrderId is duplicated."),
    -4120: (400, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."),
    -4131: (400, "The counterparty's best price does not meet the PERCENT_PRICE filter limit."),
    -4137: (400, "Quantity must be zero with closePosition equals true"),
    -4161: (400, "Leverage reduction is not supported in Isolated Margin Mode with open positions"),
    -4164: (400, "Order's notional must be no smaller than %s (unless you choose reduce only)."),
    -5028: (400, "Timestamp for this request is outside of the ME recvWindow."),
}

# The 503 bodies Binance's General Info page documents as certain failures besides -1008 (variant B,
# and 5XX item 3 = -1001 above). The code of variant B is not documented; -1000 is what was recorded.
SERVICE_UNAVAILABLE = (-1000, "Service Unavailable.")

# The second -1003 message, for a request from a banned IP (HTTP 418).
BANNED_MESSAGE = "Way too many requests; IP banned until %s. Please use the websocket for live updates to avoid bans."

# What "%s" becomes when an error is injected as a fault without its request context.
DEFAULT_ARGS: dict[int, object] = {-1015: (1200, "1MINUTE"), -1003: 2400, -1102: "quantity", -1106: "reduceonly", -4028: 0, -4164: 5}

# The 503 body Binance documents for "sent, but no answer in time: execution status UNKNOWN".
UNKNOWN_ERROR_CODE = -1000


@dataclass
class ApiError(Exception):
    """An error answer: HTTP ``status`` with body ``{"code": code, "msg": msg}``."""

    code: int
    msg: str
    status: int = 400
    headers: dict[str, str] | None = None

    @classmethod
    def of(cls, code: int, *args: object, headers: dict[str, str] | None = None) -> "ApiError":
        status, template = ERRORS[code]
        if not args and "%s" in template:
            default = DEFAULT_ARGS[code]
            args = default if isinstance(default, tuple) else (default,)
        message = template % args if args else template
        return cls(code, message, status, headers)

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def banned(until_ms: int, headers: dict[str, str]) -> ApiError:
    """HTTP 418: the IP is banned for not backing off after a 429 (-1003, second message)."""
    return ApiError(-1003, BANNED_MESSAGE % until_ms, 418, headers)


def split_signature(total_params: str) -> tuple[str, str | None]:
    """Split ``a=1&b=2&signature=xx`` into the signed payload and the signature (which must come last)."""
    marker = "signature="
    index = total_params.rfind(marker)
    if index < 0 or (index > 0 and total_params[index - 1] != "&"):
        return total_params, None
    payload = total_params[: max(index - 1, 0)]
    return payload, total_params[index + len(marker):]


def signature_valid(secret: str, total_params: str) -> bool:
    """Binance HMAC-SHA256 check over ``totalParams`` = query string + body, signature removed.

    python-binance signs the *unencoded* values (except ``symbol``); a form encoder may then
    percent-encode some characters, so the decoded payload is accepted too.
    """
    payload, signature = split_signature(total_params)
    if not signature:
        return False
    signature = unquote_plus(signature).lower()
    for candidate in (payload, unquote_plus(payload)):
        digest = hmac.new(secret.encode(), candidate.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(digest, signature):
            return True
    return False
