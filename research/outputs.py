"""The files of a search: results.csv (row by row, as they finish), walk_forward.csv and best.yaml.

results.csv has one column per --param, headed by its settings key exactly as
given, then the figures, the last two of which belong to the whole search
(research.overfitting): ``dsr``, the row's deflated Sharpe ratio given every setting
tried, and ``pbo``, the search's probability of backtest overfitting (the same on
every row; with walk-forward, per window and in-sample only). They are known once
every row is, so the lines written as rows finish leave them empty and the file's
final rewrite fills them. With walk-forward each row is one setting in one
window: the window's days, the setting, its in-sample figures (``is_*``) and its
out-of-sample figures (``oos_*``) side by side. A file already in the output
folder is kept as ``<name>.bak`` before it is written over.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import IO, Any, Sequence

import yaml

from config.settings import AppSettings, settings_to_dict
from core.model import ONE_DAY_MS
from config.paths import keep_previous
from research.evaluate import METRIC_COLUMNS, SEARCH_COLUMNS, Metrics
from research.overfitting import MEANING
from research.params import Assignment, apply_assignment
from research.search import Row, SearchResult, WindowResult
from research.walk_forward import day_text

WINDOW_COLUMNS = ("window", "is_first_day", "is_last_day", "oos_first_day", "oos_last_day")


def cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6f}".rstrip("0").rstrip(".") if value == value else "nan"
    return str(value)


def results_header(keys: Sequence[str], walk_forward: bool) -> list[str]:
    if not walk_forward:
        return [*keys, *METRIC_COLUMNS]
    return [*WINDOW_COLUMNS, *keys, *(f"is_{m}" for m in METRIC_COLUMNS), *(f"oos_{m}" for m in METRIC_COLUMNS)]


def window_cells(window) -> list[str]:
    return [str(window.index + 1), day_text(window.train_start), day_text(window.train_end - ONE_DAY_MS),
            day_text(window.test_start), day_text(window.test_end - ONE_DAY_MS)]


def metric_cells(metrics: Metrics) -> list[str]:
    """The figures of one row; the search's statistics (dsr, pbo) empty while they are not known."""
    return ["" if name in SEARCH_COLUMNS and value != value else cell(value)
            for name, value in ((name, getattr(metrics, name)) for name in METRIC_COLUMNS)]


def row_cells(row: Row) -> list[str]:
    values = [cell(value) for _, value in row.assignment] + metric_cells(row.metrics)
    if row.window is None:
        return values
    return window_cells(row.window) + values + metric_cells(row.oos)


class ResultsWriter:
    """results.csv, one line written and flushed per finished row."""

    def __init__(self, path: Path, keys: Sequence[str], walk_forward: bool):
        self.path = path
        keep_previous(path)
        self._handle: IO[str] = open(path, "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(results_header(keys, walk_forward))
        self._handle.flush()
        self.rows = 0

    def add(self, row: Row) -> None:
        self._writer.writerow(row_cells(row))
        self._handle.flush()
        self.rows += 1

    def close(self) -> None:
        self._handle.close()

    def rewrite(self, rows: Sequence[Row]) -> None:
        """At the end: the same rows in search order (they were written as they finished, in any order)."""
        self.close()
        temp = self.path.with_name(self.path.name + ".tmp")
        with open(temp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            with open(self.path, newline="", encoding="utf-8") as written:
                writer.writerow(next(csv.reader(written)))
            writer.writerows(row_cells(row) for row in rows)
        temp.replace(self.path)
        self.rows = len(rows)


def write_windows(path: Path, keys: Sequence[str], objective: str, result: SearchResult) -> None:
    """walk_forward.csv: per window the chosen settings, their in-sample objective and out-of-sample figures."""
    keep_previous(path)
    oos_columns = [f"oos_{m}" for m in METRIC_COLUMNS]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*WINDOW_COLUMNS, *keys, f"is_{objective}", *oos_columns])
        for item in result.windows:
            writer.writerow([*window_cells(item.window), *(cell(v) for _, v in item.chosen),
                             cell(item.in_sample.objective(objective)),
                             *metric_cells(item.out_of_sample)])
        chained = result.chained
        first, last = result.windows[0].window, result.windows[-1].window
        writer.writerow(["chained", "", "", day_text(first.test_start), day_text(last.test_end - ONE_DAY_MS),
                         *([""] * len(keys)), "", *metric_cells(chained)])


def write_best(path: Path, base: AppSettings, best: Assignment, comment: Sequence[str]) -> AppSettings:
    """best.yaml: the complete settings (base + the best values), loadable with --config or in the window."""
    settings = apply_assignment(base, best)
    keep_previous(path)
    header = "".join(f"# {line}\n" for line in comment)
    path.write_text(header + yaml.safe_dump(settings_to_dict(settings), sort_keys=False), encoding="utf-8")
    return settings


def summary_line(metrics: Metrics) -> str:
    return (f"net PnL {metrics.net_pnl:+,.2f} USDT ({metrics.return_pct:+.2f} %), max DD {metrics.max_dd_pct:.2f} %, "
            f"Sharpe {metrics.sharpe:.2f}, {metrics.trades:,} trades, fees {metrics.fees:,.2f}, "
            f"{metrics.hedges:,} hedges")


def window_line(item: WindowResult, objective: str) -> str:
    w = item.window
    chosen = ", ".join(f"{k}={v}" for k, v in item.chosen)
    return (f"window {w.index + 1}: in-sample {day_text(w.train_start)}..{day_text(w.train_end - ONE_DAY_MS)} chose "
            f"{chosen} ({objective} {item.in_sample.objective(objective):.2f}); out-of-sample "
            f"{day_text(w.test_start)}..{day_text(w.test_end - ONE_DAY_MS)}: {summary_line(item.out_of_sample)}")


def overfitting_lines(result: SearchResult) -> list[str]:
    """What the console and the report say about overfitting: the figures, then what they mean."""
    if result.overfitting is not None:
        lines = [result.overfitting.describe(result.best_metrics.dsr)]
    elif result.windows:
        lines = [f"window {item.window.index + 1} (in-sample): {item.overfitting.describe(item.in_sample.dsr)}"
                 for item in result.windows if item.overfitting is not None]
    else:
        return []
    return [*lines, MEANING]

