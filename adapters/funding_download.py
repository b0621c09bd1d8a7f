"""Funding-rate download from Binance USDT-M futures: GET /fapi/v1/fundingRate, paginated and
resumable like the klines (adapters.kline_download).

"Get Funding Rate History" (developers.binance.com, USDS-M futures, market-data/rest-api):
public; ``symbol``, ``startTime``, ``endTime``, ``limit`` (default 100, max 1000); "if the
number of data between startTime and endTime is larger than limit, return as startTime +
limit"; rows ``symbol, fundingRate, fundingTime, markPrice``; the endpoint shares a limit of
500 requests per 5 minutes per IP with fundingInfo.

One file per symbol beside its klines: ``<out>/<SYMBOL>-fundingRate.csv`` with the header
``funding_time,symbol,funding_rate,mark_price`` (what adapters.kline_files.load_funding_csv
reads; the backtest finds it in the data folder by that name). Pages are appended as they
arrive; a re-run appends only the payments after the file's last one.
"""
from __future__ import annotations

import urllib.parse
from pathlib import Path

from adapters.kline_download import DownloadResult, KlineDownloader, ResumableCsv

FUNDING_PATH = "/fapi/v1/fundingRate"
FUNDING_PAGE_LIMIT = 1000  # the endpoint's maximum
FUNDING_COLUMNS = ("funding_time", "symbol", "funding_rate", "mark_price")


def funding_file(folder: Path | str, symbol: str) -> Path:
    return Path(folder) / f"{symbol}-fundingRate.csv"


class FundingDownloader(KlineDownloader):
    """The kline downloader's HTTP, retries and clock, for funding rates."""

    def funding_page(self, symbol: str, start_ms: int, end_ms: int) -> list[dict]:
        query = urllib.parse.urlencode({"symbol": symbol, "startTime": start_ms, "endTime": end_ms,
                                        "limit": FUNDING_PAGE_LIMIT})
        rows = self.get_list(f"{self.base_url}{FUNDING_PATH}?{query}", symbol, "funding ")
        return [row for row in rows if isinstance(row, dict) and "fundingTime" in row and "fundingRate" in row]

    def download_funding(self, symbol: str, start_ms: int, end_ms: int | None, out_dir: Path | str) -> DownloadResult:
        """Append ``symbol``'s funding payments in [start_ms, end_ms) to its file."""
        path = funding_file(out_dir, symbol)
        pages = 0
        with ResumableCsv(path, FUNDING_COLUMNS) as out:
            cursor = start_ms if out.last is None else max(start_ms, out.last + 1)
            stop = self.now_ms() if end_ms is None else min(end_ms, self.now_ms())
            while cursor < stop:
                rows = self.funding_page(symbol, cursor, stop - 1)
                pages += 1
                rows = sorted((r for r in rows if cursor <= int(r["fundingTime"]) < stop),
                              key=lambda r: int(r["fundingTime"]))
                if rows:
                    out.append([f"{int(r['fundingTime'])},{symbol},{r['fundingRate']},{r.get('markPrice', '')}"
                                for r in rows], int(rows[-1]["fundingTime"]))
                    cursor = out.last + 1
                if len(rows) < FUNDING_PAGE_LIMIT:
                    break
        return DownloadResult(symbol, path, out.added, out.last, pages)
