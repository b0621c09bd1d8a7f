"""One request budget for the whole bot: every symbol's requests to Binance go through it.

Binance counts request weight per IP and minute and says how much is used in the
``X-MBX-USED-WEIGHT-1M`` header of every answer. Going over gives HTTP 429 with a
``Retry-After``; going on after a 429 gives HTTP 418, an IP ban that grows from 2
minutes to 3 days for repeat offenders. So:

- after a 429 or 418 *no* request is sent, by any symbol, until ``Retry-After`` has
  passed: :meth:`RequestBudget.before_request` raises a :class:`RetryableError` carrying
  the remaining wait instead of sending (the caller waits or gives up for this bar);
- when the used weight of the current minute reaches ``headroom`` of the limit, requests
  wait for the next minute the same way (so the bot never provokes the 429);
- a 418 is told once, in one sentence, to ``on_ban`` listeners (the log and the window).

Orders are counted apart from weight. A new order costs 0 IP weight on Binance (New Order:
"0 on IP rate limit"); it counts against the *account's* order-rate limits (exchangeInfo
``rateLimits`` of type ``ORDERS``: 300 per 10 s and 1,200 per minute), whose use comes back in the
``X-MBX-ORDER-COUNT-10S`` / ``X-MBX-ORDER-COUNT-1M`` headers of every order answer (USDⓈ-M
General Info, "Order Rate Limits"). So:

- an order is never held back by the weight headroom (it costs no weight);
- an opening order waits when an order count reaches ``headroom`` of its limit; a closing
  (reducing) order is held back only at the limit itself, so exits keep the reserve;
- a 429/418 block stops everything, orders included (Binance would refuse them anyway).

The budget is one object per adapter, and the bot builds one adapter for all its
symbols (live/live_feed.py), so every symbol and the kline back-fill share it.
Thread-safe. Time comes from an injected monotonic clock (tests drive it).
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Mapping

from core.ports import RetryableError

DEFAULT_WEIGHT_LIMIT = 2400  # USDT-M futures REQUEST_WEIGHT per minute (exchangeInfo rateLimits)
DEFAULT_BAN_SECONDS = 120.0  # when a 418 comes without Retry-After: Binance's shortest ban


class RequestBudget:
    def __init__(self, weight_limit: int = DEFAULT_WEIGHT_LIMIT, headroom: float = 0.9,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time):
        self.weight_limit = weight_limit
        self.headroom = headroom
        self._clock = clock
        self._wall = wall_clock
        self._lock = threading.Lock()
        self._blocked_until = 0.0  # monotonic seconds: no request before this
        self._blocked_why = ""
        self._used_weight = 0
        self._weight_minute = -1  # the wall-clock minute the used weight belongs to
        self.order_limits: dict[str, int] = dict(DEFAULT_ORDER_LIMITS)
        self._order_counts: dict[str, tuple[int, int]] = {}  # interval -> (count, window index)
        self.on_ban: list[Callable[[str], None]] = []

    def adopt_limit(self, limit: int | None) -> None:
        """The exchange's own limit (exchangeInfo ``rateLimits``) when it is lower."""
        if limit:
            with self._lock:
                self.weight_limit = min(self.weight_limit, limit)

    def adopt_order_limits(self, limits: Mapping[str, int] | None) -> None:
        """The account's ORDERS limits from exchangeInfo (``{"10S": 300, "1M": 1200}``)."""
        with self._lock:
            for interval, limit in (limits or {}).items():
                if limit and _window_seconds(interval):
                    self.order_limits[interval] = int(limit)

    def order_count(self, interval: str) -> int:
        """The account's order count in the current ``interval`` window ("10S", "1M"), 0 when stale."""
        with self._lock:
            return self._current_count(interval)

    def _current_count(self, interval: str) -> int:
        count, window = self._order_counts.get(interval, (0, -1))
        seconds = _window_seconds(interval)
        return count if seconds and window == int(self._wall() // seconds) else 0

    @property
    def used_weight(self) -> int:
        with self._lock:
            return self._used_weight if self._weight_minute == self._minute() else 0

    def _minute(self) -> int:
        return int(self._wall() // 60)

    def before_request(self, order: bool = False, reducing: bool = False) -> None:
        """Raise a RetryableError (nothing is sent) while the exchange asked us to wait, or the
        budget's headroom is used up. ``order``: a new order (0 weight, counted by the order
        limits); ``reducing``: it closes a position (held back only at the order limit itself)."""
        with self._lock:
            now = self._clock()
            if now < self._blocked_until:
                wait = self._blocked_until - now
                raise RetryableError(f"{self._blocked_why}: no request is sent to Binance for {wait:.0f}s more",
                                     429, retry_after=wait)
            if order:
                self._check_order_rate(reducing)
                return
            if self._weight_minute == self._minute() and self._used_weight >= self.headroom * self.weight_limit:
                wait = 60.0 - self._wall() % 60.0
                raise RetryableError(f"request weight {self._used_weight} of {self.weight_limit} used this "
                                     f"minute: waiting {wait:.0f}s for the next minute", None, retry_after=wait)

    def _check_order_rate(self, reducing: bool) -> None:
        for interval, limit in self.order_limits.items():
            count = self._current_count(interval)
            ceiling = limit if reducing else self.headroom * limit
            if count >= ceiling:
                seconds = _window_seconds(interval)
                wait = seconds - self._wall() % seconds
                raise RetryableError(f"order count {count} of {limit} per {interval} used: waiting {wait:.0f}s "
                                     "for the next window", None, retry_after=wait)

    def after_response(self, status: int | None, headers: Mapping[str, str] | None) -> None:
        """Read the used weight, the order counts, and a 429/418's Retry-After, from an answer."""
        headers = {str(name).upper(): value for name, value in (headers or {}).items()}
        announce = ""
        with self._lock:
            used = _int(headers.get("X-MBX-USED-WEIGHT-1M"))
            if used is not None:
                self._used_weight = used
                self._weight_minute = self._minute()
            for name, value in headers.items():
                if name.startswith("X-MBX-ORDER-COUNT-"):
                    interval = name.removeprefix("X-MBX-ORDER-COUNT-")
                    count, seconds = _int(value), _window_seconds(interval)
                    if count is not None and seconds:
                        self._order_counts[interval] = (count, int(self._wall() // seconds))
            if status in (429, 418):
                retry_after = _float(headers.get("RETRY-AFTER"))
                if retry_after is None:
                    retry_after = DEFAULT_BAN_SECONDS if status == 418 else 60.0 - self._wall() % 60.0
                until = self._clock() + retry_after
                if until > self._blocked_until:
                    self._blocked_until = until
                if status == 418:
                    self._blocked_why = "Binance has banned this IP address for sending too many requests (HTTP 418)"
                    announce = (f"Binance has banned this computer's IP address for {retry_after:.0f}s for sending "
                                "too many requests (HTTP 418); the bot sends nothing until the ban ends and then "
                                "goes on by itself.")
                else:
                    self._blocked_why = "rate limited by Binance (HTTP 429)"
        if announce:
            for listener in list(self.on_ban):
                listener(announce)


DEFAULT_ORDER_LIMITS = {"10S": 300, "1M": 1200}  # USDⓈ-M ORDERS rateLimits per account
_UNIT_SECONDS = {"S": 1, "M": 60, "H": 3600, "D": 86400}


def _window_seconds(interval: str) -> int | None:
    """``"10S"`` -> 10, ``"1M"`` -> 60 (Binance's header suffix: number then unit letter)."""
    number, unit = interval[:-1], interval[-1:].upper()
    if not number.isdigit() or unit not in _UNIT_SECONDS:
        return None
    return int(number) * _UNIT_SECONDS[unit]


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _float(value: object) -> float | None:
    try:
        return float(str(value)) if value is not None else None
    except ValueError:
        return None
