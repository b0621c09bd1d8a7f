"""``python main.py backtest`` runs the kernel by default; its files are byte-identical to ``--engine exact``."""
from __future__ import annotations

import pytest

import main

SHORT_RANGE = ["--start", "2023-02-01", "--end", "2023-02-05"]
REPORTS = ("trades.csv", "equity.csv", "summary.json")


def backtest(tmp_path, name: str, *extra: str) -> None:
    assert main.main(["backtest", "--out", str(tmp_path / name), *SHORT_RANGE, *extra]) == 0


def printed_table(text: str) -> list[str]:
    """What the command printed, less the line with the elapsed time."""
    return [line for line in text.splitlines() if " bars in " not in line]


@pytest.mark.parametrize("fill", ["next_open", "close"])
def test_default_engine_writes_the_same_bytes_as_exact(tmp_path, capsys, fill):
    options = ["--fill", fill, "--slippage-bps", "3", "--fee-pct", "0.04"]
    backtest(tmp_path, "default", *options)
    default_out = capsys.readouterr().out
    backtest(tmp_path, "exact", "--engine", "exact", *options)
    exact_out = capsys.readouterr().out
    backtest(tmp_path, "kernel", "--engine", "kernel", *options)
    for name in REPORTS:
        exact_bytes = (tmp_path / "exact" / name).read_bytes()
        assert (tmp_path / "default" / name).read_bytes() == exact_bytes, name
        assert (tmp_path / "kernel" / name).read_bytes() == exact_bytes, name
    assert len((tmp_path / "exact" / "trades.csv").read_text().splitlines()) > 100
    assert printed_table(default_out) == printed_table(exact_out)


def test_kernel_falls_back_to_exact_with_one_line(tmp_path, capsys):
    size = ["--set", "symbols.DOGEUSDT.call_size=1234.56789012345"]
    backtest(tmp_path, "fallback", *size)
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "exact engine" in line] == [
        "backtest: using the exact engine: DOGEUSDT call_size 1234.56789012345 has 15 significant digits "
        "(the kernel reproduces the executor's fee rounding up to 11)"]
    backtest(tmp_path, "exact", "--engine", "exact", *size)
    for name in REPORTS:
        assert (tmp_path / "fallback" / name).read_bytes() == (tmp_path / "exact" / name).read_bytes()
