"""AutoHedge entry point.

    python main.py                 the trader's window (paper trading on the bundled sample)
    python main.py backtest ...    multi-symbol backtest with reports
    python main.py optimize ...    search settings by backtest (grid / Optuna, walk-forward)
    python main.py run ...         headless trading service (paper / replay / testnet / live)
    python main.py download ...    download klines from Binance USDT-M futures
    python main.py selftest        checks that this installation works

Each sub-command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; this file only wires them together and turns a user
error into one sentence and a non-zero exit code.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from core.errors import UserError

# sub-command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("ui.app", "open the trader's window (default)"),
    "backtest": ("runner.backtest_cli", "run a multi-symbol backtest and write reports"),
    "optimize": ("runner.optimize_cli", "search settings by backtest (grid or Optuna, walk-forward)"),
    "run": ("runner.run_cli", "run the trading service headless"),
    "download": ("runner.download_cli", "download klines from Binance USDT-M futures"),
    "selftest": ("runner.selftest", "check that this installation works"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (a headless run never loads Qt)."""
    parser = argparse.ArgumentParser(prog="autohedge", description="AutoHedge: Binance USDT-M hedge-mode trading bot")
    sub = parser.add_subparsers(dest="command")
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text)
        if name == command:
            module = _load(module_name)
            if module is not None:
                module.add_arguments(command_parser)
        command_parser.set_defaults(_module=module_name)
    return parser


def _load(module_name: str):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module_name or module_name.startswith(exc.name + ".")):
            return None  # that part of the program is not installed in this build
        raise


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "gui")
    parser = build_parser(argv[0] if argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = _load(args._module)
    if module is None:
        print(f"autohedge: the '{args.command}' command is not available in this build", file=sys.stderr)
        return 2
    try:
        return int(module.run(args) or 0)
    except UserError as exc:
        print(f"autohedge {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("autohedge: stopped by the user", file=sys.stderr)
        return 130


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # optimize's worker processes, in the frozen EXE
    sys.exit(main())
