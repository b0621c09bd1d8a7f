"""``python main.py optimize``: search settings by backtest, optionally walk-forward.

The options shared with ``backtest`` (data, symbols, dates, config, --set, fill,
fee, slippage, funding) are ``cli.backtest``'s own, parsed by its code.
Writes into --out: results.csv (row by row), best.yaml, report.html, and with
walk-forward walk_forward.csv; an Optuna search keeps its study in
``optuna.db`` there, so running again with the same --out (or --resume)
continues it. Ctrl-C stops with the finished rows kept.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from config.paths import keep_previous
from config.settings import AppSettings, settings_to_dict
from core.backtest import DEFAULT_ENGINE
from core.errors import UserError
from research.backends import default_jobs, make_backend, runs_in_threads
from research.evaluate import OBJECTIVES, MarketData
from research.outputs import ResultsWriter, overfitting_lines, summary_line, window_line, write_best, write_windows
from research.params import describe, grid_size, parse_params
from research.report import report_html
from research.search import METHODS, Search, SearchPlan, SearchResult
from research.walk_forward import day_text, parse_split, windows
from cli import backtest as backtest_cli
from research.backtest_data import load_backtest_inputs
from cli.console_progress import ProgressBar
from adapters import kline_files

STUDY_FILE = "optuna.db"
INTERRUPTED_EXIT = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    backtest_cli.add_arguments(parser)  # --data --symbols --start --end --config --set --fill --fee-pct ...
    out = parser._option_string_actions["--out"]  # the same option, but a search must be told where to write
    out.required, out.default, out.help = True, None, "output folder (results.csv, best.yaml, report.html)"
    parser.add_argument("--param", dest="params", action="append", default=[], metavar="KEY=VALUES",
                        help="a settings key and its values: KEY=v1,v2,... or KEY=lo:hi:step (repeatable)")
    parser.add_argument("--search", choices=METHODS, default="grid",
                        help="grid: every combination (default); optuna: TPE sampling, for large spaces")
    parser.add_argument("--trials", type=int, default=50, help="optuna: backtests to run (per walk-forward window)")
    parser.add_argument("--seed", type=int, default=0, help="optuna: sampler seed (default 0)")
    parser.add_argument("--resume", action="store_true",
                        help="optuna: continue the study in --out (the same --out continues it anyway)")
    parser.add_argument("--objective", choices=OBJECTIVES, default="net_pnl", help="what the search maximises")
    parser.add_argument("--walk-forward", metavar="TRAIN_DAYS:TEST_DAYS",
                        help="choose in-sample on TRAIN_DAYS, test on the next TEST_DAYS, roll by TEST_DAYS")
    parser.add_argument("--jobs", type=int, help="backtests at a time on this machine: threads with the compiled "
                        "kernel, worker processes with the exact engine (default: every core; with worker processes a "
                        "search under 10M bars x backtests runs one at a time)")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="run the backtests on a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786")


def _symbols(args: argparse.Namespace, settings: AppSettings) -> list[str]:
    symbols = list(args.symbols or settings.symbols)
    unsized = [s for s in symbols if s not in settings.symbols]
    if unsized:
        raise UserError(f"{', '.join(unsized)} has no call_size in the settings; add "
                        f"--set symbols.{unsized[0]}.call_size=N (base-asset units)")
    return symbols


def _fingerprint(args: argparse.Namespace, plan: SearchPlan, settings: AppSettings, symbols: list[str]) -> dict:
    """What an Optuna study was made for: resuming it with anything else is refused."""
    digest = hashlib.sha256(json.dumps(settings_to_dict(settings), sort_keys=True).encode()).hexdigest()[:16]
    return {"params": [[s.key, [str(v) for v in s.values]] for s in plan.specs], "objective": plan.objective,
            "start": plan.start_ms, "end": plan.end_ms, "walk_forward": args.walk_forward, "symbols": symbols,
            "data": str(Path(args.data).resolve()), "settings": digest}


def build_plan(args: argparse.Namespace, settings: AppSettings, data: MarketData) -> SearchPlan:
    specs = tuple(parse_params(args.params, settings))
    start_ms = backtest_cli.parse_time(args.start, "--start") if args.start else None
    end_ms = backtest_cli.parse_time(args.end, "--end", end=True) if args.end else None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise UserError(f"the date range is empty: --end {args.end} is not after --start {args.start}")
    if args.trials < 1:
        raise UserError(f"--trials {args.trials}: must be at least 1")
    found_windows: tuple = ()
    if args.walk_forward:
        train, test = parse_split(args.walk_forward)
        first, last = data.span_ms()
        found_windows = tuple(windows(start_ms if start_ms is not None else first,
                                      end_ms if end_ms is not None else last, train, test))
    storage = None
    if args.search == "optuna":
        study = Path(args.out) / STUDY_FILE
        if args.resume and not study.exists():
            raise UserError(f"--resume: there is no Optuna study to continue in {args.out} ({STUDY_FILE})")
        storage = f"sqlite:///{study.resolve().as_posix()}"
    engine = getattr(args, "engine", None) or DEFAULT_ENGINE  # backtest's --engine, when it has one
    return SearchPlan(specs, args.objective, args.search, args.trials, start_ms, end_ms, found_windows,
                      args.seed, storage, engine)


def run(args: argparse.Namespace) -> int:
    settings = backtest_cli.settings_with_shortcuts(args)
    symbols = _symbols(args, settings)
    if not args.params:
        raise UserError("give at least one --param KEY=v1,v2,... (e.g. strategy.exit.take_profit_pct=0.5,1,2)")
    parse_params(args.params, settings)  # a bad --param is refused before the data is loaded
    inputs = load_backtest_inputs(args.data, symbols, columns=True)  # a search reads columns: no pandas
    funding = kline_files.load_funding_csv(args.funding) if args.funding else inputs.funding
    if args.funding:  # the file given wins over the data folder's
        inputs.notes = [n for n in inputs.notes if not n.startswith("funding ")] + [f"funding charged from {args.funding}"]
    data = MarketData(inputs.candles_5m, inputs.candles_1d, funding)
    plan = build_plan(args, settings, data)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    keys = plan.keys
    size = f"{grid_size(plan.specs):,} combinations" if plan.method == "grid" else f"{plan.trials} Optuna trials"
    period = (f"{args.start or 'start of data'} to {args.end or 'end of data'}")
    header = [f"data {args.data} ({', '.join(symbols)}), {period}; fill {settings.backtest.fill}, fee "
              f"{settings.backtest.fee_pct:g} % per fill, slippage {settings.backtest.slippage_bps:g} bps",
              f"search {plan.method} over {', '.join(keys)}: {size}, objective {plan.objective}"
              + (f", walk-forward {args.walk_forward} in {len(plan.windows)} windows" if plan.windows else ""),
              *inputs.notes]
    for line in header:
        print(line)
    writer = ResultsWriter(out / "results.csv", keys, bool(plan.windows))
    bar = ProgressBar("optimize", unit="backtests")
    jobs = args.jobs
    if jobs is None and not args.cluster:  # with worker processes, a small search: one at a time is as quick
        runs = (grid_size(plan.specs) if plan.method == "grid" else plan.trials) * max(1, len(plan.windows))
        jobs = default_jobs(runs + 1, sum(len(frame) for frame in data.candles_5m.values()),
                            runs_in_threads(plan.engine))
    backend = make_backend(settings, data, jobs, args.cluster, plan.engine)
    search = Search(plan, settings, backend, on_row=writer.add, progress=bar.update,
                    fingerprint=_fingerprint(args, plan, settings, symbols))
    try:
        result = search.run()
    except KeyboardInterrupt:
        bar.finish()
        writer.close()
        print(f"optimize: stopped by the user; the {writer.rows} finished rows are in {writer.path}"
              + (f" and the Optuna study in {out / STUDY_FILE} continues with the same --out"
                 if plan.method == "optuna" else ""), file=sys.stderr)
        return INTERRUPTED_EXIT
    finally:
        writer.close()
    bar.finish()
    writer.rewrite(result.rows)
    _write_outputs(out, settings, plan, result, header)
    for note in result.notes:
        print(note)
    print(f"{writer.rows} rows in {out / 'results.csv'}")
    if plan.windows:
        for item in result.windows:
            print(window_line(item, plan.objective))
        print(f"out-of-sample, chained {day_text(plan.windows[0].test_start)} onwards: {summary_line(result.chained)}")
        print(f"best.yaml: the settings chosen in the last window ({describe(result.best)})")
    else:
        print(f"best {plan.objective}: {describe(result.best)}: {summary_line(result.best_metrics)} (in-sample)")
    for line in overfitting_lines(result):
        print(line)
    print(f"reports in {out}/ (results.csv, best.yaml, report.html{', walk_forward.csv' if plan.windows else ''})")
    return 0


def _write_outputs(out: Path, settings: AppSettings, plan: SearchPlan, result: SearchResult,
                   header: list[str]) -> None:
    comment = ["Written by: python main.py optimize", *header,
               f"best by {plan.objective}: {describe(result.best)}"]
    write_best(out / "best.yaml", settings, result.best, comment)
    if plan.windows:
        write_windows(out / "walk_forward.csv", plan.keys, plan.objective, result)
    keep_previous(out / "report.html")
    (out / "report.html").write_text(report_html(result, plan.keys, plan.objective, header), encoding="utf-8")
