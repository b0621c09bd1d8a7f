/* The kernel's state machine written in plain C: the benchmark's upper yardstick, not shipped.
 *
 * tools.bench compiles this file at bench time (cc -O2 -shared) into a temporary folder and calls
 * ah_run through ctypes, timing it against core.kernel (signals + compiled loop) on the same
 * arrays. It is the same rules as tools/plain_rules.py (and core/decide.py for what the bench
 * runs): Wilder's RSI against the centerline [I1, S1, S2] for the 5m and the daily series, the
 * daily regime and G3 [G1-G4], R1-R6, X1-X3, fills at the next open or at the close [B1, B4],
 * the ledger. No funding, protections and loss limits off. The bench checks that it ends with
 * the kernel's fill count and cash before it times it.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define FIVE_MINUTES_MS 300000LL
#define LONG 0
#define SHORT 1
#define OPEN 0
#define CLOSE 1
#define UP 1
#define DOWN (-1)
#define NONE 0
#define PCT_TOLERANCE 1e-9
#define QTY_EPSILON 1e-12
enum { NO_RULE, R1, R2, R3, R4, R5, X1, X2, X3, G3 };

typedef struct { int side, action, reason; double qty; int64_t time; } Order;

typedef struct {
    double qty[2], entry[2], best[2], led_qty[2], led_entry[2], open_fees[2];
    int64_t since[2];
    double cash, fees, fee_pct, slip;
    int64_t trades, wins, hedges, fills;
} Book;

static void codes_of(const double *closes, int64_t n, int length, double centerline, int8_t *codes) {
    for (int64_t i = 0; i < n; i++) codes[i] = NONE;
    if (n <= length) return;
    double avg_gain = 0.0, avg_loss = 0.0;
    for (int k = 0; k < length; k++) {
        double change = closes[k + 1] - closes[k];
        avg_gain += change > 0 ? change : 0.0;
        avg_loss += change < 0 ? -change : 0.0;
    }
    avg_gain /= length;
    avg_loss /= length;
    for (int64_t i = length; i < n; i++) {
        if (i > length) {
            double change = closes[i] - closes[i - 1];
            avg_gain = (avg_gain * (length - 1) + (change > 0 ? change : 0.0)) / length;
            avg_loss = (avg_loss * (length - 1) + (change < 0 ? -change : 0.0)) / length;
        }
        double total = avg_gain + avg_loss;
        double rsi = total == 0.0 ? 50.0 : 100.0 * avg_gain / total;
        codes[i] = rsi > centerline ? UP : rsi < centerline ? DOWN : NONE;
    }
}

static void fill(Book *b, const Order *o, double base) {
    int side = o->side, buying = (side == LONG) == (o->action == OPEN);
    double price = base * (1.0 + (buying ? 1.0 : -1.0) * b->slip / 10000.0);
    double fee = fabs(o->qty * price) * b->fee_pct / 100.0;
    if (o->action == OPEN) {
        b->qty[side] = o->qty; b->entry[side] = price; b->since[side] = o->time; b->best[side] = price;
    } else {
        b->qty[side] = 0.0; b->entry[side] = 0.0; b->since[side] = 0; b->best[side] = 0.0;
    }
    double notional = o->qty * price;
    b->cash += buying ? -notional : notional;
    b->cash -= fee;
    b->fees += fee;
    double held = b->led_qty[side];
    if (o->action == OPEN) {
        b->led_entry[side] = (b->led_entry[side] * held + notional) / (held + o->qty);
        b->led_qty[side] = held + o->qty;
        b->open_fees[side] += fee;
        if (o->reason == R3 || o->reason == R5) b->hedges++;
    } else {
        double share = held > 0 ? fmin(1.0, o->qty / held) : 1.0;
        double opening_fee = b->open_fees[side] * share;
        double gross = (price - b->led_entry[side]) * o->qty * (1 - 2 * side);
        b->trades++;
        if (gross - opening_fee - fee > 0) b->wins++;
        b->open_fees[side] -= opening_fee;
        b->led_qty[side] = fmax(0.0, held - o->qty);
        if (b->led_qty[side] <= 1e-12) { b->led_qty[side] = 0.0; b->led_entry[side] = 0.0; b->open_fees[side] = 0.0; }
    }
    b->fills++;
}

/* Signals of both series, then bars first..stop-1. Returns the fill count; out = {cash, fees},
 * counts = {trades, wins, hedges}. codes/day_codes: caller's buffers of n / n_days bytes. */
