"""Kline download from Binance USDT-M futures: GET /fapi/v1/klines, paginated and resumable.

One file per symbol and interval, ``<out>/<SYMBOL>-<interval>.csv`` with the
header ``open_time,open,high,low,close,volume`` (the format
adapters.kline_files reads). Pages of up to 1500 candles are appended as they
arrive, so an interrupted download keeps what it got; running the same command
again appends only what is missing after the file's last candle. Only closed
candles are written (``close_time`` before the injected clock's now).

The public market-data endpoint needs no API key. Retryable failures (network,
timeouts, 5xx, 429/418 rate limits) are retried with back-off; anything else is
a :class:`DownloadError` sentence.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from adapters.kline_files import COLUMNS, interval_to_ms
from core.errors import UserError

DEFAULT_BASE_URL = "https://fapi.binance.com"
KLINES_PATH = "/fapi/v1/klines"
PAGE_LIMIT = 1500  # the endpoint's maximum
RETRY_STATUSES = frozenset({418, 429, 500, 502, 503, 504})

Fetch = Callable[[str, float], bytes]
ProgressCallback = Callable[[int, int], None]


class DownloadError(UserError):
    """The download cannot go on; the message says why (and that a re-run resumes)."""


class _Retryable(Exception):
    def __init__(self, message: str, wait: float | None = None):
        super().__init__(message)
        self.wait = wait


def http_get(url: str, timeout: float) -> bytes:
    """GET ``url``; raises _Retryable for errors that may pass, DownloadError for the rest."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        body = error.read().decode("utf-8", "replace")[:200]
        if error.code in RETRY_STATUSES:
            retry_after = error.headers.get("Retry-After")
            raise _Retryable(f"HTTP {error.code}", float(retry_after) if retry_after else None) from error
        raise DownloadError(f"Binance refused the request ({error.code}): {_exchange_message(body)}") from error
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
        raise _Retryable(f"network error: {getattr(error, 'reason', error)}") from error


def _exchange_message(body: str) -> str:
    try:
        return str(json.loads(body).get("msg", body))
    except (ValueError, AttributeError):
        return body


@dataclass
class DownloadResult:
    symbol: str
    path: Path
    added: int  # candles appended by this run
    last_open_time: int | None  # of the file's last candle after this run
    pages: int
    note: str = ""


