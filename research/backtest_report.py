"""Writes a backtest's results to a folder and formats its summary table.

Files: ``trades.csv`` [SPEC B3] (the bytes of core.trades.write_trades_csv, the same
writer the live runner uses, written from the result's fill columns), ``equity.csv`` (per bar close: each symbol's
equity, the total and its drawdown), ``summary.json`` (settings, metrics,
warnings), one ``equity_<NAME>.svg`` per symbol plus ``equity_TOTAL.svg``
(equity above, drawdown below; research.svg_charts, no display needed) and
``report.html``, a self-contained page with the table and the charts embedded.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.backtest import BacktestResult, EquityCurve, Summary
from core import csv_text
from config.paths import keep_previous
from research.svg_charts import equity_drawdown_svg

FUNDING_NOT_MODELLED = ("Funding was not modelled (no <SYMBOL>-fundingRate.csv in the data folder, which "
                        "'python main.py download' fetches, and no --funding): funding payments are zero.")
TABLE_COLUMNS = ("symbol", "net PnL", "return %", "max DD %", "Sharpe", "trades", "win %", "fees", "hedges",
                 "in market %")


@dataclass
class ReportInfo:
    """What the run was: shown in the table header and saved in summary.json."""

    data_dir: str
    period: str
    settings: dict[str, Any]
    data_notes: list[str] = field(default_factory=list)  # e.g. gaps found in the data


def summary_cells(summary: Summary) -> tuple[str, ...]:
    return (
        summary.name,
        f"{summary.net_pnl:+,.2f}",
        f"{summary.return_pct:+.2f}",
        f"{summary.max_drawdown_pct:.2f}",
        f"{summary.sharpe:.2f}",
        f"{summary.trades:,}",
        f"{summary.win_rate_pct:.1f}",
        f"{summary.fees:,.2f}",
        f"{summary.hedges_opened:,}",
        f"{summary.time_in_market_pct:.1f}",
    )


def summary_rows(result: BacktestResult) -> list[tuple[str, ...]]:
    rows = [summary_cells(summary) for summary in result.summaries.values()]
    rows.append(summary_cells(result.total))
    return rows


def format_table(result: BacktestResult) -> str:
    """The summary as aligned text columns: one row per symbol, then TOTAL."""
    rows = [TABLE_COLUMNS, *summary_rows(result)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells))
        if n == 0 or n == len(rows) - 2:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def header_lines(result: BacktestResult, info: ReportInfo) -> list[str]:
    config = result.config
    lines = [
        f"data {info.data_dir}, {info.period}",
        f"fill {config.fill}, fee {config.fee_pct:g} % per fill, slippage {config.slippage_bps:g} bps, "
        f"capital {config.initial_capital:,.2f} USDT (return and drawdown of each symbol are on the whole capital)",
    ]
    if not result.funding_modelled:
        lines.append(FUNDING_NOT_MODELLED)
    else:
        lines.append(f"funding modelled: {result.total.funding:+,.2f} USDT paid (negative = received)")
    if result.total.open_positions:
        held = ", ".join(f"{name} {qty:g}" for name, qty in result.total.open_positions.items())
        lines.append(f"still open at the end, marked at the last close [B4]: {held}")
    return lines


# ----- files --------------------------------------------------------------------------------------


def write_report(result: BacktestResult, out_dir: Path | str, info: ReportInfo) -> dict[str, Path]:
    """Write every output file into ``out_dir``; returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"trades": out / "trades.csv", "equity": out / "equity.csv", "summary": out / "summary.json",
             "report": out / "report.html"}
    charts = {name: out / f"equity_{name}.svg" for name in [*result.equity, "TOTAL"]}
    for path in [*paths.values(), *charts.values()]:
        keep_previous(path)  # an earlier report in the same folder stays as <name>.bak
    result.write_trades_csv(paths["trades"])
    write_equity_file(result, paths["equity"])
    paths["summary"].write_text(json.dumps(summary_document(result, info), indent=2), encoding="utf-8")
    for name, path in charts.items():
        curve = result.combined if name == "TOTAL" else result.equity[name]
        path.write_text(chart_svg(name, curve), encoding="utf-8")
    paths["report"].write_text(report_html(result, info, charts), encoding="utf-8")
    paths.update({f"chart {name}": path for name, path in charts.items()})
    return paths


def write_equity_csv(columns: dict[str, np.ndarray], path: Path) -> None:
    """equity.csv: what ``pd.DataFrame(columns).to_csv(path, index=False, float_format="%.6f",
    lineterminator="\\n")`` writes, byte for byte (``\\n`` on every system, like trades.csv).

    The usual columns (ISO times, then floats without NaN) are written with one ``%`` format per
    row: pandas formats each of a year's 315k numbers through several Python calls (0.35 s of a
    one-year backtest command; this takes 0.1 s). Anything else goes through pandas itself."""
    names = list(columns)
    values = [np.asarray(columns[name]) for name in names[1:]]
    plain = all(column.dtype == np.float64 and not np.isnan(column).any() for column in values)
    times = np.asarray(columns[names[0]]).tolist()
    if not plain or any("," in text or '"' in text for text in times[:1]):
        import pandas as pd  # only here: a backtest's usual equity never needs pandas

        pd.DataFrame(columns).to_csv(path, index=False, float_format="%.6f", lineterminator="\n")
        return
    row = "%s" + ",%.6f" * len(values) + "\n"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerow(names)  # the header, quoted as pandas would
        handle.write("".join([row % cells for cells in zip(times, *(column.tolist() for column in values))]))


