"""Kline download against a local HTTP server on 127.0.0.1 that answers /fapi/v1/klines like Binance.

The server's pages are cut from the real DOGEUSDT 5m candles of the bundled
sample, in the exchange's 12-field row format (prices as strings, close_time =
open_time + interval - 1), honouring startTime, endTime (inclusive) and limit.
"""
from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

import main
from adapters.funding_download import FundingDownloader
from adapters.kline_download import DownloadError, KlineDownloader
from adapters.kline_files import load_funding_csv, load_symbol
from core.model import FIVE_MINUTES_MS
from tests.conftest import BUNDLED_DATA

DAY = 86_400_000
START = 1_667_260_800_000  # 2022-11-01 00:00 UTC
SOURCE = load_symbol(BUNDLED_DATA / "sample", "DOGEUSDT", "5m").frame
SOURCE = SOURCE[(SOURCE.open_time >= START) & (SOURCE.open_time < START + 10 * DAY)].reset_index(drop=True)
EIGHT_HOURS = 8 * 3_600_000
# Funding every 8 hours for 420 days up to the sample's end (1,260 payments: two pages), rates of both signs.
FUNDING = [{"symbol": "DOGEUSDT", "fundingRate": f"{(n % 7 - 3) * 0.00005:.8f}",
            "fundingTime": START - 410 * DAY + n * EIGHT_HOURS, "markPrice": "0.08"} for n in range(420 * 3)]


class FakeKlines:
    """State shared with the request handler: the rows, the requests seen, injected faults."""

    def __init__(self):
        self.requests: list[dict[str, str]] = []
        self.fail_from: int | None = None  # answer 500 from this request number on
        self.fail_status = 500
        self.retry_after: str | None = None
        self.fail_count: int | None = None  # how many requests fail (None = all from fail_from)

    def answer(self, query: dict[str, str], path: str = "/fapi/v1/klines") -> tuple[int, dict, bytes]:
        self.requests.append(query)
        number = len(self.requests)
        if self.fail_from is not None and number >= self.fail_from and (
                self.fail_count is None or number < self.fail_from + self.fail_count):
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return self.fail_status, headers, b'{"code":-1000,"msg":"An unknown error occured."}'
        if query.get("symbol") != "DOGEUSDT":
            return 400, {}, b'{"code":-1121,"msg":"Invalid symbol."}'
        start, end, limit = int(query["startTime"]), int(query["endTime"]), int(query["limit"])
        if path == "/fapi/v1/fundingRate":  # Get Funding Rate History: from startTime, at most limit (<= 1000)
            assert limit <= 1000
            rows = [row for row in FUNDING if start <= row["fundingTime"] <= end][:limit]
            return 200, {}, json.dumps(rows).encode()
        assert limit <= 1500
        rows = SOURCE[(SOURCE.open_time >= start) & (SOURCE.open_time <= end)].head(limit)
        body = [[int(r.open_time), repr(r.open), repr(r.high), repr(r.low), repr(r.close), repr(r.volume),
                 int(r.open_time) + FIVE_MINUTES_MS - 1, "0", 1, "0", "0", "0"] for r in rows.itertuples()]
        return 200, {}, json.dumps(body).encode()


@pytest.fixture
def server():
    fake = FakeKlines()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            parsed = urllib.parse.urlparse(self.path)
            assert parsed.path in ("/fapi/v1/klines", "/fapi/v1/fundingRate")
            status, headers, body = fake.answer(dict(urllib.parse.parse_qsl(parsed.query)), parsed.path)
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield fake
    httpd.shutdown()
    httpd.server_close()


def downloader(fake, now=START + 30 * DAY, **kwargs) -> KlineDownloader:
    kwargs.setdefault("sleep", lambda seconds: None)
    return KlineDownloader(base_url=fake.url, now_ms=lambda: now, **kwargs)


def expected(start: int, end: int) -> pd.DataFrame:
    return SOURCE[(SOURCE.open_time >= start) & (SOURCE.open_time < end)].reset_index(drop=True)


def loaded(folder) -> pd.DataFrame:
    return load_symbol(folder, "DOGEUSDT", "5m").frame


def test_paginates_1500_per_page_and_writes_the_loader_format(server, tmp_path):
    result = downloader(server).download("DOGEUSDT", "5m", START, START + 6 * DAY, tmp_path)
    assert result.added == 6 * 288 and result.pages == 2
    assert [q["limit"] for q in server.requests] == ["1500", "1500"]
    assert int(server.requests[1]["startTime"]) == START + 1500 * FIVE_MINUTES_MS
    pd.testing.assert_frame_equal(loaded(tmp_path), expected(START, START + 6 * DAY))


def test_resumes_by_appending_only_what_is_missing(server, tmp_path):
    downloader(server).download("DOGEUSDT", "5m", START, START + 2 * DAY, tmp_path)
    server.requests.clear()
    result = downloader(server).download("DOGEUSDT", "5m", START, START + 7 * DAY, tmp_path)
    assert result.added == 5 * 288
    assert int(server.requests[0]["startTime"]) == START + 2 * DAY  # right after the file's last candle
    pd.testing.assert_frame_equal(loaded(tmp_path), expected(START, START + 7 * DAY))
    again = downloader(server).download("DOGEUSDT", "5m", START, START + 7 * DAY, tmp_path)
    assert again.added == 0  # nothing missing: nothing fetched, nothing appended


