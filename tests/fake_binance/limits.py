"""Binance's IP request-weight limit: per-minute weights, 429 with Retry-After, then 418 bans.

What Binance documents (USDS-M futures "General Info", LIMITS / IP Limits):

- every response carries ``X-MBX-USED-WEIGHT-1M``, the weight used by the IP in the current minute;
- each route has a weight (``WEIGHTS`` below, from each endpoint's "Request Weight");
- over the limit (``REQUEST_WEIGHT`` 2400 per minute in exchangeInfo ``rateLimits``) the answer is
  HTTP 429, code -1003 "Too many requests; current limit is %s requests per minute. ...", with a
  ``Retry-After`` header;
- "Repeatedly violating rate limits and/or failing to back off after receiving 429s will result in an
  automated IP ban (HTTP status 418)"; "IP bans are tracked and scale in duration for repeat
  offenders, from 2 minutes to 3 days" -- code -1003 "Way too many requests; IP banned until %s. ...".

How the fake applies it: minutes are whole minutes of the request clock (plus ``shift_ms``, which a
test moves instead of waiting). A request that would pass the limit is refused with 429 and does not
count; a request sent before that Retry-After is over is a violation and bans the IP with 418 for
2 minutes, each later ban twice as long (at most 3 days). A request during a ban gets 418 with the
time left. Refused requests do not count toward the weight.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

MINUTE_MS = 60_000
FIRST_BAN_MS = 2 * MINUTE_MS
LONGEST_BAN_MS = 3 * 24 * 60 * MINUTE_MS

# "Request Weight" of each route on the IP limit (x-mbx-used-weight-1m). New orders count 0 there:
# they count on the per-account order limits (OrderCounter below).
WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/fapi/v1/ping"): 1, ("GET", "/fapi/v1/time"): 1, ("GET", "/fapi/v1/exchangeInfo"): 1,
    ("POST", "/fapi/v1/order"): 0, ("GET", "/fapi/v1/order"): 1,
    ("GET", "/fapi/v2/positionRisk"): 5, ("GET", "/fapi/v3/positionRisk"): 5,
    ("GET", "/fapi/v2/balance"): 5, ("GET", "/fapi/v3/balance"): 5,
    ("GET", "/fapi/v2/account"): 5, ("GET", "/fapi/v3/account"): 5,
    ("GET", "/fapi/v1/positionSide/dual"): 30, ("POST", "/fapi/v1/positionSide/dual"): 1,
    ("POST", "/fapi/v1/leverage"): 1, ("POST", "/fapi/v1/marginType"): 1,
    ("POST", "/fapi/v1/listenKey"): 1, ("PUT", "/fapi/v1/listenKey"): 1, ("DELETE", "/fapi/v1/listenKey"): 1,
    # Algo Order service (algo.py): New Algo Order "0 on IP rate limit"; the others 1 (40 for
    # openAlgoOrders without a symbol, which the fake does not weigh differently)
    ("POST", "/fapi/v1/algoOrder"): 0, ("DELETE", "/fapi/v1/algoOrder"): 1, ("GET", "/fapi/v1/algoOrder"): 1,
    ("GET", "/fapi/v1/openAlgoOrders"): 1, ("DELETE", "/fapi/v1/algoOpenOrders"): 1,
    ("GET", "/fapi/v1/income"): 30, ("GET", "/fapi/v1/userTrades"): 5, ("GET", "/fapi/v1/fundingRate"): 1,
}


def weight_of(method: str, path: str, params: dict[str, str]) -> int:
    """GET /fapi/v1/klines weighs by ``limit``: [1,100) 1, [100,500) 2, [500,1000] 5, > 1000 10."""
    if (method, path) == ("GET", "/fapi/v1/klines"):
        limit = int(params["limit"]) if params.get("limit", "").isdigit() else 500
        return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10
    return WEIGHTS.get((method, path), 1)


@dataclass
class Verdict:
    """What the limiter says about one request: allowed, or refused with status 429 / 418."""

    status: int  # 200 = allowed
    used: int  # the IP's weight in the current minute (after this request, if allowed)
    retry_after_s: int = 0
    banned_until_ms: int = 0


class RateLimiter:
    def __init__(self, limit: int | None = 2400):
        self.limit = limit  # None: no limit (only for tests that name it)
        self.shift_ms = 0
        self.frozen_ms: int | None = None  # a test's fixed limiter clock (then only ``advance`` moves it)
        self._lock = threading.Lock()
        self._minute = -1
        self._used = 0
        self._retry_until_ms = 0  # end of the last 429's Retry-After
        self._banned_until_ms = 0
        self.bans = 0  # how many bans so far (each doubles the next)

    def advance(self, ms: int) -> None:
        """Move the limiter's clock forward (a test's way of letting a minute or a ban pass)."""
        with self._lock:
            self.shift_ms += ms

    def freeze(self, at_ms: int = 0) -> None:
        """Stop following the request clock: the limiter's time is ``at_ms`` until ``advance`` moves it,
        so a test never sees a minute roll over by itself."""
        with self._lock:
            self.frozen_ms, self.shift_ms = at_ms, 0

    def reset(self) -> None:
        with self._lock:
            self._minute, self._used, self._retry_until_ms, self._banned_until_ms, self.bans = -1, 0, 0, 0, 0
            self.frozen_ms, self.shift_ms = None, 0

    def check(self, now_ms: int, weight: int) -> Verdict:
        with self._lock:
            now = (now_ms if self.frozen_ms is None else self.frozen_ms) + self.shift_ms
            minute = now // MINUTE_MS
            if minute != self._minute:
                self._minute, self._used = minute, 0
            if now < self._banned_until_ms:
                return Verdict(418, self._used, _seconds(self._banned_until_ms - now), self._banned_until_ms)
            if now < self._retry_until_ms:
                # sent during a 429's Retry-After: an automated ban, longer for every repeat
                self.bans += 1
                length = min(FIRST_BAN_MS * 2 ** (self.bans - 1), LONGEST_BAN_MS)
                self._banned_until_ms = now + length
                self._retry_until_ms = 0
                return Verdict(418, self._used, _seconds(length), self._banned_until_ms)
            if self.limit is not None and self._used + weight > self.limit:
                self._retry_until_ms = (minute + 1) * MINUTE_MS
                return Verdict(429, self._used, _seconds(self._retry_until_ms - now))
            self._used += weight
            return Verdict(200, self._used)

    @property
    def used(self) -> int:
        with self._lock:
            return self._used


def _seconds(ms: int) -> int:
    return max(1, -(-ms // 1000))


ORDER_LIMITS = (("10S", 10_000, 300), ("1M", MINUTE_MS, 1200))  # exchangeInfo rateLimits ORDERS


class OrderCounter:
    """The account's order-rate limits (USDⓈ-M General Info, "Order Rate Limits"): every new order
    counts in a 10-second and a one-minute window; its answer carries ``X-MBX-ORDER-COUNT-10S`` and
    ``X-MBX-ORDER-COUNT-1M``. An order over a limit is refused with 429 -1015 and does not count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}  # interval -> (window index, count)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def _count(self, interval: str, window_ms: int, now_ms: int) -> int:
        window, count = self._counts.get(interval, (-1, 0))
        return count if window == now_ms // window_ms else 0

    def take(self, now_ms: int) -> tuple[dict[str, str], tuple[int, str] | None]:
        """Count one new order: (headers, None), or (headers, (limit, interval)) when over a limit."""
        with self._lock:
            for interval, window_ms, limit in ORDER_LIMITS:
                if self._count(interval, window_ms, now_ms) >= limit:
                    return self.headers(now_ms), (limit, "10SECOND" if interval == "10S" else "1MINUTE")
            for interval, window_ms, _ in ORDER_LIMITS:
                self._counts[interval] = (now_ms // window_ms, self._count(interval, window_ms, now_ms) + 1)
            return self.headers(now_ms), None

    def headers(self, now_ms: int) -> dict[str, str]:
        return {f"X-MBX-ORDER-COUNT-{interval}": str(self._count(interval, window_ms, now_ms))
                for interval, window_ms, _ in ORDER_LIMITS}