int64_t ah_run(const int64_t *times, const double *opens, const double *closes, int64_t n,
               const int64_t *day_closes, const double *day_prices, int64_t n_days, int64_t first, int64_t stop,
               int rsi_length, double centerline, int cross, int fill_at_close, double call_size, double fee_pct,
               double slippage_bps, double capital, double take_profit_pct, int64_t max_hold_bars,
               double trailing_pct, double activation_pct, int8_t *codes, int8_t *day_codes, double *equity,
               double *out, int64_t *counts) {
    codes_of(closes, stop, rsi_length, centerline, codes);
    codes_of(day_prices, n_days, rsi_length, centerline, day_codes);
    Book b = {0};
    b.fee_pct = fee_pct;
    b.slip = slippage_bps;
    Order batch[8];
    int pending = 0, regime = NONE;
    int64_t day = 0;
    (void)n;
    for (int64_t i = first; i < stop; i++) {
        int64_t close_time = times[i] + FIVE_MINUTES_MS;
        double price = closes[i];
        for (int k = 0; k < pending; k++) fill(&b, &batch[k], opens[i]);
        pending = 0;
        while (day < n_days && day_closes[day] <= close_time) {
            int signal = day_codes[day];
            int new_regime = signal == NONE ? regime : signal;
            if (new_regime != regime && regime != NONE) {
                int hedge = new_regime == UP ? SHORT : LONG;
                if (b.qty[hedge] > QTY_EPSILON)
                    batch[pending++] = (Order){hedge, CLOSE, G3, b.qty[hedge], day_closes[day]};
            }
            regime = new_regime;
            day++;
        }
        int closing[2] = {0, 0};
        for (int k = 0; k < pending; k++) if (batch[k].action == CLOSE) closing[batch[k].side] = 1;
        if (b.qty[LONG] > QTY_EPSILON && price > b.best[LONG]) b.best[LONG] = price;
        if (b.qty[SHORT] > QTY_EPSILON && price < b.best[SHORT]) b.best[SHORT] = price;
        if (regime != NONE) {
            int signal = codes[i];
            int main = regime == UP ? LONG : SHORT, hedge = 1 - main;
            int main_held = b.qty[main] > QTY_EPSILON && !closing[main];
            int hedge_held = b.qty[hedge] > QTY_EPSILON && !closing[hedge];
            if (signal == regime && hedge_held) {
                batch[pending++] = (Order){hedge, CLOSE, R1, b.qty[hedge], close_time};
                hedge_held = 0;
            }
            if (!main_held) {
                int previous = i > 0 ? codes[i - 1] : NONE;
                if (signal == regime && (!cross || previous != regime))
                    batch[pending++] = (Order){main, OPEN, R2, call_size, close_time};
            } else {
                double sign = 1 - 2 * main, main_qty = b.qty[main];
                double profit = (price - b.entry[main]) * main_qty * sign;
                double hedge_size = main_qty < call_size ? main_qty : call_size;
                if (signal == -regime) {
                    if (profit >= 0) batch[pending++] = (Order){main, CLOSE, R3, main_qty, close_time};
                    else if (!hedge_held) batch[pending++] = (Order){hedge, OPEN, R3, hedge_size, close_time};
                } else if (profit >= 0) {
                    if (hedge_held) batch[pending++] = (Order){hedge, CLOSE, R4, b.qty[hedge], close_time};
                    double start = b.entry[main], top = b.best[main];
                    int reason = NO_RULE;
                    if (start > 0.0 && (price - start) / start * 100.0 * sign >= take_profit_pct - PCT_TOLERANCE)
                        reason = X1;
                    else if ((double)(close_time - b.since[main]) / FIVE_MINUTES_MS >= max_hold_bars)
                        reason = X2;
                    else if (top > 0.0 && start > 0.0
                             && (top - start) / start * 100.0 * sign >= activation_pct - PCT_TOLERANCE
                             && (top - price) / top * 100.0 * sign >= trailing_pct - PCT_TOLERANCE)
                        reason = X3;
                    if (reason != NO_RULE) batch[pending++] = (Order){main, CLOSE, reason, main_qty, close_time};
                } else if (signal == NONE && !hedge_held) {
                    batch[pending++] = (Order){hedge, OPEN, R5, hedge_size, close_time};
                }
            }
        }
        if (fill_at_close) {
            for (int k = 0; k < pending; k++) fill(&b, &batch[k], price);
            pending = 0;
        }
        equity[i - first] = capital + b.cash + (b.led_qty[LONG] - b.led_qty[SHORT]) * price;
    }
    out[0] = b.cash;
    out[1] = b.fees;
    counts[0] = b.trades;
    counts[1] = b.wins;
    counts[2] = b.hedges;
    return b.fills;
}
