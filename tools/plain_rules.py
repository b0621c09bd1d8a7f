"""The strategy's rules written again in plain Python: the benchmark's yardstick, not shipped.

    python -m tools.plain_rules --data DIR --symbol DOGEUSDT [--start YYYY-MM-DD] [--end YYYY-MM-DD]
                                [--grid KEY=v1,v2,... ...] [--out DIR]

An independent implementation of what ``python main.py backtest`` / ``optimize`` compute for
one symbol: read the kline CSVs with the standard library, Wilder's RSI against the
centerline [I1, S1, S2], the daily regime and G3 [G1-G4], the bar rules R1-R6 and X1-X3,
fills at the next open (or at the close) with the fee and slippage model [B1, B4], and the
ledger. Lists, floats and ifs only: no numpy, no pandas, no numba. ``tools.bench`` times it
against the project's commands and checks that it ends with the same fills and cash as the
kernel (so it is the same rules, not a simpler strategy).

It covers what the bench runs: the centerline reference, level or cross entries, no funding,
the protections and loss limits [L1-L5] off, RSI lengths under 8 (from 8 on, numpy's mean of
the seed changes from a plain sum to pairwise sums, which this does not copy). Each ``--grid`` setting is run in turn on the
data loaded once (a per-setting search in plain Python); with ``--out`` the last setting's
fills go to trades.csv and its equity to equity.csv.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import time
from datetime import datetime, timezone
from pathlib import Path

FIVE_MINUTES_MS = 300_000
DAY_MS = 86_400_000
LONG, SHORT = 0, 1
OPEN, CLOSE = 0, 1
UP, DOWN, NONE = 1, -1, 0
PCT_TOLERANCE = 1e-9
QTY_EPSILON = 1e-12
REASONS = ("", "R1", "R2", "R3", "R4", "R5", "X1", "X2", "X3", "G3")
R1, R2, R3, R4, R5, X1, X2, X3, G3 = range(1, 10)
DEFAULTS = {"rsi_length": 2, "centerline": 50.0, "cross": False, "take_profit_pct": 1.0, "max_hold_bars": 24,
            "trailing_pct": 0.5, "trailing_activation_pct": 0.5, "call_size": 100.0, "fee_pct": 0.05,
            "slippage_bps": 0.0, "capital": 1000.0, "fill_at_close": False}
GRID_KEYS = {"strategy.signal.centerline": "centerline", "strategy.exit.take_profit_pct": "take_profit_pct",
             "strategy.exit.trailing_pct": "trailing_pct", "strategy.exit.max_hold_bars": "max_hold_bars",
             "strategy.exit.trailing_activation_pct": "trailing_activation_pct", "strategy.rsi_length": "rsi_length"}


def read_klines(path: Path) -> tuple[list[int], list[float], list[float]]:
    """open_time, open, close of a 6-column kline CSV (optionally gzipped), header skipped."""
    opener = gzip.open if path.suffix == ".gz" else open
    times, opens, closes = [], [], []
    with opener(path, "rt", newline="") as handle:
        rows = csv.reader(handle)
        for row in rows:
            if not row[0].isdigit():
                continue
            times.append(int(row[0]))
            opens.append(float(row[1]))
            closes.append(float(row[4]))
    return times, opens, closes


def signal_codes(closes: list[float], length: int, centerline: float) -> list[int]:
    """Wilder's RSI (seeded with the mean of the first ``length`` changes) against the centerline."""
    codes = [NONE] * len(closes)
    if len(closes) <= length:
        return codes
    gains, losses = [], []
    for a, b in zip(closes, closes[1:]):
        change = b - a
        gains.append(change if change > 0 else 0.0)
        losses.append(-change if change < 0 else 0.0)
    avg_gain = sum(gains[:length]) / length
    avg_loss = sum(losses[:length]) / length
    for i in range(length, len(closes)):
        if i > length:
            avg_gain = (avg_gain * (length - 1) + gains[i - 1]) / length
            avg_loss = (avg_loss * (length - 1) + losses[i - 1]) / length
        total = avg_gain + avg_loss
        rsi = 50.0 if total == 0.0 else 100.0 * avg_gain / total
        codes[i] = UP if rsi > centerline else DOWN if rsi < centerline else NONE
    return codes


