"""The reports' SVG charts: valid SVG documents that show the data given."""
from __future__ import annotations

import math
from xml.etree import ElementTree

import numpy as np

from research import svg_charts

SVG = "{http://www.w3.org/2000/svg}"


def test_nice_ticks_are_round_and_cover_the_range():
    assert svg_charts.nice_ticks(0.0, 10.0) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert svg_charts.nice_ticks(851.3, 1003.9) == [900.0, 950.0, 1000.0]
    assert svg_charts.nice_ticks(5.0, 5.0) == [5.0]
    assert svg_charts.nice_ticks(math.nan, 1.0) == []


def test_equity_drawdown_chart_draws_every_point_within_its_panels():
    times = np.arange(200, dtype=np.int64) * 300_000 + 1_672_531_200_000  # 2023-01-01
    equity = 1000.0 + np.sin(np.arange(200) / 10.0) * 5
    drawdown = np.minimum(equity - np.maximum.accumulate(equity), 0.0) / 10
    root = ElementTree.fromstring(svg_charts.equity_drawdown_svg("X: equity (USDT)", times, equity, drawdown))
    assert root.find(f"{SVG}title").text == "X: equity (USDT)"
    points = [tuple(map(float, p.split(","))) for p in root.find(f"{SVG}polyline").get("points").split()]
    assert len(points) == 200
    assert [x for x, _ in points] == sorted(x for x, _ in points)  # time runs left to right
    highest = min(range(200), key=lambda i: points[i][1])  # the top of the picture is the highest equity
    assert highest == int(np.argmax(equity))
    assert any(t.text == "2023-01-01" for t in root.iter(f"{SVG}text"))


def test_heatmap_colours_best_green_worst_red_and_marks_untried_cells():
    z = np.array([[1.0, 2.0], [3.0, np.nan]])
    root = ElementTree.fromstring(svg_charts.heatmap_svg([0.5, 1], [40, 50], z, "tp", "center", "net_pnl"))
    cells = [r.get("fill") for r in root.iter(f"{SVG}rect")][1:5]  # after the background
    assert cells == [svg_charts.colour(0.0), svg_charts.colour(0.5), svg_charts.colour(1.0), "#eeeeee"]
    assert svg_charts.colour(0.0) == "#a50026" and svg_charts.colour(1.0) == "#006837"
    assert {t.text for t in root.iter(f"{SVG}text")} >= {"1", "2", "3", "tp", "center", "0.5", "40"}


def test_line_chart_has_one_series_per_name_skipping_missing_values():
    root = ElementTree.fromstring(svg_charts.line_svg(["1", "2", "3"], [("in-sample", [1.0, math.nan, 3.0]),
                                                                        ("out-of-sample", [0.5, 1.0, 1.5])],
                                                      "tp", "sharpe"))
    lines = list(root.iter(f"{SVG}polyline"))
    assert [len(line.get("points").split()) for line in lines] == [2, 3]
    assert len(list(root.iter(f"{SVG}circle"))) == 5
