"""report.html of a search: one self-contained page (charts embedded as SVG, research.svg_charts).

- the best settings and their figures;
- how likely the best row is luck: PBO and the deflated Sharpe (research.overfitting);
- a heatmap of the objective for every pair of --param keys (each cell: the best
  value over the other parameters; with walk-forward, the mean over the windows,
  in-sample and out-of-sample side by side); a line chart for a single parameter;
- with walk-forward: the window table and the chained out-of-sample equity of
  the chosen settings; without it, the best settings' equity over the searched
  period (in-sample: the report says so).
"""
from __future__ import annotations

import base64
import html
import itertools
import math
from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from research.outputs import overfitting_lines, summary_line, window_line
from research import svg_charts
from research.search import Row, SearchResult

Grid = tuple[list[Any], list[Any], np.ndarray]  # x values, y values, z[y, x] (NaN: not tried)


def _sort_values(values: set[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _finite(value: float) -> float:
    return value if math.isfinite(value) else math.nan


def pair_grid(rows: Sequence[Row], x_key: str, y_key: str, objective: str, out_of_sample: bool = False) -> Grid:
    """z[y, x] = per setting the mean over windows (one value without walk-forward), then the
    best over the other parameters."""
    per_setting: dict[Any, list[float]] = defaultdict(list)
    for row in rows:
        metrics = row.oos if out_of_sample else row.metrics
        per_setting[row.assignment].append(_finite(metrics.objective(objective)))
    cells: dict[tuple[Any, Any], float] = {}
    for assignment, values in per_setting.items():
        found = dict(assignment)
        mean = float(np.nanmean(values)) if not all(math.isnan(v) for v in values) else math.nan
        spot = (found[x_key], found[y_key])
        if spot not in cells or math.isnan(cells[spot]) or mean > cells[spot]:
            cells[spot] = mean
    xs = _sort_values({x for x, _ in cells})
    ys = _sort_values({y for _, y in cells})
    z = np.full((len(ys), len(xs)), np.nan)
    for (x, y), value in cells.items():
        z[ys.index(y), xs.index(x)] = value
    return xs, ys, z


def heatmap_svg(grid: Grid, x_key: str, y_key: str, title: str) -> str:
    xs, ys, z = grid
    return svg_charts.heatmap_svg(xs, ys, z, x_key, y_key, title)


def line_svg(rows: Sequence[Row], key: str, objective: str, walk_forward: bool) -> str:
    series = []
    labels: list[str] = []
    for out_of_sample, label in ((False, "in-sample"), (True, "out-of-sample")):
        if out_of_sample and not walk_forward:
            continue
        xs, _, z = pair_grid(rows, key, key, objective, out_of_sample)
        labels = [str(x) for x in xs]
        series.append((label, [float(np.nanmax(z[:, i])) if not np.all(np.isnan(z[:, i])) else math.nan
                               for i in range(len(xs))]))
    return svg_charts.line_svg(labels, series, key, objective)


def envelope(equity: np.ndarray, buckets: int = 1500) -> np.ndarray:
    """Indices worth drawing: each bucket's first, last, highest and lowest point. A 10-inch chart
    has 1,000 columns of pixels; a year of 5m bars (105k points) drawn in full costs most of a
    second and shows nothing more."""
    size = equity.size
    if size <= 4 * buckets:
        return np.arange(size)
    edges = np.linspace(0, size, buckets + 1).astype(np.int64)
    starts, ends = edges[:-1], edges[1:]
    picks = [starts, ends - 1]
    for values in (equity, -equity):
        picks.append(starts + np.array([np.argmax(values[a:b]) for a, b in zip(starts, ends)]))
    return np.unique(np.concatenate(picks))


def equity_svg(times: np.ndarray, equity: np.ndarray, title: str, boundaries: Sequence[int] = ()) -> str:
    keep = envelope(np.asarray(equity))
    return svg_charts.equity_svg(np.asarray(times)[keep], np.asarray(equity)[keep], title, boundaries)


def _img(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/svg+xml;base64,{data}">'


def report_html(result: SearchResult, keys: Sequence[str], objective: str, header: Sequence[str]) -> str:
    escape = html.escape
    walk_forward = bool(result.windows)
    parts = [f"<ul>{''.join(f'<li>{escape(line)}</li>' for line in [*header, *result.notes])}</ul>"]
    best = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in result.best)
    which = "chosen in the last walk-forward window" if walk_forward else f"best {objective} over the period"
    parts.append(f"<h2>Best settings ({escape(which)}; saved in best.yaml)</h2><table>{best}</table>"
                 f"<p>In-sample: {escape(summary_line(result.best_metrics))}</p>")
    luck = overfitting_lines(result)
    if luck:
        parts.append(f"<h2>Is the best row luck?</h2><ul>{''.join(f'<li>{escape(line)}</li>' for line in luck[:-1])}"
                     f"</ul><p>{escape(luck[-1])}</p>")
    if walk_forward:
        chained = result.chained
        parts.append(f"<h2>Out-of-sample (walk-forward, chosen settings chained)</h2>"
                     f"<p><b>{escape(summary_line(chained))}</b></p>"
                     f"<ul>{''.join(f'<li>{escape(window_line(w, objective))}</li>' for w in result.windows)}</ul>")
        parts.append(_img(equity_svg(*chained.equity, "out-of-sample equity of the chosen settings, chained "
                                                      "(dotted: window starts)",
                                     [w.window.test_start for w in result.windows]), "out-of-sample equity"))
    elif result.best_metrics.equity is not None:
        parts.append("<p>No walk-forward was asked (--walk-forward TRAIN_DAYS:TEST_DAYS), so there is no "
                     "out-of-sample record: the equity below is the best settings' over the searched period, "
                     "in-sample.</p>")
        parts.append(_img(equity_svg(*result.best_metrics.equity, "equity of the best settings (in-sample)"),
                          "in-sample equity"))
    parts.append(f"<h2>{escape(objective)} by parameter</h2>")
    if len(keys) == 1:
        parts.append(_img(line_svg(result.rows, keys[0], objective, walk_forward), f"{objective} by {keys[0]}"))
    for x_key, y_key in itertools.combinations(keys, 2):
        for out_of_sample in ((False, True) if walk_forward else (False,)):
            grid = pair_grid(result.rows, x_key, y_key, objective, out_of_sample)
            label = ("out-of-sample" if out_of_sample else "in-sample") + (", mean over windows" if walk_forward else "")
            title = f"{objective}\n({label}; best over the other parameters)"
            parts.append(_img(heatmap_svg(grid, x_key, y_key, title), f"{objective} heatmap {x_key} x {y_key}"))
    body = "\n".join(parts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>AutoHedge optimize</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px}}img{{max-width:100%;display:block;margin:1em 0}}</style></head><body>
<h1>AutoHedge optimize</h1>
{body}
<p>Every row: results.csv{"; each window's choice: walk_forward.csv" if walk_forward else ""}.</p>
</body></html>
"""
