"""``python main.py optimize``: the files it writes, best.yaml, Ctrl-C, Optuna resume, bad --param.

Tiny searches on a few days of the bundled sample keep every test fast.
"""
from __future__ import annotations

import csv
import json
import math
import sqlite3

import pytest

import main
import research.evaluate as evaluation
from config.settings import load_settings, settings_to_dict
from research.evaluate import METRIC_COLUMNS
from tests.optimize_helpers import write_small_sample

DAYS = ["--start", "2023-02-01", "--end", "2023-02-03"]
TP = "strategy.exit.take_profit_pct"
CENTER = "strategy.signal.centerline"
PARAMS = ["--param", f"{TP}=0.5,2", "--param", f"{CENTER}=45,55"]




SAMPLE = None  # the small data folder, set once per module below


@pytest.fixture(scope="module", autouse=True)
def sample(tmp_path_factory):
    global SAMPLE
    SAMPLE = write_small_sample(tmp_path_factory.mktemp("sample"))
    return SAMPLE


def optimize(out, *extra: str) -> int:
    return main.main(["optimize", "--data", str(SAMPLE), *DAYS, "--out", str(out), "--jobs", "1", *extra])


def read_rows(path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames), list(reader)


def test_results_csv_has_one_row_per_setting_with_the_backtest_summary_figures(tmp_path, capsys):
    assert optimize(tmp_path / "out", *PARAMS) == 0
    header, rows = read_rows(tmp_path / "out" / "results.csv")
    assert header == [TP, CENTER, *METRIC_COLUMNS]  # keys exactly as given, then the figures
    assert header[2:9] == ["net_pnl", "return_pct", "max_dd_pct", "sharpe", "trades", "fees", "hedges"]
    assert [(float(r[TP]), float(r[CENTER])) for r in rows] == [(0.5, 45), (0.5, 55), (2, 45), (2, 55)]  # grid order
    assert len({r["net_pnl"] for r in rows}) > 1  # the parameters change the result
    assert (tmp_path / "out" / "report.html").read_text().count("data:image/svg+xml;base64,") >= 2  # heatmap + equity

    # A row is the backtest summary's TOTAL for the same settings and dates.
    row = next(r for r in rows if float(r[TP]) == 2 and float(r[CENTER]) == 55)
    assert main.main(["backtest", "--data", str(SAMPLE), *DAYS, "--out", str(tmp_path / "bt"),
                      "--set", f"{TP}=2", "--set", f"{CENTER}=55"]) == 0
    total = json.loads((tmp_path / "bt" / "summary.json").read_text())["total"]
    assert float(row["net_pnl"]) == pytest.approx(total["net_pnl"], abs=1e-6)
    assert float(row["max_dd_pct"]) == pytest.approx(total["max_drawdown_pct"], abs=1e-6)
    assert float(row["sharpe"]) == pytest.approx(total["sharpe"], abs=1e-6)
    assert float(row["fees"]) == pytest.approx(total["fees"], abs=1e-6)
    assert (int(row["trades"]), int(row["hedges"])) == (total["trades"], total["hedges_opened"])


def test_best_yaml_is_a_complete_settings_file_equal_to_the_best_row(tmp_path, capsys):
    assert optimize(tmp_path / "out", *PARAMS, "--objective", "sharpe") == 0
    _, rows = read_rows(tmp_path / "out" / "results.csv")
    best_row = max(rows, key=lambda r: float(r["sharpe"]))
    best = load_settings(tmp_path / "out" / "best.yaml")  # validated by config.settings
    assert best.strategy.exit.take_profit_pct == float(best_row[TP])
    assert best.strategy.signal.centerline == float(best_row[CENTER])
    # Everything else is the settings the search started from.
    defaults = settings_to_dict(load_settings())
    found = settings_to_dict(best)
    found["strategy"]["exit"]["take_profit_pct"] = defaults["strategy"]["exit"]["take_profit_pct"]
    found["strategy"]["signal"]["centerline"] = defaults["strategy"]["signal"]["centerline"]
    assert found == defaults
    # And it loads as --config.
    assert main.main(["backtest", "--data", str(SAMPLE), *DAYS, "--config", str(tmp_path / "out" / "best.yaml"),
                      "--out", str(tmp_path / "bt")]) == 0


def test_a_second_run_keeps_the_first_files_as_bak(tmp_path, capsys):
    assert optimize(tmp_path / "out", "--param", f"{TP}=0.5,2") == 0
    first = (tmp_path / "out" / "results.csv").read_text()
    assert optimize(tmp_path / "out", "--param", f"{CENTER}=45,55") == 0
    assert (tmp_path / "out" / "results.csv.bak").read_text() == first
    assert (tmp_path / "out" / "best.yaml.bak").exists()


