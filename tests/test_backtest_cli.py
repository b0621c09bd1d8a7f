"""``python main.py backtest``: outputs, the summary table, and one-sentence errors on bad input."""
from __future__ import annotations

import csv
import gzip
import json
import logging
import subprocess
import sys
from xml.etree import ElementTree

import pytest

import main
from core.trades import TRADES_HEADER
from cli.backtest import parse_time
from tests.conftest import BUNDLED_DATA, REPO_ROOT

SAMPLE = BUNDLED_DATA / "sample"
SHORT_RANGE = ["--start", "2023-02-01", "--end", "2023-02-07"]


def backtest(tmp_path, *extra: str) -> int:
    return main.main(["backtest", "--out", str(tmp_path / "out"), *extra])


def test_writes_b3_trades_equity_summary_and_report(tmp_path, capsys):
    assert backtest(tmp_path, *SHORT_RANGE, "--fill", "close", "--fee-pct", "0.1") == 0
    out = tmp_path / "out"
    printed = capsys.readouterr().out
    with open(out / "trades.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == TRADES_HEADER  # exactly SPEC B3's header
    assert len(rows) > 50 and {r[1] for r in rows[1:]} == {"DOGEUSDT", "ALGOUSDT"}
    assert all("2023-02-01T00:05:00Z" <= r[0] <= "2023-02-08T00:00:00Z" for r in rows[1:])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["fill"] == "close" and summary["fee_pct"] == 0.1
    assert summary["total"]["trades"] == summary["symbols"]["DOGEUSDT"]["trades"] + summary["symbols"]["ALGOUSDT"]["trades"]
    assert summary["total"]["fills"] == len(rows) - 1
    assert summary["funding_modelled"] is False
    assert any("Funding was not modelled" in w for w in summary["warnings"])
    equity_lines = (out / "equity.csv").read_text().splitlines()
    assert equity_lines[0] == "time,DOGEUSDT,ALGOUSDT,total,drawdown_pct"
    assert len(equity_lines) - 1 == 7 * 288  # one row per 5m close in the seven days
    last = equity_lines[-1].split(",")
    assert float(last[3]) == pytest.approx(1000 + summary["total"]["net_pnl"], abs=1e-5)
    for name in ("DOGEUSDT", "ALGOUSDT", "TOTAL"):  # SVG charts: equity line above, drawdown area below
        chart = ElementTree.parse(out / f"equity_{name}.svg").getroot()
        svg = "{http://www.w3.org/2000/svg}"
        assert chart.tag == f"{svg}svg" and chart.find(f"{svg}title").text == f"{name}: equity (USDT)"
        assert len(chart.find(f"{svg}polyline").get("points").split()) > 100  # the equity curve
        assert chart.find(f"{svg}polygon") is not None  # the drawdown area
    html = (out / "report.html").read_text()
    assert html.count("data:image/svg+xml;base64,") == 3
    for column in ("net PnL", "return %", "max DD %", "Sharpe", "trades", "win %", "fees", "hedges", "in market %"):
        assert column in printed
    assert "TOTAL" in printed and "Funding was not modelled" in printed


def test_a_second_backtest_into_the_same_folder_keeps_the_first_report_as_bak(tmp_path, capsys):
    """A user's earlier report is never written over without a copy."""
    assert backtest(tmp_path, *SHORT_RANGE) == 0
    out = tmp_path / "out"
    first = {path.name: path.read_bytes() for path in out.iterdir()}
    assert backtest(tmp_path, *SHORT_RANGE, "--fee-pct", "0.1") == 0
    for name, content in first.items():
        assert (out / f"{name}.bak").read_bytes() == content, name
    assert (out / "summary.json").read_bytes() != first["summary.json"]


def test_run_keeps_the_previous_trades_file_as_bak(tmp_path, capsys):
    trades = tmp_path / "mine" / "trades.csv"
    trades.parent.mkdir()
    trades.write_text("my own notes\n")
    assert main.main(["run", "--replay", str(SAMPLE), "--speed", "0", "--start", "2023-02-01", "--end", "2023-02-01",
                      "--state-dir", str(tmp_path / "state"), "--trades-out", str(trades)]) == 0
    assert (tmp_path / "mine" / "trades.csv.bak").read_text() == "my own notes\n"
    assert trades.read_text().startswith(",".join(TRADES_HEADER))
    # run in-process leaves no console handler behind on pytest's (later closed) stream
    assert not [h for h in logging.getLogger().handlers if getattr(h, "_autohedge", False)]


def test_set_override_reaches_the_strategy_and_warns_s3(tmp_path, capsys):
    assert backtest(tmp_path, *SHORT_RANGE, "--set", "strategy.signal.reference=macd",
                    "--set", "symbols.DOGEUSDT.call_size=1000") == 0
    printed = capsys.readouterr().out
    assert "WARNING [S3]" in printed
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["settings"]["strategy"]["signal"]["reference"] == "macd"
    doge = [r for r in csv.DictReader(open(tmp_path / "out" / "trades.csv")) if r["symbol"] == "DOGEUSDT"]
    assert doge and {r["qty"] for r in doge} == {"1000"}
    # [S3] with MACD(1,1,1) the signal is almost always up: the rules practically never hedge ([R3], [R5];
    # the guard held on the exchange [E1] still hedges a main that falls its distance, as live would).
    rows = list(csv.DictReader(open(tmp_path / "out" / "trades.csv")))
    assert len(rows) == summary["total"]["fills"]
    assert sum(r["action"] == "OPEN" and r["reason"] in ("R3", "R5") for r in rows) <= len(rows) * 0.05


@pytest.mark.parametrize("argv, sentence", [
    (["--data", "/nonexistent/folder"], "data folder /nonexistent/folder does not exist"),
    (["--symbols", "XRPUSDT", "--set", "symbols.XRPUSDT.call_size=10"], "no 5m data for XRPUSDT"),
    (["--symbols", "XRPUSDT"], "XRPUSDT has no call_size in the settings"),
    (["--set", "strategy.rsi_lenght=3"], "--set strategy.rsi_lenght: not a setting"),
    (["--start", "2023-03-01", "--end", "2023-02-01"], "the date range is empty"),
    (["--start", "2030-01-01"], "no 5m candles from 2030-01-01 00:00 UTC to the last candle; the data in"),
    (["--start", "yesterday"], "--start 'yesterday' is not a date"),
    (["--config", "/nonexistent/settings.yaml"], "settings file /nonexistent/settings.yaml does not exist"),
    (["--funding", "/nonexistent/funding.csv"], "funding file /nonexistent/funding.csv does not exist"),
])
def test_bad_input_is_one_sentence_and_non_zero_exit(tmp_path, capsys, argv, sentence):
    assert backtest(tmp_path, *argv) != 0
    err = capsys.readouterr().err
    assert sentence in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_malformed_data_file_names_file_and_line(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    text = "open_time,open,high,low,close,volume\n1659312000000,1,1,1,1,5\n1659312300000,1,1,oops,1,5\n"
    (data / "DOGEUSDT-5m.csv.gz").write_bytes(gzip.compress(text.encode()))
    assert backtest(tmp_path, "--data", str(data), "--symbols", "DOGEUSDT") != 0
    err = capsys.readouterr().err
    assert "DOGEUSDT-5m.csv.gz: line 3 is not a candle" in err


def test_funding_file_is_charged(tmp_path, capsys):
    funding = tmp_path / "funding.csv"
    times = [1675209600000 + k * 8 * 3_600_000 for k in range(18)]  # every 8 h from 2023-02-01
    funding.write_text("symbol,funding_time,funding_rate\n"
                       + "".join(f"DOGEUSDT,{t},0.01\n" for t in times))  # 1 % a time: visible
    assert backtest(tmp_path, *SHORT_RANGE, "--symbols", "DOGEUSDT", "--funding", str(funding)) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["funding_modelled"] is True
    assert summary["total"]["funding"] != 0.0
    assert "funding modelled" in capsys.readouterr().out


def test_end_date_is_inclusive_and_times_are_utc():
    assert parse_time("2023-02-07", "--end", end=True) == parse_time("2023-02-08", "--start")
    assert parse_time("2023-02-07T12:00", "--end", end=True) == 1675771200000


def test_main_py_subprocess_exit_code(tmp_path):
    completed = subprocess.run([sys.executable, "main.py", "backtest", "--symbols", "NOPEUSDT",
                                "--set", "symbols.NOPEUSDT.call_size=1", "--out", str(tmp_path)],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode != 0
    assert "no 5m data for NOPEUSDT" in completed.stderr and "Traceback" not in completed.stderr


def test_main_py_subprocess_ends_quickly_with_every_file_and_line_written(tmp_path):
    """A successful backtest ends the process without the interpreter's teardown (main.end_process):
    its console lines, through a pipe, and its files are complete all the same."""
    out = tmp_path / "out"
    completed = subprocess.run([sys.executable, "main.py", "backtest", "--symbols", "DOGEUSDT", *SHORT_RANGE,
                                "--out", str(out)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.rstrip().endswith("(trades.csv, equity.csv, summary.json, report.html, charts)")
    assert "TOTAL" in completed.stdout and "Traceback" not in completed.stderr
    summary = json.loads((out / "summary.json").read_text())
    trades = (out / "trades.csv").read_text()
    assert trades.endswith("\n") and trades.count("\n") == summary["total"]["fills"] + 1
    assert (out / "equity.csv").read_text().count("\n") == summary["total"]["bars"] + 1
    assert (out / "report.html").read_text().rstrip().endswith("</html>")


def test_progress_bar_is_silent_for_quick_runs_and_drawn_after_a_second():
    import io

    from cli.console_progress import ProgressBar
    now = [0.0]
    quick, slow = io.StringIO(), io.StringIO()
    bar = ProgressBar("backtest", unit="bars", stream=quick, clock=lambda: now[0])
    bar.update(50, 100)
    bar.finish()
    assert quick.getvalue() == ""
    bar = ProgressBar("backtest", unit="bars", stream=slow, clock=lambda: now[0])
    now[0] = 1.5
    bar.update(50, 100)
    bar.update(60, 100)  # within the refresh interval: not redrawn
    bar.finish()
    assert slow.getvalue() == ("\rbacktest [###############...............]  50.0% 50/100 bars"
                               "\rbacktest [##################............]  60.0% 60/100 bars\n")
