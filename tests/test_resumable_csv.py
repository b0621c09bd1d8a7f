"""The download files' shared scaffolding (adapters.kline_download.ResumableCsv), used by the
kline and the funding-rate downloads: a new file appears only once rows arrived, what arrived is
kept when a later page fails, and a re-run appends after the file's last row."""
from __future__ import annotations

import pytest

from adapters.kline_download import ResumableCsv


def test_a_first_download_that_fails_at_once_leaves_no_file(tmp_path):
    path = tmp_path / "X-fundingRate.csv"
    with pytest.raises(RuntimeError):
        with ResumableCsv(path, ("funding_time", "symbol", "funding_rate")):
            raise RuntimeError("network down")
    assert list(tmp_path.iterdir()) == []  # no header-only file, no .part left behind


def test_pages_that_arrived_are_kept_when_a_later_page_fails_and_a_rerun_appends(tmp_path):
    path = tmp_path / "X-5m.csv"
    with pytest.raises(RuntimeError):
        with ResumableCsv(path, ("open_time", "close")) as out:
            assert out.new and out.last is None
            out.append(["1000,1.5", "2000,1.6"], 2000)
            raise RuntimeError("page 2 failed")
    assert path.read_text() == "open_time,close\n1000,1.5\n2000,1.6\n"
    with ResumableCsv(path, ("open_time", "close")) as out:
        assert (out.new, out.first, out.last) == (False, 1000, 2000)
        out.append(["3000,1.7"], 3000)
        out.append([], 3000)  # an empty page writes nothing
    assert path.read_text() == "open_time,close\n1000,1.5\n2000,1.6\n3000,1.7\n"
    assert out.added == 1 and not (tmp_path / "X-5m.csv.part").exists()