def simulate(times, opens, closes, codes, day_closes, day_codes, first, stop, p) -> dict:
    """Bars first..stop-1 of one symbol; returns the fills, the equity per bar and the ledger's totals."""
    call_size, fee_pct, slip = p["call_size"], p["fee_pct"], p["slippage_bps"]
    tp, hold, trail, activation = p["take_profit_pct"], p["max_hold_bars"], p["trailing_pct"], \
        p["trailing_activation_pct"]
    cross, at_close, capital = p["cross"], p["fill_at_close"], p["capital"]
    qty = [0.0, 0.0]
    entry = [0.0, 0.0]
    since = [0, 0]
    best = [0.0, 0.0]
    led_qty = [0.0, 0.0]
    led_entry = [0.0, 0.0]
    open_fees = [0.0, 0.0]
    cash = fees = 0.0
    trades = wins = hedges = 0
    fills: list[tuple] = []
    equity: list[float] = []
    batch: list[tuple] = []  # (side, action, reason, qty, decision time, seq)
    regime = NONE
    seq = 0
    day = 0
    n_days = len(day_closes)

    def fill(side, action, reason, amount, decided, number, base, when):
        nonlocal cash, fees, trades, wins, hedges
        buying = (side == LONG) == (action == OPEN)
        price = base * (1.0 + (1.0 if buying else -1.0) * slip / 10_000.0)
        fee = abs(amount * price) * fee_pct / 100.0
        if action == OPEN:
            qty[side], entry[side], since[side], best[side] = amount, price, decided, price
        else:
            qty[side], entry[side], since[side], best[side] = 0.0, 0.0, 0, 0.0
        notional = amount * price
        cash += -notional if buying else notional
        cash -= fee
        fees += fee
        held = led_qty[side]
        if action == OPEN:
            led_entry[side] = (led_entry[side] * held + notional) / (held + amount)
            led_qty[side] = held + amount
            open_fees[side] += fee
            if reason == R3 or reason == R5:
                hedges += 1
        else:
            share = min(1.0, amount / held) if held > 0 else 1.0
            opening_fee = open_fees[side] * share
            gross = (price - led_entry[side]) * amount * (1 - 2 * side)
            trades += 1
            if gross - opening_fee - fee > 0:
                wins += 1
            open_fees[side] -= opening_fee
            led_qty[side] = max(0.0, held - amount)
            if led_qty[side] <= 1e-12:
                led_qty[side] = led_entry[side] = open_fees[side] = 0.0
        fills.append((decided, when, side, action, reason, amount, price, fee, number))

    for i in range(first, stop):
        close_time = times[i] + FIVE_MINUTES_MS
        price = closes[i]
        if batch:
            for order in batch:
                fill(*order, opens[i], times[i])
            batch = []
        while day < n_days and day_closes[day] <= close_time:  # daily first
            signal = day_codes[day]
            new_regime = regime if signal == NONE else signal
            if new_regime != regime and regime != NONE:
                hedge = SHORT if new_regime == UP else LONG
                if qty[hedge] > QTY_EPSILON:  # nothing is in flight at a daily close
                    seq += 1
                    batch.append((hedge, CLOSE, G3, qty[hedge], day_closes[day], seq))
            regime = new_regime
            day += 1
        # the bar's rules
        closing = [False, False]
        for order in batch:
            if order[1] == CLOSE:
                closing[order[0]] = True
        if qty[LONG] > QTY_EPSILON and price > best[LONG]:
            best[LONG] = price
        if qty[SHORT] > QTY_EPSILON and price < best[SHORT]:
            best[SHORT] = price
        if regime != NONE:
            signal = codes[i]
            main = LONG if regime == UP else SHORT
            hedge = 1 - main
            main_held = qty[main] > QTY_EPSILON and not closing[main]
            hedge_held = qty[hedge] > QTY_EPSILON and not closing[hedge]
            if signal == regime and hedge_held:  # R1
                seq += 1
                batch.append((hedge, CLOSE, R1, qty[hedge], close_time, seq))
                hedge_held = False
            if not main_held:
                if signal == regime and (not cross or (codes[i - 1] if i > 0 else NONE) != regime):  # R2
                    seq += 1
                    batch.append((main, OPEN, R2, call_size, close_time, seq))
            else:
                sign = 1 - 2 * main
                main_qty = qty[main]
                profit = (price - entry[main]) * main_qty * sign
                hedge_flat = not hedge_held  # no open of the hedge can be in flight here
                if signal == -regime:  # R3
                    if profit >= 0:
                        seq += 1
                        batch.append((main, CLOSE, R3, main_qty, close_time, seq))
                    elif hedge_flat:
                        seq += 1
                        batch.append((hedge, OPEN, R3, min(main_qty, call_size), close_time, seq))
                elif profit >= 0:  # R4, then the exits
                    if hedge_held:
                        seq += 1
                        batch.append((hedge, CLOSE, R4, qty[hedge], close_time, seq))
                    start = entry[main]
                    reason = 0
                    if start > 0.0 and (price - start) / start * 100.0 * sign >= tp - PCT_TOLERANCE:
                        reason = X1
                    elif (close_time - since[main]) / FIVE_MINUTES_MS >= hold:
                        reason = X2
                    else:
                        top = best[main]
                        if top > 0.0 and start > 0.0 \
                                and (top - start) / start * 100.0 * sign >= activation - PCT_TOLERANCE \
                                and (top - price) / top * 100.0 * sign >= trail - PCT_TOLERANCE:
                            reason = X3
                    if reason:
                        seq += 1
                        batch.append((main, CLOSE, reason, main_qty, close_time, seq))
                elif signal == NONE and hedge_flat:  # R5
                    seq += 1
                    batch.append((hedge, OPEN, R5, min(main_qty, call_size), close_time, seq))
        if batch and at_close:
            for order in batch:
                fill(*order, price, close_time)
            batch = []
        equity.append(capital + cash + (led_qty[LONG] - led_qty[SHORT]) * price)
    return {"fills": fills, "equity": equity, "cash": cash, "fees": fees, "trades": trades, "wins": wins,
            "hedges": hedges}


