"""adapters.kline_files: formats, cleaning, gaps, daily resampling [B5] and file/line errors."""
from __future__ import annotations

import gzip
import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from adapters.kline_files import (
    KlineFileError,
    available_symbols,
    load_funding_csv,
    load_symbol,
    parse_kline_text,
    resample_daily,
)
from tests.conftest import BUNDLED_DATA

T = 1_704_067_200_000  # 2024-01-01 00:00 UTC
STEP = 300_000
SHORT_HEADER = "open_time,open,high,low,close,volume\n"
BINANCE_HEADER = ("open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
                  "taker_buy_quote_volume,ignore\n")


def binance_row(k: int, close: float, stamp_scale: int = 1) -> str:
    t = T + k * STEP
    return (f"{t * stamp_scale},{close},{close + 1},{close - 1},{close},10,{(t + STEP - 1) * stamp_scale},"
            f"100,5,4,40,0\n")


def test_all_formats_give_the_same_frame(tmp_path):
    rows = [binance_row(k, 100 + k) for k in range(5)]
    short = SHORT_HEADER + "".join(",".join(r.split(",")[:6]) + "\n" for r in rows)
    (tmp_path / "AAAUSDT-5m.csv").write_text(short)
    (tmp_path / "BBBUSDT-5m.csv.gz").write_bytes(gzip.compress((BINANCE_HEADER + "".join(rows)).encode()))
    with zipfile.ZipFile(tmp_path / "CCCUSDT-5m.zip", "w") as archive:
        archive.writestr("CCCUSDT-5m-2024-01.csv", "".join(rows))  # exchange zip: no header
    frames = [load_symbol(tmp_path, s).frame for s in ("AAAUSDT", "BBBUSDT", "CCCUSDT")]
    for frame in frames:
        pd.testing.assert_frame_equal(frame, frames[0])
    assert list(frames[0].columns) == ["open_time", "open", "high", "low", "close", "volume"]
    assert frames[0].open_time.dtype == np.int64 and frames[0].close.dtype == np.float64
    assert frames[0].close.tolist() == [100, 101, 102, 103, 104]
    assert available_symbols(tmp_path) == ["AAAUSDT", "BBBUSDT", "CCCUSDT"]


def test_monthly_zips_are_joined_sorted_deduplicated_and_microseconds_converted(tmp_path):
    for name, ks in (("2024-01", [2, 3, 4]), ("2023-12", [0, 1, 2])):
        with zipfile.ZipFile(tmp_path / f"DOGEUSDT-5m-{name}.zip", "w") as archive:
            scale = 1000 if name == "2024-01" else 1  # newer exchange files stamp in microseconds
            archive.writestr(f"DOGEUSDT-5m-{name}.csv", "".join(binance_row(k, 100 + k, scale) for k in ks))
    loaded = load_symbol(tmp_path, "DOGEUSDT")
    assert loaded.frame.open_time.tolist() == [T + k * STEP for k in range(5)]
    assert loaded.duplicates_dropped == 1 and loaded.gaps == []
    assert len(loaded.sources) == 2


def test_unsorted_rows_duplicates_and_gaps_are_reported(tmp_path):
    ks = [3, 0, 1, 1, 7, 8, 12]
    (tmp_path / "DOGEUSDT-5m.csv").write_text(SHORT_HEADER + "".join(
        f"{T + k * STEP},1,1,1,{k + 1},1\n" for k in ks))
    loaded = load_symbol(tmp_path, "DOGEUSDT")
    assert loaded.frame.open_time.tolist() == [T + k * STEP for k in (0, 1, 3, 7, 8, 12)]
    assert loaded.duplicates_dropped == 1
    assert [(g.after_open_time, g.missing) for g in loaded.gaps] == [(T + STEP, 1), (T + 3 * STEP, 3),
                                                                     (T + 8 * STEP, 3)]
    assert loaded.missing_candles == 7
    assert loaded.gap_summary().startswith("DOGEUSDT 5m: 7 candles missing in 3 gaps (1 missing from 2024-01-01 00:10")


def test_bundled_sample_gap_is_the_known_exchange_halt():
    loaded = load_symbol(BUNDLED_DATA / "sample", "ALGOUSDT")
    assert loaded.missing_candles == 16 and len(loaded.gaps) == 1
    assert "2023-03-24 12:40 to 2023-03-24 13:55" in loaded.gap_summary()


