"""``python -m tests.fake_binance --data DIR --port N [--start TIME]``: run the fake until killed."""
from __future__ import annotations

import argparse
import sys
import threading

from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET, FakeBinance, parse_start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_binance", description=__doc__)
    parser.add_argument("--data", required=True, help="folder of <SYMBOL>-5m.csv(.gz) kline files")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--start", help="simulated market time to start at: ms or ISO UTC, e.g. 2025-03-01T00:00")
    parser.add_argument("--api-key", default=TEST_API_KEY)
    parser.add_argument("--api-secret", default=TEST_API_SECRET)
    parser.add_argument("--wallet", default="10000", help="starting USDT wallet balance")
    parser.add_argument("--lenient-client-ids", action="store_true",
                        help="refuse a client id used before even by a finished order (not Binance's rule)")
    parser.add_argument("--clock-speed", type=float, default=0.0,
                        help="let the market clock run at this multiple of real time (0 = only /_fake/clock moves it)")
    parser.add_argument("--no-weight-limit", action="store_true",
                        help="turn off the 2400/minute request weight limit (not Binance's behaviour)")
    parser.add_argument("--order-schema", choices=("2026-07", "2025-12", "legacy"), default="2026-07",
                        help="shape of New Order answers (default: Binance's 2026-07 schema, no avgPrice/cumQuote)")
    args = parser.parse_args(argv)
    fake = FakeBinance(args.data, args.port, parse_start(args.start) if args.start else None,
                       args.api_key, args.api_secret, wallet=args.wallet,
                       lenient_client_ids=args.lenient_client_ids,
                       weight_limit=None if args.no_weight_limit else 2400,
                       order_schema=args.order_schema).start()
    if args.clock_speed > 0:
        fake.run_market_clock(args.clock_speed)
    print(f"fake Binance listening on {fake.base_url} (market time {fake.now_ms})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