def test_interrupted_download_keeps_pages_and_a_rerun_completes_it(server, tmp_path):
    server.fail_from = 2
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        downloader(server, max_retries=2).download("DOGEUSDT", "5m", START, START + 8 * DAY, tmp_path)
    assert len(server.requests) == 1 + 3  # the first page, then one failing request and 2 retries
    assert len(loaded(tmp_path)) == 1500
    server.fail_from = None
    downloader(server).download("DOGEUSDT", "5m", START, START + 8 * DAY, tmp_path)
    pd.testing.assert_frame_equal(loaded(tmp_path), expected(START, START + 8 * DAY))


def test_a_first_download_that_gets_nothing_leaves_no_file(server, tmp_path):
    """No header-only CSV that backtest would then refuse: the temporary file is removed."""
    server.fail_from = 1
    with pytest.raises(DownloadError):
        downloader(server, max_retries=1).download("DOGEUSDT", "5m", START, START + DAY, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_first_download_is_a_part_file_until_candles_arrived(server, tmp_path):
    seen = []
    result = downloader(server).download("DOGEUSDT", "5m", START, START + 6 * DAY, tmp_path,
                                         progress=lambda done, total: seen.append(sorted(p.name for p in tmp_path.iterdir())))
    assert seen[0] == ["DOGEUSDT-5m.csv.part"]  # while the pages arrive
    assert sorted(p.name for p in tmp_path.iterdir()) == ["DOGEUSDT-5m.csv"] and result.added == 6 * 288


def test_only_closed_candles_are_written(server, tmp_path):
    now = START + DAY + 2 * 60_000  # 2 minutes into a candle: it is still open
    downloader(server, now=now).download("DOGEUSDT", "5m", START, None, tmp_path)
    frame = loaded(tmp_path)
    assert int(frame.open_time.iloc[-1]) + FIVE_MINUTES_MS <= now
    assert len(frame) == 288
    later = downloader(server, now=now + 10 * 60_000).download("DOGEUSDT", "5m", START, None, tmp_path)
    assert later.added == 2


def test_rate_limit_waits_as_asked_then_succeeds(server, tmp_path):
    server.fail_from, server.fail_count, server.fail_status, server.retry_after = 1, 1, 429, "7"
    waits = []
    result = downloader(server, sleep=waits.append).download("DOGEUSDT", "5m", START, START + DAY, tmp_path)
    assert waits == [7.0] and result.added == 288


def test_invalid_symbol_is_one_sentence(server, tmp_path):
    with pytest.raises(DownloadError, match=r"Binance refused the request \(400\): Invalid symbol."):
        downloader(server).download("NOPEUSDT", "5m", START, START + DAY, tmp_path)


def test_download_command_end_to_end(server, tmp_path, capsys):
    argv = ["download", "--symbols", "DOGEUSDT", "--interval", "5m", "--start", "2022-11-01", "--end",
            "2022-11-03", "--out", str(tmp_path), "--base-url", server.url]
    assert main.main(argv) == 0
    out = capsys.readouterr().out
    assert "DOGEUSDT: 864 candles added" in out and "DOGEUSDT: 9 funding rates added" in out  # 3 days x 3
    pd.testing.assert_frame_equal(loaded(tmp_path), expected(START, START + 3 * DAY))
    assert main.main(argv) == 0
    assert "already up to date" in capsys.readouterr().out
    assert main.main([*argv[:-4], "--start", "2022-11-05", "--end", "2022-11-01"]) != 0
    assert "the date range is empty" in capsys.readouterr().err


def funding_downloader(fake, now=START + 30 * DAY, **kwargs) -> FundingDownloader:
    kwargs.setdefault("sleep", lambda seconds: None)
    return FundingDownloader(base_url=fake.url, now_ms=lambda: now, **kwargs)


def test_funding_rates_paginate_1000_per_page_into_the_file_the_backtest_reads(server, tmp_path):
    begin, end = START - 410 * DAY, START + 10 * DAY
    result = funding_downloader(server).download_funding("DOGEUSDT", begin, end, tmp_path)
    assert (result.added, result.pages) == (len(FUNDING), 2)
    assert [int(q["limit"]) for q in server.requests] == [1000, 1000]
    rates = load_funding_csv(tmp_path / "DOGEUSDT-fundingRate.csv")["DOGEUSDT"]
    assert rates.funding_time.tolist() == [row["fundingTime"] for row in FUNDING]
    assert rates.funding_rate.tolist() == [float(row["fundingRate"]) for row in FUNDING]


def test_funding_download_resumes_after_an_interruption(server, tmp_path):
    begin, end = START - 410 * DAY, START + 10 * DAY
    server.fail_from = 2  # the second page fails every retry
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        funding_downloader(server).download_funding("DOGEUSDT", begin, end, tmp_path)
    kept = load_funding_csv(tmp_path / "DOGEUSDT-fundingRate.csv")["DOGEUSDT"]
    assert len(kept) == 1000  # the first page is kept
    server.fail_from = None
    again = funding_downloader(server).download_funding("DOGEUSDT", begin, end, tmp_path)
    assert again.added == len(FUNDING) - 1000
    whole = load_funding_csv(tmp_path / "DOGEUSDT-fundingRate.csv")["DOGEUSDT"]
    assert whole.funding_time.tolist() == [row["fundingTime"] for row in FUNDING]
    assert funding_downloader(server).download_funding("DOGEUSDT", begin, end, tmp_path).added == 0