class KlineDownloader:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        fetch: Fetch = http_get,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 3,
        backoff_seconds: tuple[float, ...] = (1.0, 2.0, 4.0),
        timeout: float = 10.0,
        page_limit: int = PAGE_LIMIT,
    ):
        self.base_url = base_url.rstrip("/")
        self.fetch = fetch
        self.now_ms = now_ms
        self.sleep = sleep
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.timeout = timeout
        self.page_limit = page_limit

    def page(self, symbol: str, interval: str, start_ms: int, end_ms: int) -> list[list]:
        """One page of raw klines opening in [start_ms, end_ms]."""
        query = urllib.parse.urlencode({"symbol": symbol, "interval": interval, "startTime": start_ms,
                                        "endTime": end_ms, "limit": self.page_limit})
        return self.get_list(f"{self.base_url}{KLINES_PATH}?{query}", symbol)

    def get_list(self, url: str, symbol: str, what: str = "") -> list:
        """GET ``url`` with retries and back-off; its JSON list, or one sentence saying how to resume.
        ``what`` names the data in the sentences ("funding " for funding rates)."""
        for attempt in range(self.max_retries + 1):
            try:
                body = self.fetch(url, self.timeout)
                break
            except _Retryable as error:
                if attempt == self.max_retries:
                    raise DownloadError(f"{symbol}: {what}download stopped after {attempt} retries ({error}); "
                                        "run the same command again to resume") from error
                self.sleep(error.wait if error.wait is not None else
                           self.backoff_seconds[min(attempt, len(self.backoff_seconds) - 1)])
        try:
            rows = json.loads(body)
        except ValueError as error:
            raise DownloadError(f"{symbol}: the exchange's {what}answer is not JSON; run again to resume") from error
        if not isinstance(rows, list):
            raise DownloadError(f"{symbol}: unexpected {what}answer from the exchange: {str(rows)[:120]}")
        return rows

    def download(
        self,
        symbol: str,
        interval: str,
        start_ms: int,
        end_ms: int | None,
        out_dir: Path | str,
        progress: ProgressCallback | None = None,
    ) -> DownloadResult:
        """Append ``symbol``'s closed candles opening in [start_ms, end_ms) to its file."""
        step = interval_to_ms(interval)
        path = Path(out_dir) / f"{symbol}-{interval}.csv"
        with ResumableCsv(path, COLUMNS) as out:
            note = ""
            if out.first is not None and start_ms < out.first:
                note = (f"{path.name} starts later than --start; earlier candles were not fetched "
                        "(download into a new folder to get them)")
            cursor = start_ms if out.last is None else max(start_ms, out.last + step)
            now = self.now_ms()
            stop = now if end_ms is None else min(end_ms, now)
            total = max(0, (stop - cursor + step - 1) // step)
            pages = 0
            while cursor < stop:
                rows = self.page(symbol, interval, cursor, stop - 1)
                pages += 1
                closed = [row for row in rows if _valid_row(row) and int(row[0]) >= cursor
                          and int(row[0]) < stop and int(row[6]) < now]
                if closed:
                    out.append([",".join(str(v) for v in row[:6]) for row in closed], int(closed[-1][0]))
                    cursor = out.last + step
                if progress is not None:
                    progress(out.added, total)
                if len(rows) < self.page_limit or not closed:
                    break
        return DownloadResult(symbol, path, out.added, out.last, pages, note)


class ResumableCsv:
    """A downloaded CSV that grows page by page and survives an interruption (the klines' and the
    funding rates' shared scaffolding).

    On entering: the file's first and last time (its first column) and, for a file that does not
    exist yet, a temporary ``<name>.part`` with the header: it gets its real name only once rows
    arrived, so a failed first download never leaves a header-only file that loaders refuse.
    :meth:`append` writes one page and syncs it to disk, so what arrived is kept even when a
    later page fails; an existing file is only appended to (a re-run resumes after its last row).
    """

    def __init__(self, path: Path, columns: tuple[str, ...] | list[str]):
        self.path = Path(path)
        self.columns = tuple(columns)
        self.first: int | None = None
        self.last: int | None = None
        self.added = 0
        self.new = False
        self._target = self.path
        self._handle = None

    def __enter__(self) -> "ResumableCsv":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.first, self.last = file_bounds(self.path)
        self.new = self.last is None
        self._target = self.path.with_name(self.path.name + ".part") if self.new else self.path
        self._handle = open(self._target, "w" if self.new else "a", encoding="utf-8", newline="")
        if self.new:
            self._handle.write(",".join(self.columns) + "\n")
        return self

    def append(self, lines: list[str], last_time: int) -> None:
        """One page of CSV lines (without line ends), the last of which starts with ``last_time``."""
        if not lines:
            return
        self._handle.write("".join(line + "\n" for line in lines))
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.added += len(lines)
        self.last = last_time

    def __exit__(self, *exc: object) -> None:
        self._handle.close()
        if self.new:
            if self.added:
                self._target.replace(self.path)  # what arrived is kept, even when a later page failed
            else:
                self._target.unlink(missing_ok=True)


def _valid_row(row: object) -> bool:
    return isinstance(row, list) and len(row) >= 7


def file_bounds(path: Path) -> tuple[int | None, int | None]:
    """First and last open_time in a downloaded CSV (None, None when absent or empty)."""
    if not path.exists():
        return None, None
    first = last = None
    with open(path, "rb") as handle:
        for line in handle:
            head = line.split(b",", 1)[0].strip()
            if head.isdigit():
                first = int(head)
                break
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 4096))
        for line in reversed(handle.read().splitlines()):
            head = line.split(b",", 1)[0].strip()
            if head.isdigit():
                last = int(head)
                break
    return first, last