@pytest.mark.parametrize("body, line, what", [
    ("1704067200000,1,1,1,1,1\n1704067500000,1,1,1,abc,1\n", 3, "is not a candle"),
    ("1704067200000,1,1,1,1,1\n\n1704067500000,1,1,1,-2,1\n", 4, "is not a candle"),  # blank line counted
    ("1704067200000,1,1,1,1,1\n1704067500000,1,1,1\n", 3, "is not a candle"),
    ("1704067200000,1,1,1,1,1\n1704067500000,1,1,1,1,1,7,8\n", 3, "malformed CSV"),
])
def test_malformed_file_names_file_and_line(tmp_path, body, line, what):
    path = tmp_path / "DOGEUSDT-5m.csv"
    path.write_text(SHORT_HEADER + body)
    with pytest.raises(KlineFileError) as caught:
        load_symbol(tmp_path, "DOGEUSDT")
    message = str(caught.value)
    assert str(path) in message and what in message and f"line {line}" in message


def test_missing_and_unreadable_files_are_one_sentence(tmp_path):
    with pytest.raises(KlineFileError, match="does not exist"):
        load_symbol(tmp_path / "nope", "DOGEUSDT")
    (tmp_path / "ALGOUSDT-5m.csv").write_text(SHORT_HEADER + "1704067200000,1,1,1,1,1\n")
    with pytest.raises(KlineFileError, match=r"no 5m data for DOGEUSDT .* symbols with 5m data there: ALGOUSDT"):
        load_symbol(tmp_path, "DOGEUSDT")
    assert load_symbol(tmp_path, "ALGOUSDT", "1d", required=False) is None
    (tmp_path / "XRPUSDT-5m.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(KlineFileError, match="XRPUSDT-5m.csv.gz cannot be read"):
        load_symbol(tmp_path, "XRPUSDT")
    (tmp_path / "ADAUSDT-5m.csv").write_text(SHORT_HEADER)
    with pytest.raises(KlineFileError, match="header but no candles"):
        load_symbol(tmp_path, "ADAUSDT")


def test_b5_resampled_daily_equals_the_exchange_daily_file_on_full_days():
    five = load_symbol(BUNDLED_DATA / "sample", "DOGEUSDT", "5m").frame
    daily_file = load_symbol(BUNDLED_DATA / "sample", "DOGEUSDT", "1d").frame
    resampled = resample_daily(five)
    merged = resampled.merge(daily_file, on="open_time", suffixes=("", "_file"))
    assert len(merged) == len(resampled) > 400  # every resampled day exists in the file
    for column in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(merged[column], merged[f"{column}_file"])
    # The trailing partial day (2023-09-27 ends at 18:25) is not a closed candle.
    assert resampled.open_time.iloc[-1] == 1_695_686_400_000  # 2023-09-26


def test_parse_text_without_header_and_bom():
    frame = parse_kline_text("\ufeff1704067200000,1.5,2,1,1.75,3\n")
    assert frame.iloc[0].tolist() == [1704067200000, 1.5, 2, 1, 1.75, 3]


def test_funding_csv_formats(tmp_path):
    explicit = tmp_path / "funding.csv"
    explicit.write_text("symbol,funding_time,funding_rate\nDOGEUSDT,1704067200000,0.0001\n"
                        "ALGOUSDT,2024-01-01T08:00:00Z,-0.0002\n")
    rates = load_funding_csv(explicit)
    assert rates["DOGEUSDT"].funding_time.tolist() == [1704067200000]
    assert rates["ALGOUSDT"].funding_time.tolist() == [1704067200000 + 8 * 3_600_000]
    assert rates["ALGOUSDT"].funding_rate.tolist() == [-0.0002]
    exchange = tmp_path / "DOGEUSDT-fundingRate-2024-01.csv"  # data.binance.vision layout
    exchange.write_text("calc_time,funding_interval_hours,last_funding_rate\n1704067200000,8,0.0001\n")
    assert list(load_funding_csv(exchange)) == ["DOGEUSDT"]
    broken = tmp_path / "broken.csv"
    broken.write_text("symbol,funding_time,funding_rate\nDOGEUSDT,1704067200000,lots\n")
    with pytest.raises(KlineFileError, match="line 2"):
        load_funding_csv(broken)
