"""adapters.kline_cache: the binary copy of a data folder equals the parse, follows its files, and is never trusted blindly."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from adapters import kline_cache, kline_files
from adapters.kline_files import load_symbol
from tests.conftest import BUNDLED_DATA

T = 1_704_067_200_000  # 2024-01-01 00:00 UTC
STEP = 300_000


def csv_text(closes: list[float], skip: tuple[int, ...] = (), repeat: tuple[int, ...] = ()) -> str:
    lines = ["open_time,open,high,low,close,volume"]
    for k, close in enumerate(closes):
        if k in skip:
            continue
        line = f"{T + k * STEP},{close},{close + 1},{close - 1},{close},10"
        lines += [line] * (2 if k in repeat else 1)
    return "\n".join(lines) + "\n"


def parsed(folder, symbol: str, interval: str = "5m") -> kline_files.KlineSet:
    """The files parsed, the cache switched off."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(kline_cache.DISABLE_ENV, "1")
        return load_symbol(folder, symbol, interval)


def no_parsing(monkeypatch) -> None:
    """From here on a load that parses a file fails the test: it must come from the cache."""
    def refuse(path):
        raise AssertionError(f"{path} was parsed although its cache is valid")
    monkeypatch.setattr(kline_files, "read_kline_file", refuse)


@pytest.fixture(autouse=True)
def user_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("AUTOHEDGE_HOME", str(home))
    monkeypatch.delenv(kline_cache.DISABLE_ENV, raising=False)
    return home


def assert_same(cached: kline_files.KlineSet, reference: kline_files.KlineSet) -> None:
    pd.testing.assert_frame_equal(cached.frame, reference.frame, check_exact=True)
    for name in reference.frame.columns:  # bit for bit, NaN-free either way
        assert cached.frame[name].to_numpy().tobytes() == reference.frame[name].to_numpy().tobytes()
    assert cached.gaps == reference.gaps and cached.duplicates_dropped == reference.duplicates_dropped
    assert cached.sources == reference.sources


def test_cached_bundled_data_equals_the_parse_bit_for_bit(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    shutil.copytree(BUNDLED_DATA / "sample", folder, ignore=shutil.ignore_patterns(kline_cache.CACHE_FOLDER))
    wanted = (("DOGEUSDT", "5m"), ("ALGOUSDT", "1d"))
    references = {item: parsed(folder, *item) for item in wanted}
    for item in wanted:
        assert_same(load_symbol(folder, *item), references[item])  # parses and writes the cache
        assert (folder / kline_cache.CACHE_FOLDER / f"{item[0]}-{item[1]}.npz").is_file()
    no_parsing(monkeypatch)
    for item in wanted:
        assert_same(load_symbol(folder, *item), references[item])  # read back from the cache


def test_gaps_and_dropped_duplicates_survive_the_cache(tmp_path, monkeypatch):
    (tmp_path / "AAAUSDT-5m.csv").write_text(csv_text([100.0 + k for k in range(20)], skip=(5, 6), repeat=(9,)))
    reference = parsed(tmp_path, "AAAUSDT")
    assert reference.duplicates_dropped == 1 and reference.missing_candles == 2
    load_symbol(tmp_path, "AAAUSDT")
    no_parsing(monkeypatch)
    assert_same(load_symbol(tmp_path, "AAAUSDT"), reference)


def test_a_changed_source_file_rebuilds_the_cache_even_with_the_same_size_and_time(tmp_path):
    path = tmp_path / "AAAUSDT-5m.csv"
    path.write_text(csv_text([100.0 + k for k in range(10)]))
    assert load_symbol(tmp_path, "AAAUSDT").frame["close"].iloc[3] == 103.0
    stat = path.stat()
    path.write_text(csv_text([100.0 + k for k in range(10)]).replace(",103.0,", ",107.0,"))  # same length
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same modification time
    assert path.stat().st_size == stat.st_size
    changed = load_symbol(tmp_path, "AAAUSDT")
    assert changed.frame["close"].iloc[3] == 107.0
    assert_same(changed, parsed(tmp_path, "AAAUSDT"))


def test_an_added_monthly_file_rebuilds_the_cache(tmp_path):
    (tmp_path / "AAAUSDT-5m-2024-01.csv").write_text(csv_text([100.0, 101.0, 102.0]))
    assert len(load_symbol(tmp_path, "AAAUSDT").frame) == 3
    later = csv_text([100.0] * 3 + [103.0, 104.0]).splitlines()
    (tmp_path / "AAAUSDT-5m-2024-02.csv").write_text("\n".join([later[0], *later[4:]]) + "\n")
    joined = load_symbol(tmp_path, "AAAUSDT")
    assert joined.frame["close"].tolist() == [100.0, 101.0, 102.0, 103.0, 104.0]
    assert len(joined.sources) == 2


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "other_version", "wrong_dtype", "unsorted"])
def test_a_damaged_or_foreign_cache_file_is_ignored_and_rewritten(tmp_path, damage):
    (tmp_path / "AAAUSDT-5m.csv").write_text(csv_text([100.0 + k for k in range(30)]))
    reference = parsed(tmp_path, "AAAUSDT")
    load_symbol(tmp_path, "AAAUSDT")
    cache = tmp_path / kline_cache.CACHE_FOLDER / "AAAUSDT-5m.npz"
    good = cache.read_bytes()
    key = kline_cache.source_key([tmp_path / "AAAUSDT-5m.csv"])
    if damage == "garbage":
        cache.write_bytes(b"not a numpy file at all" * 10)
    elif damage == "truncated":
        cache.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        cache.write_bytes(b"")
    else:
        frame = reference.frame.copy()
        version = kline_cache.FORMAT_VERSION + (1 if damage == "other_version" else 0)
        if damage == "wrong_dtype":
            frame["close"] = frame["close"].astype(np.float32)
        if damage == "unsorted":
            frame = frame.iloc[::-1].reset_index(drop=True)
        meta = {"version": version, "key": key, "rows": len(frame), "duplicates_dropped": 0}
        np.savez(cache, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                 **{name: frame[name].to_numpy() for name in frame.columns})
    assert kline_cache.load(tmp_path, "AAAUSDT", "5m", key) is None  # refused
    assert_same(load_symbol(tmp_path, "AAAUSDT"), reference)  # parsed instead
    assert kline_cache.load(tmp_path, "AAAUSDT", "5m", key) is not None  # and written again, valid


