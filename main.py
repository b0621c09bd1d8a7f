"""AutoHedge entry point.

    python main.py                 the trader's window (paper trading on the bundled sample)
    python main.py backtest ...    multi-symbol backtest with reports
    python main.py optimize ...    search settings by backtest (grid / Optuna, walk-forward)
    python main.py run ...         headless trading service (paper / replay / testnet / live)
    python main.py download ...    download klines from Binance USDT-M futures
    python main.py selftest        checks that this installation works
    python main.py --version       the version, the git commit and the data folder

Each sub-command lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; this file only wires them together and turns every
failure into one sentence and a non-zero exit code, never a traceback:

- a problem the user can fix (:class:`core.errors.UserError`): its sentence, exit 2;
- a file or folder the system refused (``OSError``): which one and why, exit 2;
- anything else is a bug: one sentence, the traceback saved to a file for the report, exit 70.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import sys
import tempfile
import traceback
from datetime import datetime
from pathlib import Path

from core.errors import UserError

# sub-command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("ui.app", "open the trader's window (default)"),
    "backtest": ("cli.backtest", "run a multi-symbol backtest and write reports"),
    "optimize": ("cli.optimize", "search settings by backtest (grid or Optuna, walk-forward)"),
    "run": ("cli.run", "run the trading service headless"),
    "download": ("cli.download", "download klines from Binance USDT-M futures"),
    "selftest": ("cli.selftest", "check that this installation works"),
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
    if argv[:1] in (["--version"], ["-V"]):
        return show_version()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "gui")
    # No collection while the command's module imports: the imports build some 85,000 tracked objects
    # (numpy, pandas, numba, the project) and make no garbage worth a collection, yet the collector's
    # thresholds started several full ones, each walking everything built so far (about 0.1 s of a
    # backtest command's imports).
    collecting = gc.isenabled()
    gc.disable()
    try:
        parser = build_parser(argv[0] if argv[0] in COMMANDS else None)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        module = _load(args._module)
        # What the imports built lives as long as the program; out of the collector's sight, each full
        # collection no longer walks all of it (a backtest's or a search's records trigger dozens: a tenth
        # of a one-year backtest command).
        gc.freeze()
    finally:
        if collecting:
            gc.enable()
    if module is None:
        print(f"autohedge: the '{args.command}' command is not available in this build", file=sys.stderr)
        return 2
    try:
        return int(module.run(args) or 0)
    except UserError as exc:
        say(f"autohedge {args.command}: {exc}")
        return 2
    except KeyboardInterrupt:
        say("autohedge: stopped by the user")
        return 130
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        say(f"autohedge {args.command}: {where}{exc.strerror or exc}")
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug: one sentence here, the details in a file
        report = save_crash_report(args.command)
        say(f"autohedge {args.command}: unexpected error ({type(exc).__name__}: {exc}); "
            f"the details are in {report}, please send it with your report")
        return 70


def show_version() -> int:
    """``--version``: the version, the commit and the data folder, on one line."""
    try:
        from config.version import version_text

        text = version_text()
    except UserError as exc:  # the user folder cannot be made: still say the version
        from config.version import VERSION, build_commit

        text = f"AutoHedge {VERSION}, commit {build_commit()}; data folder unavailable ({exc})"
    stream = sys.stdout or sys.stderr
    if stream is not None:
        print(text, file=stream, flush=True)
    return 0


def say(text: str) -> None:
    """One line to the console's error stream (a windowed EXE has none)."""
    stream = sys.stderr or sys.stdout
    if stream is not None:
        print(" ".join(text.split()), file=stream, flush=True)


def save_crash_report(command: str) -> Path | str:
    """Write the current exception's traceback to a file (the user folder's logs, else the temp folder)."""
    name = f"crash-{command}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.txt"
    text = traceback.format_exc()
    for folder in _crash_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
            return folder / name
        except OSError:
            continue
    return "(nowhere: no folder can be written)"


def _crash_folders() -> list[Path]:
    folders = []
    # The user folder itself may be the problem: the temporary folder still takes the report.
    with contextlib.suppress(Exception):
        from config.paths import user_home
        folders.append(user_home() / "logs")
    folders.append(Path(tempfile.gettempdir()))
    return folders


# Commands whose process ends without the interpreter's teardown once they have returned 0 (see
# end_process): they write their files with `with open(...)`/write_text (closed when they return),
# and their threads (a search's) have finished.
QUICK_EXIT_COMMANDS = frozenset({"backtest", "optimize"})


def end_process(code: int, argv: list[str]) -> None:
    """``sys.exit(code)``; after a successful command of QUICK_EXIT_COMMANDS, ``os._exit(code)`` once
    the exit handlers have run and the console streams are flushed.

    Tearing down an interpreter that loaded numpy, pandas and numba (clearing every module, the
    collector walking what the imports built, LLVM's finalizers) took 0.05-0.2 s after a search or a
    backtest had written everything (issue 21). The exit handlers still run (logging's flush and
    close, temporary files' clean-up, any library's own), so nothing a finished command needs is
    skipped. Only here, when main.py runs as the program (main() itself returns normally), and not
    under a profiler or tracer, whose results are written at exit. Other commands (the window, the
    trading service) and every failure end the ordinary way."""
    watched = sys.getprofile() is not None or sys.gettrace() is not None  # cProfile, coverage: let them write
    if code == 0 and argv[:1] and argv[0] in QUICK_EXIT_COMMANDS and not watched:
        import atexit
        import os

        atexit._run_exitfuncs()  # logging.shutdown among them: every handler flushed and closed
        try:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
        except (OSError, ValueError):  # a closed or broken console: what the interpreter's exit gives
            os._exit(120)
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        import multiprocessing

        multiprocessing.freeze_support()  # optimize's worker processes, in the frozen EXE
    end_process(main(), sys.argv[1:])