def test_walk_forward_rows_have_in_and_out_of_sample_figures_side_by_side(tmp_path, capsys):
    assert optimize(tmp_path / "out", "--param", f"{TP}=0.5,2", "--start", "2023-02-01", "--end", "2023-02-06",
                    "--walk-forward", "2:1") == 0
    header, rows = read_rows(tmp_path / "out" / "results.csv")
    assert header[:6] == ["window", "is_first_day", "is_last_day", "oos_first_day", "oos_last_day", TP]
    assert [f"is_{m}" for m in METRIC_COLUMNS] == header[6:6 + len(METRIC_COLUMNS)]
    assert [f"oos_{m}" for m in METRIC_COLUMNS] == header[6 + len(METRIC_COLUMNS):]
    assert len(rows) == 4 * 2  # 6 days, 2 in-sample + 1 out-of-sample rolled by 1: 4 windows x 2 settings
    for row in rows:
        assert row["is_last_day"] < row["oos_first_day"] == row["oos_last_day"]  # disjoint, test after train
    _, windows = read_rows(tmp_path / "out" / "walk_forward.csv")
    assert [w["oos_first_day"] for w in windows[:-1]] == ["2023-02-03", "2023-02-04", "2023-02-05", "2023-02-06"]
    chained = windows[-1]
    assert chained["window"] == "chained"
    assert float(chained["oos_net_pnl"]) == pytest.approx(sum(float(w["oos_net_pnl"]) for w in windows[:-1]), abs=1e-5)
    for window in windows[:-1]:  # each window chose its best in-sample setting
        own = [r for r in rows if r["window"] == window["window"]]
        best = max(own, key=lambda r: float(r["is_net_pnl"]))
        assert float(window[TP]) == float(best[TP])
        assert window["oos_net_pnl"] == best["oos_net_pnl"]
    assert "out-of-sample, chained" in capsys.readouterr().out


def test_ctrl_c_keeps_the_finished_rows_and_says_so_in_one_sentence(tmp_path, capsys, monkeypatch):
    real = evaluation.evaluate
    calls = []

    def interrupted_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # what Ctrl-C raises in the middle of a backtest
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", interrupted_on_third)
    assert optimize(tmp_path / "out", *PARAMS) == 130
    _, rows = read_rows(tmp_path / "out" / "results.csv")
    assert len(rows) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "stopped by the user" in error and "2 finished rows" in error
    assert not (tmp_path / "out" / "best.yaml").exists()


def _study_trials(out) -> list[tuple[int, str]]:
    with sqlite3.connect(out / "optuna.db") as db:
        return db.execute("SELECT number, state FROM trials ORDER BY number").fetchall()


def _trial_params(out) -> dict[int, dict[str, float]]:
    with sqlite3.connect(out / "optuna.db") as db:
        found: dict[int, dict[str, float]] = {}
        for number, name, value in db.execute(
                "SELECT t.number, p.param_name, p.param_value FROM trial_params p JOIN trials t USING (trial_id)"):
            found.setdefault(number, {})[name] = value
        return found


def test_optuna_search_is_resumed_from_its_study_file(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    space = ["--search", "optuna", "--param", f"{TP}=0.5:3:0.5", "--param", f"{CENTER}=40,45,50,55,60"]
    assert optimize(out, *space, "--trials", "3") == 0
    assert _study_trials(out) == [(n, "COMPLETE") for n in range(3)]
    first_params = _trial_params(out)

    # Interrupted during the 2nd new trial: the study keeps the finished one, the started one is failed.
    real = evaluation.evaluate
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", interrupted)
    assert optimize(out, *space, "--trials", "6") == 130
    monkeypatch.setattr(evaluation, "evaluate", real)
    assert [state for _, state in _study_trials(out)].count("COMPLETE") == 4

    assert optimize(out, *space, "--trials", "6", "--resume") == 0
    trials = _study_trials(out)
    assert [state for _, state in trials].count("COMPLETE") == 6  # 2 more, not 6 more
    assert {n: p for n, p in _trial_params(out).items() if n < 3} == first_params  # the old trials are kept
    _, rows = read_rows(out / "results.csv")
    assert len(rows) == 6  # the earlier trials' rows are written again from the study
    best = load_settings(out / "best.yaml")
    best_row = max(rows, key=lambda r: float(r["net_pnl"]))
    assert (best.strategy.exit.take_profit_pct, best.strategy.signal.centerline) == (float(best_row[TP]),
                                                                                      float(best_row[CENTER]))


def test_optuna_refuses_to_resume_a_study_of_another_search(tmp_path, capsys):
    out = tmp_path / "out"
    assert optimize(out, "--search", "optuna", "--trials", "1", "--param", f"{TP}=0.5,1") == 0
    assert optimize(out, "--search", "optuna", "--trials", "1", "--param", f"{CENTER}=45,55") == 2
    assert "another search" in capsys.readouterr().err


def test_resume_without_a_study_is_one_sentence(tmp_path, capsys):
    assert optimize(tmp_path / "out", "--search", "optuna", "--resume", "--param", f"{TP}=0.5,1") == 2
    assert "no Optuna study to continue" in capsys.readouterr().err


@pytest.mark.parametrize("param, named, reason", [
    ("strategy.exit.take_profit=1,2", "strategy.exit.take_profit", "not a setting"),
    ("paths.state_dir=a,b", "paths.state_dir", "not a setting"),
    ("strategy.exit.take_profit_pct=1,-2", "strategy.exit.take_profit_pct", "-2"),
    ("strategy.exit.max_hold_bars=2.5,3", "strategy.exit.max_hold_bars", "whole number"),
    ("strategy.signal.reference=centerline,rsi", "strategy.signal.reference", "rsi"),
    ("strategy.exit.take_profit_pct=2:1:0.5", "strategy.exit.take_profit_pct", "empty"),
    ("strategy.exit.take_profit_pct=1:2:0", "strategy.exit.take_profit_pct", "step"),
    ("strategy.exit.take_profit_pct=", "strategy.exit.take_profit_pct", "no values"),
    ("take_profit_pct", "take_profit_pct", "KEY="),
])
def test_a_bad_param_is_one_sentence_naming_it(tmp_path, capsys, param, named, reason):
    assert optimize(tmp_path / "out", "--param", param) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and reason in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out" / "results.csv").exists()


def test_cluster_without_dask_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)  # import distributed -> ImportError
    assert optimize(tmp_path / "out", "--param", f"{TP}=0.5,1", "--cluster", "tcp://127.0.0.1:1") == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and 'pip install "dask[distributed]' in error[0]


