"""Fault injection: rules that make the next matching request(s) misbehave.

A rule matches a request by HTTP method and path (``*`` = any) and, for order
endpoints, optionally by client order id. It fires ``times`` times, then is
gone. One request fires every matching latency rule but only the first other
matching rule (rules queue up). Kinds:

- ``latency``      sleep ``latency_ms`` before handling (the request is still executed:
                   a client that times out does not know the outcome)
- ``http_error``   answer ``status`` (e.g. 500, 502) with a plain-text body; not executed
- ``unknown_after_execute``  execute the request, then answer 503
                   "Unknown error, please check your request or try again later."
- ``error``        answer Binance error ``code`` (e.g. -1006, -1007, -2019); with
                   ``execute: true`` the request is executed first
- ``rate_limit``   429 / -1003, with a ``Retry-After`` header when ``retry_after`` is given
- ``timestamp``    -1021 once (as if the client's clock had drifted)
- ``partial_fill`` the order fills ``fill_ratio`` of its quantity, then EXPIRED

Order faults that finish later, on a timer of the fake's own event loop (``delay_ms`` after
the request arrived). A reset cancels every pending timer and starts a new account epoch,
so nothing armed before a reset can touch the account after it:

- ``execute_later``  the order request is answered with ``answer`` -- ``"503"`` (HTTP 503
                   "Unknown error, please check your request or try again later."), ``"-1007"``
                   (timeout waiting for the backend) or ``"timeout"`` (the answer is held
                   ``latency_ms``, so a client with a shorter timeout gives up) -- and the order
                   is executed ``delay_ms`` after the request arrived: before, during or after the
                   answer. Until then a query answers -2013 "Order does not exist."
- ``ack_only``     a MARKET order answers status NEW, executedQty 0, and fills ``delay_ms`` later
- ``partial_then_fill``  answers PARTIALLY_FILLED with ``fill_ratio`` executed; the rest fills
                   ``delay_ms`` later (then FILLED)
- ``invisible``    the order executes normally, but queries answer -2013 for ``delay_ms`` after
                   it was created (delayed visibility)
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from decimal import Decimal

KINDS = ("latency", "http_error", "unknown_after_execute", "error", "rate_limit", "timestamp", "partial_fill",
         "execute_later", "ack_only", "partial_then_fill", "invisible", "service_unavailable", "me_recv_window")
ORDER_KINDS = ("partial_fill", "execute_later", "ack_only", "partial_then_fill", "invisible")
ANSWERS = ("503", "-1007", "timeout")


@dataclass
class Fault:
    kind: str
    path: str = "*"
    method: str = "*"
    client_id: str | None = None
    times: int = 1
    latency_ms: int = 0
    status: int = 500
    code: int | None = None
    execute: bool = False
    retry_after: int | None = None
    fill_ratio: str = "0.5"
    delay_ms: int = 0
    answer: str = "503"
    fired: int = field(default=0)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        Decimal(self.fill_ratio)  # validate early
        if self.answer not in ANSWERS:
            raise ValueError(f"unknown answer {self.answer!r}; one of {', '.join(ANSWERS)}")
        if self.delay_ms < 0 or self.latency_ms < 0:
            raise ValueError("delay_ms and latency_ms cannot be negative")

    def matches(self, method: str, path: str, client_id: str | None) -> bool:
        return ((self.method == "*" or self.method.upper() == method.upper())
                and (self.path == "*" or self.path == path)
                and (self.client_id is None or self.client_id == client_id))


class FaultBook:
    """The armed rules. ``take`` returns (and uses up) every rule that fires for a request."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self.history: list[dict[str, object]] = []  # fired faults, for test assertions

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._rules.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def armed(self) -> list[dict[str, object]]:
        with self._lock:
            return [asdict(rule) for rule in self._rules]

    def take(self, method: str, path: str, client_id: str | None) -> list[Fault]:
        """Latency rules all apply; of the other rules only the first matching one fires, so
        rules armed one after another hit consecutive requests."""
        with self._lock:
            fired = []
            answered = False
            for rule in list(self._rules):
                if rule.matches(method, path, client_id) and not (answered and rule.kind != "latency"):
                    answered = answered or rule.kind != "latency"
                    rule.fired += 1
                    fired.append(rule)
                    self.history.append({"kind": rule.kind, "method": method, "path": path, "client_id": client_id})
                    if rule.fired >= rule.times:
                        self._rules.remove(rule)
            return fired
