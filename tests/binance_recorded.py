"""Recorded Binance answers served to the real python-binance client: only its HTTP session's
transport is swapped (a requests adapter mounted on ``client.session``), so the client's URL
building, signing and error handling run as they do against Binance. Nothing leaves the process.

The payloads are in tests/data/binance-real (see its SOURCES.md)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from adapters.binance_futures import BinanceFuturesAdapter
from adapters.secrets import ApiCredentials

REAL = Path(__file__).resolve().parent / "data" / "binance-real"
SERVER_TIME_MS = 1_766_412_825_000


def load(relative: str) -> Any:
    return json.loads((REAL / relative).read_text())


def frames(relative: str) -> list[str]:
    """The stream frames of a recorded file: one per line (.jsonl) or the whole file (.json)."""
    text = (REAL / relative).read_text()
    if relative.endswith(".jsonl"):
        return [line for line in text.splitlines() if line.strip()]
    return [text]


def error_body(code: int, message_start: str = "") -> dict:
    """A recorded error body from errors/error_bodies.json by code (and message start)."""
    for body in load("errors/error_bodies.json").values():
        if body["code"] == code and body["msg"].startswith(message_start):
            return body
    raise KeyError(code)


class Answer:
    def __init__(self, body: Any, status: int = 200, headers: dict[str, str] | None = None):
        self.body, self.status, self.headers = body, status, headers or {}


class RecordedTransport(BaseAdapter):
    """Answers by (method, path); a list of answers is served in turn (the last one repeats)."""

    def __init__(self, routes: dict[tuple[str, str], Answer | list[Answer]]):
        super().__init__()
        self.routes = {"GET /fapi/v1/time": Answer({"serverTime": SERVER_TIME_MS})}
        self.routes.update({f"{method} {path}": answer for (method, path), answer in routes.items()})
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url)
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        params = dict(parse_qsl(parts.query)) | dict(parse_qsl(body))
        self.requests.append((request.method, parts.path, params))
        answer = self.routes.get(f"{request.method} {parts.path}")
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if answer is None:
            answer = Answer({"code": -1099, "msg": "Not found, unauthenticated, or unauthorized."}, 404)
        response = requests.Response()
        response.status_code = answer.status
        response._content = (answer.body if isinstance(answer.body, str) else json.dumps(answer.body)).encode()
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **answer.headers})
        response.url, response.request, response.encoding = request.url, request, "utf-8"
        return response

    def close(self) -> None:
        pass


def recorded_adapter(routes: dict[tuple[str, str], Answer | list[Answer]],
                     **kwargs: Any) -> tuple[BinanceFuturesAdapter, RecordedTransport]:
    """A demo-trading adapter whose python-binance client is served ``routes``."""
    adapter = BinanceFuturesAdapter(ApiCredentials("recorded-key", "recorded-secret"), demo=True,
                                    clock=lambda: SERVER_TIME_MS / 1000, **kwargs)
    transport = RecordedTransport(routes)
    adapter.client.session.mount("https://", transport)
    return adapter, transport