def test_a_folder_that_cannot_hold_the_cache_uses_the_user_folder(tmp_path, user_home, monkeypatch):
    # A file where the cache folder would go: the cache cannot be written beside the data (as in a
    # read-only folder; a file blocks it even for root, who ignores permission bits).
    (tmp_path / kline_cache.CACHE_FOLDER).write_text("in the way")
    (tmp_path / "AAAUSDT-5m.csv").write_text(csv_text([100.0 + k for k in range(10)]))
    reference = parsed(tmp_path, "AAAUSDT")
    assert_same(load_symbol(tmp_path, "AAAUSDT"), reference)
    stored = list((user_home / "cache" / "klines").rglob("AAAUSDT-5m.npz"))
    assert len(stored) == 1
    no_parsing(monkeypatch)
    assert_same(load_symbol(tmp_path, "AAAUSDT"), reference)


def test_no_writable_place_at_all_still_loads(tmp_path, monkeypatch):
    (tmp_path / kline_cache.CACHE_FOLDER).write_text("in the way")
    blocked_home = tmp_path / "home-is-a-file"
    blocked_home.write_text("not a folder")
    monkeypatch.setenv("AUTOHEDGE_HOME", str(blocked_home))
    (tmp_path / "AAAUSDT-5m.csv").write_text(csv_text([100.0 + k for k in range(10)]))
    assert_same(load_symbol(tmp_path, "AAAUSDT"), parsed(tmp_path, "AAAUSDT"))
    assert_same(load_symbol(tmp_path, "AAAUSDT"), parsed(tmp_path, "AAAUSDT"))


def test_a_malformed_file_is_still_one_sentence_and_nothing_is_cached(tmp_path):
    (tmp_path / "AAAUSDT-5m.csv").write_text(csv_text([100.0, 101.0]) + "oops,1,2,3,4,5\n")
    for _ in range(2):
        with pytest.raises(kline_files.KlineFileError, match="line 4"):
            load_symbol(tmp_path, "AAAUSDT")
    assert not (tmp_path / kline_cache.CACHE_FOLDER / "AAAUSDT-5m.npz").exists()