def write_equity_file(result: BacktestResult, path: Path) -> None:
    """equity.csv of ``result``: the bytes of ``write_equity_csv(equity_columns(result), path)``, its
    usual columns (times 1970-9999, finite numbers below 1e8) turned into text by whole-array calls
    (core.csv_text: 25 ms for a year instead of 0.12 s)."""
    numbers = equity_numbers(result)
    texts = [csv_text.iso_seconds(result.combined.times)]
    for column in numbers.values():
        if texts[-1] is None or column.dtype != np.float64:  # pandas writes other types its own way
            texts.append(None)
            break
        texts.append(csv_text.fixed6(column))
    if texts[-1] is None:
        write_equity_csv(equity_columns(result), path)
        return
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(["time", *numbers])  # quoted as pandas would
    with open(path, "wb") as handle:
        handle.write(header.getvalue().encode("utf-8"))
        handle.write(csv_text.csv_rows(texts))


def equity_columns(result: BacktestResult) -> dict[str, Any]:
    """equity.csv's columns: time (ISO UTC), each symbol's equity (carried forward), total, drawdown %."""
    times = result.combined.times
    # The same ISO-8601 UTC text as core.trades.iso_utc, vectorised (one row per bar).
    return {"time": np.char.add(np.datetime_as_string(times.astype("datetime64[ms]"), unit="s"), "Z"),
            **equity_numbers(result)}


def equity_numbers(result: BacktestResult) -> dict[str, np.ndarray]:
    """equity.csv's columns after the time: each symbol's equity (carried forward), total, drawdown %."""
    times = result.combined.times
    columns: dict[str, np.ndarray] = {}
    capital = result.config.initial_capital
    for symbol, curve in result.equity.items():
        index = np.searchsorted(curve.times, times, side="right") - 1
        columns[symbol] = np.where(index >= 0, curve.equity[np.maximum(index, 0)], capital)
    columns["total"] = result.combined.equity
    columns["drawdown_pct"] = result.combined.drawdown_pct
    return columns


def summary_document(result: BacktestResult, info: ReportInfo) -> dict[str, Any]:
    config = result.config
    return {
        "data": info.data_dir,
        "period": info.period,
        "fill": config.fill,
        "fee_pct": config.fee_pct,
        "slippage_bps": config.slippage_bps,
        "initial_capital": config.initial_capital,
        "funding_modelled": result.funding_modelled,
        "settings": info.settings,
        "symbols": {name: _summary_dict(summary) for name, summary in result.summaries.items()},
        "total": _summary_dict(result.total),
        "warnings": result.warnings + ([] if result.funding_modelled else [FUNDING_NOT_MODELLED]),
        "data_notes": info.data_notes,
    }


def _summary_dict(summary: Summary) -> dict[str, Any]:
    values = asdict(summary)
    values["win_rate_pct"] = summary.win_rate_pct
    return values


# ----- charts -------------------------------------------------------------------------------------


def chart_svg(name: str, curve: EquityCurve) -> str:
    """Equity (top) and drawdown % (bottom) against UTC time, as an SVG document."""
    drawdown = curve.drawdown_pct
    keep = envelope_indices(curve.equity, drawdown)
    return equity_drawdown_svg(f"{name}: equity (USDT)", curve.times[keep], curve.equity[keep], drawdown[keep])


def envelope_indices(equity: np.ndarray, drawdown: np.ndarray, buckets: int = 1500) -> np.ndarray:
    """Indices to plot: per time bucket the highest and lowest equity and the deepest drawdown.

    A chart of 100k+ points is slow and no sharper than ~1500 columns of pixels;
    keeping each bucket's extremes keeps every peak and the maximum drawdown visible.
    """
    size = equity.size
    if size <= 3 * buckets:
        return np.arange(size)
    edges = np.linspace(0, size, buckets + 1).astype(np.int64)
    starts = edges[:-1]
    picks = [starts, np.r_[starts[1:] - 1, size - 1]]
    for values in (equity, -equity, -drawdown):
        picks.append(_first_max_per_bucket(values, edges))
    return np.unique(np.concatenate(picks))


def _first_max_per_bucket(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The index of each non-empty bucket ``values[edges[k]:edges[k + 1]]``'s first maximum, as
    ``edges[k] + np.argmax(bucket)`` gives it, in a few whole-array calls instead of one per bucket."""
    starts = edges[:-1]
    if np.isnan(values).any():  # np.argmax picks a bucket's first NaN: the per-bucket calls say it simply
        return starts + np.array([np.argmax(values[a:b]) for a, b in zip(starts, edges[1:])], dtype=np.int64)
    top = np.maximum.reduceat(values, starts)
    hits = np.flatnonzero(values == np.repeat(top, np.diff(edges)))  # every bucket's maxima (ties: -0.0 == 0.0)
    return hits[np.searchsorted(hits, starts)]


def report_html(result: BacktestResult, info: ReportInfo, charts: dict[str, Path]) -> str:
    """A self-contained page: header, summary table, warnings, charts as base64 SVG images."""
    escape = html.escape
    head = "".join(f"<th>{escape(c)}</th>" for c in TABLE_COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in summary_rows(result))
    notes = [*header_lines(result, info), *info.data_notes, *result.warnings]
    images = "".join(
        f'<h2>{escape(name)}</h2><img alt="{escape(name)} equity and drawdown" '
        f'src="data:image/svg+xml;base64,{base64.b64encode(path.read_bytes()).decode("ascii")}">'
        for name, path in charts.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>AutoHedge backtest</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child{{text-align:left}}
img{{max-width:100%}}</style></head><body>
<h1>AutoHedge backtest</h1>
<ul>{"".join(f"<li>{escape(line)}</li>" for line in notes)}</ul>
<table><tr>{head}</tr>{body}</table>
{images}
<p>Trades: trades.csv; equity per bar: equity.csv; all numbers: summary.json.</p>
</body></html>
"""