def test_objectives_rank_by_their_own_figure(tmp_path, capsys):
    for objective in ("calmar", "profit_factor"):
        assert optimize(tmp_path / objective, *PARAMS, "--objective", objective) == 0
        _, rows = read_rows(tmp_path / objective / "results.csv")
        best_row = max(rows, key=lambda r: (float(r[objective]), -rows.index(r)))
        best = load_settings(tmp_path / objective / "best.yaml")
        assert best.strategy.exit.take_profit_pct == float(best_row[TP])
        assert best.strategy.signal.centerline == float(best_row[CENTER])
        for row in rows:
            ratio = float(row["return_pct"]) / float(row["max_dd_pct"])
            assert math.isclose(float(row["calmar"]), ratio, rel_tol=1e-5)


def test_optuna_walk_forward_runs_one_study_per_window(tmp_path, capsys):
    out = tmp_path / "out"
    assert optimize(out, "--search", "optuna", "--trials", "2", "--param", f"{TP}=0.5:3:0.5",
                    "--param", f"{CENTER}=40:60:5", "--start", "2023-02-01", "--end", "2023-02-04",
                    "--walk-forward", "2:1") == 0
    with sqlite3.connect(out / "optuna.db") as db:
        studies = db.execute("SELECT s.study_name, COUNT(t.trial_id) FROM studies s JOIN trials t USING (study_id) "
                             "WHERE t.state = 'COMPLETE' GROUP BY s.study_name ORDER BY s.study_name").fetchall()
    assert studies == [("window-001", 2), ("window-002", 2)]
    _, rows = read_rows(out / "results.csv")
    assert [r["window"] for r in rows] == ["1", "1", "2", "2"]
    _, windows = read_rows(out / "walk_forward.csv")
    for window in windows[:-1]:
        own = [r for r in rows if r["window"] == window["window"]]
        assert window["oos_net_pnl"] == max(own, key=lambda r: float(r["is_net_pnl"]))["oos_net_pnl"]


def test_both_engines_give_the_same_results_csv(tmp_path, capsys, monkeypatch):
    engines = []
    real = evaluation.run_backtest

    def spy(*args, **kwargs):
        engines.append(kwargs["engine"])
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "run_backtest", spy)
    assert optimize(tmp_path / "kernel", *PARAMS, "--engine", "kernel") == 0
    assert set(engines) == {"kernel"}
    engines.clear()
    assert optimize(tmp_path / "exact", *PARAMS, "--engine", "exact") == 0
    assert set(engines) == {"exact"}
    assert (tmp_path / "kernel" / "results.csv").read_text() == (tmp_path / "exact" / "results.csv").read_text()


def test_loss_limits_are_searchable_and_change_the_result(tmp_path, capsys):
    """[L1] --param over a daily loss cap and [L1, L2] the breach action: 0 = off (the action never
    applies), a cap changes the figures, and flatten differs from stop_entries."""
    cap, action = "strategy.protect.max_daily_loss_usdt", "strategy.protect.on_breach"
    assert optimize(tmp_path / "out", "--param", f"{cap}=0,0.5", "--param", f"{action}=stop_entries,flatten") == 0
    _, rows = read_rows(tmp_path / "out" / "results.csv")
    by = {(float(row[cap]), row[action]): row for row in rows}
    figures = ("net_pnl", "trades", "fees")
    off = [tuple(by[(0.0, choice)][name] for name in figures) for choice in ("stop_entries", "flatten")]
    assert off[0] == off[1]
    assert by[(0.5, "stop_entries")]["trades"] != by[(0.0, "stop_entries")]["trades"]
    assert by[(0.5, "flatten")]["net_pnl"] != by[(0.5, "stop_entries")]["net_pnl"]