def _day_ms(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp() * 1000)


def run(data: Path, symbol: str, start: str | None, end: str | None, settings: list[dict],
        out: Path | None = None) -> list[dict]:
    """Load the symbol once, then every setting: signals, the loop, the summary."""
    times, opens, closes = read_klines(data / f"{symbol}-5m.csv.gz")
    day_times, _, day_prices = read_klines(data / f"{symbol}-1d.csv.gz")
    first = 0 if start is None else next(i for i, t in enumerate(times) if t >= _day_ms(start))
    stop = len(times) if end is None else next((i for i, t in enumerate(times) if t >= _day_ms(end) + DAY_MS),
                                               len(times))
    day_closes = [t + DAY_MS for t in day_times]
    results = []
    for setting in settings:
        p = dict(DEFAULTS, **setting)
        codes = signal_codes(closes[:stop], p["rsi_length"], p["centerline"])
        day_codes = signal_codes(day_prices, p["rsi_length"], p["centerline"])
        result = simulate(times, opens, closes, codes, day_closes, day_codes, first, stop, p)
        curve = result["equity"]
        peak, worst = curve[0], 0.0
        for value in curve:
            peak = value if value > peak else peak
            worst = max(worst, (peak - value) / peak * 100.0)
        result.update(setting=setting, net_pnl=curve[-1] - p["capital"], max_dd_pct=worst)
        results.append(result)
    if out is not None and results:
        out.mkdir(parents=True, exist_ok=True)
        last = results[-1]
        with open(out / "trades.csv", "w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["time", "symbol", "side", "action", "qty", "price", "fee", "reason"])
            for decided, when, side, action, reason, amount, price, fee, _ in last["fills"]:
                writer.writerow([when, symbol, ("LONG", "SHORT")[side], ("OPEN", "CLOSE")[action], amount, price,
                                 fee, REASONS[reason]])
        with open(out / "equity.csv", "w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["time", "equity"])
            writer.writerows(zip((t + FIVE_MINUTES_MS for t in times[first:stop]), last["equity"]))
    return results


def grid(pairs: list[str]) -> list[dict]:
    """--grid KEY=v1,v2 ... as every combination (settings keys as on main.py's command line)."""
    axes = []
    for pair in pairs:
        key, _, values = pair.partition("=")
        name = GRID_KEYS[key]
        cast = int if name in ("max_hold_bars", "rsi_length") else float
        axes.append([(name, cast(value)) for value in values.split(",")])
    return [dict(combo) for combo in itertools.product(*axes)] if axes else [{}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plain_rules", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--start")
    parser.add_argument("--end")
    parser.add_argument("--call-size", type=float, default=DEFAULTS["call_size"])
    parser.add_argument("--grid", nargs="*", default=[])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    began = time.perf_counter()
    settings = [dict(s, call_size=args.call_size) for s in grid(args.grid)]
    results = run(args.data, args.symbol, args.start, args.end, settings, args.out)
    for result in results:
        print(f"{result['setting']} fills {len(result['fills'])} trades {result['trades']} wins {result['wins']} "
              f"net {result['net_pnl']:.6f} cash {result['cash']!r} max_dd {result['max_dd_pct']:.2f}")
    print(f"seconds {time.perf_counter() - began:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
