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
        self.on_ban: list[Callable[[str], None]] = []

    def adopt_limit(self, limit: int | None) -> None:
        """The exchange's own limit (exchangeInfo ``rateLimits``) when it is lower."""
        if limit:
            with self._lock:
                self.weight_limit = min(self.weight_limit, limit)

    @property
    def used_weight(self) -> int:
        with self._lock:
            return self._used_weight if self._weight_minute == self._minute() else 0

    def _minute(self) -> int:
        return int(self._wall() // 60)

    def before_request(self) -> None:
        """Raise a RetryableError (nothing is sent) while the exchange asked us to wait."""
        with self._lock:
            now = self._clock()
            if now < self._blocked_until:
                wait = self._blocked_until - now
                raise RetryableError(f"{self._blocked_why}: no request is sent to Binance for {wait:.0f}s more",
                                     429, retry_after=wait)
            if self._weight_minute == self._minute() and self._used_weight >= self.headroom * self.weight_limit:
                wait = 60.0 - self._wall() % 60.0
                raise RetryableError(f"request weight {self._used_weight} of {self.weight_limit} used this "
                                     f"minute: waiting {wait:.0f}s for the next minute", None, retry_after=wait)

    def after_response(self, status: int | None, headers: Mapping[str, str] | None) -> None:
        """Read the used weight, and a 429/418's Retry-After, from an answer."""
        headers = headers or {}
        announce = ""
        with self._lock:
            used = _int(headers.get("X-MBX-USED-WEIGHT-1M") or headers.get("x-mbx-used-weight-1m"))
            if used is not None:
                self._used_weight = used
                self._weight_minute = self._minute()
            if status in (429, 418):
                retry_after = _float(headers.get("Retry-After") or headers.get("retry-after"))
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
