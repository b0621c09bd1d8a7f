"""Every failure a user can cause or meet ends a command with ONE sentence and a non-zero exit code.

Each case runs ``python main.py <command>`` as a subprocess, the way a user does, with one bad
input or one broken environment: bad settings, a bad ``--set``, bad dates, missing or corrupt
data, folders that cannot be written, no network, refused keys, no display. The test fails on
any traceback, on more than the one sentence on the error stream, and on a sentence other than
the one written here. ``CASES`` is also the source of the README's "When something goes wrong"
table (``python -m tests.test_user_errors`` prints it; a test checks the README holds it).

Folders are made unwritable by putting a file where the folder should be: that holds for every
user, root included (the CI container runs as root, where permission bits are not enforced).
No network is a closed port on 127.0.0.1.
"""
from __future__ import annotations

import gzip
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, TYPO_SETTINGS
from tests.fake_binance.fixtures import fake_server  # noqa: F401  (the wrong-keys case)

SAMPLE = REPO_ROOT / "data" / "sample"
FUTURES = REPO_ROOT / "data" / "futures"
DOGE_ONLY = "symbols:\n  DOGEUSDT:\n    call_size: 100\n"
MAX_STDOUT_LINES = 3  # e.g. "settings: ..." before the failure; never a dump
MAX_LOG_LINES = 3  # ``run`` logs to the console too (e.g. the clock offset before the keys are refused)
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")


def closed_port() -> int:
    """A 127.0.0.1 port nobody listens on: connecting to it is refused at once (no network)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Case:
    """One failure: what the user did, the command line, and the sentence they must get.

    ``{tmp}`` in ``argv``/``sentence`` is the test's folder, ``{port}`` a closed port, ``{fake}``
    a running fake exchange; ``prefix`` means the sentence goes on after ``sentence`` (a list of
    allowed keys, an operating-system detail).
    """

    fault: str
    argv: tuple[str, ...]
    sentence: str
    setup: str = ""  # name of a prepare_* function below
    env: dict[str, str] = field(default_factory=dict)
    prefix: bool = False

    @property
    def command(self) -> str:
        return self.argv[0]


CASES: list[Case] = [
    # ----- settings --------------------------------------------------------------------------------
    Case("a typo in the settings file", ("run", "--config", "{tmp}/settings.yaml"),
         "autohedge run: settings file {tmp}/settings.yaml, line 7: symbols.DOGEUSDT.levrage is not a setting; "
         "allowed: call_size, leverage", setup="typo_settings"),
    Case("settings file that is not YAML", ("backtest", "--config", "{tmp}/settings.yaml"),
         "autohedge backtest: settings file {tmp}/settings.yaml, line 8 is not valid YAML", setup="bad_yaml",
         prefix=True),
    Case("settings file missing", ("backtest", "--config", "{tmp}/none.yaml"),
         "autohedge backtest: settings file {tmp}/none.yaml does not exist"),
    Case("a bad value in --set", ("run", "--set", "mode=yolo"),
         "autohedge run: --set mode=yolo: mode = 'yolo' is not allowed; use one of: paper, demo, live"),
    Case("an unknown key in --set", ("backtest", "--set", "strategy.rsi=3"),
         "autohedge backtest: --set strategy.rsi: not a setting; allowed keys: ", prefix=True),
    Case("--set without a value", ("backtest", "--set", "mode"),
         "autohedge backtest: --set 'mode': expected KEY=VALUE, e.g. strategy.signal.reference=macd"),
    # ----- dates and symbols -----------------------------------------------------------------------
    Case("a date that is not a date", ("run", "--replay", str(SAMPLE), "--start", "2023-13-01"),
         "autohedge run: --start '2023-13-01' is not a date; use YYYY-MM-DD (UTC)"),
    Case("--end before --start", ("backtest", "--start", "2023-03-02", "--end", "2023-03-01"),
         "autohedge backtest: the date range is empty: --end 2023-03-01 is not after --start 2023-03-02"),
    Case("dates outside the data", ("backtest", "--start", "2030-01-01", "--out", "{tmp}/out"),
         f"autohedge backtest: DOGEUSDT has no 5m candles from 2030-01-01 00:00 UTC to the last candle; "
         f"the data in {SAMPLE} covers 2022-08-01 00:00 to 2023-09-27 18:30 UTC"),
    Case("replay dates outside the data", ("run", "--replay", str(SAMPLE), "--start", "2021-01-01", "--end",
                                           "2021-01-31", "--state-dir", "{tmp}/state"),
         f"autohedge run: DOGEUSDT has no 5m candles from 2021-01-01 00:00 UTC to 2021-02-01 00:00 UTC; "
         f"the data in {SAMPLE} covers 2022-08-01 00:00 to 2023-09-27 18:30 UTC"),
    Case("a symbol in lower case with no size", ("backtest", "--symbols", "xrpusdt", "--out", "{tmp}/out"),
         "autohedge backtest: XRPUSDT has no call_size in the settings; add --set symbols.XRPUSDT.call_size=N "
         "(base-asset units)"),
    Case("not a futures symbol", ("download", "--symbols", "DOGE", "--start", "2025-01-01", "--out", "{tmp}/dl"),
         "autohedge download: --symbols DOGE is not a USDT-M futures symbol (expected e.g. DOGEUSDT)"),
    Case("an unknown kline interval", ("download", "--symbols", "DOGEUSDT", "--interval", "7x", "--start",
                                       "2025-01-01", "--out", "{tmp}/dl"),
         "autohedge download: interval '7x' is not understood; use e.g. 1m, 5m, 1h, 1d"),
    # ----- data ------------------------------------------------------------------------------------
    Case("data folder missing", ("backtest", "--data", "{tmp}/nodata", "--out", "{tmp}/out"),
         "autohedge backtest: data folder {tmp}/nodata does not exist"),
    Case("replay folder missing", ("run", "--replay", "{tmp}/nodata", "--state-dir", "{tmp}/state"),
         "autohedge run: data folder {tmp}/nodata does not exist"),
    Case("a symbol with no data file", ("backtest", "--data", "{tmp}/data", "--out", "{tmp}/out"),
         "autohedge backtest: no 5m data for ALGOUSDT in {tmp}/data (expected ALGOUSDT-5m.csv, .csv.gz or .zip; "
         "symbols with 5m data there: DOGEUSDT)", setup="doge_only_data"),
    Case("a corrupt kline file", ("backtest", "--data", "{tmp}/data", "--symbols", "DOGEUSDT", "--out", "{tmp}/out"),
         "autohedge backtest: kline file {tmp}/data/DOGEUSDT-5m.csv.gz cannot be read: ", setup="corrupt_data", prefix=True),
    Case("a funding file missing", ("backtest", "--funding", "{tmp}/funding.csv", "--out", "{tmp}/out"),
         "autohedge backtest: funding file {tmp}/funding.csv does not exist"),
    # ----- folders ---------------------------------------------------------------------------------
    Case("state folder not writable", ("run", "--replay", str(SAMPLE), "--state-dir", "{tmp}/blocked/state"),
         "autohedge run: the state folder {tmp}/blocked/state is not writable ({tmp}/blocked is a file, not a folder)",
         setup="blocker"),
    Case("log folder not writable", ("run", "--replay", str(SAMPLE), "--state-dir", "{tmp}/state",
                                     "--set", "paths.log_dir={tmp}/blocked/logs"),
         "autohedge run: the log folder {tmp}/blocked/logs is not writable ({tmp}/blocked is a file, not a folder)",
         setup="blocker"),
    Case("trades file's folder not writable", ("run", "--replay", str(SAMPLE), "--state-dir", "{tmp}/state",
                                               "--trades-out", "{tmp}/blocked/trades.csv"),
         "autohedge run: the trades output folder {tmp}/blocked is not writable "
         "({tmp}/blocked is a file, not a folder)", setup="blocker"),
    Case("backtest --out not writable", ("backtest", "--out", "{tmp}/blocked/out"),
         "autohedge backtest: the report folder {tmp}/blocked/out is not writable "
         "({tmp}/blocked is a file, not a folder)", setup="blocker"),
    Case("download --out not writable", ("download", "--symbols", "DOGEUSDT", "--start", "2025-01-01",
                                         "--out", "{tmp}/blocked/dl", "--base-url", "http://127.0.0.1:{port}"),
         "autohedge download: the download folder {tmp}/blocked/dl is not writable "
         "({tmp}/blocked is a file, not a folder)", setup="blocker"),
    Case("user folder not writable (window)", ("gui", "--quit-after", "0"),
         "autohedge gui: the user folder {tmp}/blocked/home cannot be created ({tmp}/blocked is a file, not a "
         "folder); set AUTOHEDGE_HOME to a folder you can write to",
         setup="blocker", env={"AUTOHEDGE_HOME": "{tmp}/blocked/home"}),
    Case("user folder not writable (run)", ("run", "--replay", str(SAMPLE), "--state-dir", "{tmp}/state"),
         "autohedge run: the user folder {tmp}/blocked/home cannot be created ({tmp}/blocked is a file, not a "
         "folder); set AUTOHEDGE_HOME to a folder you can write to",
         setup="blocker", env={"AUTOHEDGE_HOME": "{tmp}/blocked/home"}),
    # ----- network and keys ------------------------------------------------------------------------
    Case("no network, demo trading", ("run", "--mode", "demo", "--config", "{tmp}/doge.yaml", "--state-dir",
                                 "{tmp}/state", "--base-url", "http://127.0.0.1:{port}",
                                 "--stream-url", "ws://127.0.0.1:{port}/"),
         "autohedge run: cannot start demo trading: Binance demo trading cannot be reached (network error: "
         "cannot reach Binance (connection failed)); check the internet connection",
         setup="doge_settings", env={"BINANCE_API_KEY": "k", "BINANCE_API_SECRET": "s"}),
    Case("no network, paper trading on live prices", (
        "run", "--mode", "paper", "--config", "{tmp}/doge.yaml", "--set", "paper.source=live", "--state-dir",
        "{tmp}/state", "--base-url", "http://127.0.0.1:{port}", "--stream-url", "ws://127.0.0.1:{port}/"),
         "autohedge run: cannot start paper trading: Binance's public market data cannot be reached (network "
         "error: cannot reach Binance (connection failed)); check the internet connection", setup="doge_settings"),
    Case("no network, download", ("download", "--symbols", "DOGEUSDT", "--start", "2025-01-01", "--end",
                                  "2025-01-02", "--out", "{tmp}/dl", "--base-url", "http://127.0.0.1:{port}"),
         "autohedge download: DOGEUSDT: download stopped after 3 retries (network error: [Errno 111] Connection "
         "refused); run the same command again to resume"),
    Case("API key refused", ("run", "--mode", "demo", "--config", "{tmp}/doge.yaml", "--state-dir", "{tmp}/state",
                             "--base-url", "{fake}", "--stream-url", "{fake_ws}"),
         "autohedge run: cannot start demo trading: Binance demo trading refused it (error -2015: Invalid "
         "API-key, IP, or permissions for action); check the API key, its IP whitelist and that 'Enable "
         "Futures' is on in Binance API management.",
         setup="doge_settings", env={"BINANCE_API_KEY": "wrong", "BINANCE_API_SECRET": "wrong"}),
    Case("no API key", ("run", "--mode", "testnet", "--state-dir", "{tmp}/state"),
         "autohedge run: no Binance demo trading API key: enter it in the window (and tick 'remember'), or set "
         "BINANCE_API_KEY and BINANCE_API_SECRET in the environment or a .env file"),
    Case("live without confirming", ("run", "--mode", "live"),
         "autohedge run: live mode trades REAL money: add --confirm-live if you mean it"),
    # ----- the window ------------------------------------------------------------------------------
    Case("no display (window)", ("gui", "--quit-after", "0"),
         "autohedge gui: the window cannot open: there is no display (DISPLAY and WAYLAND_DISPLAY are not set); "
         "start it on a desktop, or use the headless commands run and backtest", env={"QT_QPA_PLATFORM": ""}),
]


# ----- preparing the broken environment ------------------------------------------------------------


def prepare_typo_settings(tmp: Path) -> None:
    (tmp / "settings.yaml").write_text(TYPO_SETTINGS, encoding="utf-8")


def prepare_bad_yaml(tmp: Path) -> None:
    (tmp / "settings.yaml").write_text(TYPO_SETTINGS.replace("levrage: 3", "leverage: [3"), encoding="utf-8")


def prepare_doge_settings(tmp: Path) -> None:
    (tmp / "doge.yaml").write_text(DOGE_ONLY, encoding="utf-8")


def prepare_blocker(tmp: Path) -> None:
    (tmp / "blocked").write_text("a file where a folder should be\n", encoding="utf-8")


def prepare_doge_only_data(tmp: Path) -> None:
    (tmp / "data").mkdir()
    shutil.copy(SAMPLE / "DOGEUSDT-5m.csv.gz", tmp / "data")


def prepare_corrupt_data(tmp: Path) -> None:
    (tmp / "data").mkdir()
    data = (SAMPLE / "DOGEUSDT-5m.csv.gz").read_bytes()
    (tmp / "data" / "DOGEUSDT-5m.csv.gz").write_bytes(data[: len(data) // 2])  # a download cut in half


def expand(text: str, tmp: Path, port: int, fake_url: str) -> str:
    ws = fake_url.replace("http://", "ws://") + "/"
    return (text.replace("{tmp}", str(tmp)).replace("{port}", str(port))
            .replace("{fake_ws}", ws).replace("{fake}", fake_url))


def user_env(tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    """A user's environment: no display, no keys, no keyring, everything written under ``tmp``."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY", "BINANCE_API_KEY", "BINANCE_API_SECRET")}
    env.update({"AUTOHEDGE_HOME": str(tmp / "home"), "QT_QPA_PLATFORM": "offscreen",
                "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", "PYTHONDONTWRITEBYTECODE": "1"})
    for key, value in extra.items():
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    return env


def run_main(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "main.py"), *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def the_one_sentence(done: subprocess.CompletedProcess) -> str:
    """The failure's sentence; fails on a traceback, on a zero exit code and on anything more than one line."""
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode not in (0, -6, 134), (done.returncode, output)  # -6/134: aborted (Qt's own exit)
    lines = [line for line in done.stderr.splitlines() if line.strip()
             and "propagateSizeHints" not in line]  # Qt's offscreen plugin says this on any window
    errors = [line for line in lines if not LOG_LINE.match(line)]
    assert len(errors) == 1 and len(lines) - 1 <= MAX_LOG_LINES, done.stderr
    assert len(done.stdout.splitlines()) <= MAX_STDOUT_LINES, done.stdout
    return errors[0]


@pytest.mark.parametrize("case", CASES, ids=[case.fault for case in CASES])
def test_each_failure_is_one_sentence_and_a_non_zero_exit(case: Case, tmp_path, request):
    if case.setup:
        globals()[f"prepare_{case.setup}"](tmp_path)
    fake_url = request.getfixturevalue("fake_server").base_url if "{fake}" in " ".join(case.argv) else ""
    port = closed_port()
    argv = [expand(arg, tmp_path, port, fake_url) for arg in case.argv]
    env = user_env(tmp_path, {key: expand(value, tmp_path, port, fake_url) for key, value in case.env.items()})
    done = run_main(argv, env, cwd=tmp_path)
    sentence = the_one_sentence(done)
    expected = expand(case.sentence, tmp_path, port, fake_url)
    if case.prefix:
        assert sentence.startswith(expected), sentence
    else:
        assert sentence == expected
    assert done.returncode == 2


def test_download_without_network_leaves_no_file(tmp_path):
    """A failed first download leaves nothing a backtest would then refuse (no header-only CSV)."""
    done = run_main(["download", "--symbols", "dogeusdt", "--start", "2025-01-01", "--end", "2025-01-02",
                     "--out", str(tmp_path / "dl"), "--base-url", f"http://127.0.0.1:{closed_port()}"],
                    user_env(tmp_path, {}), cwd=tmp_path)
    assert "DOGEUSDT: download stopped" in the_one_sentence(done)  # upper-cased, as the file is named
    assert list((tmp_path / "dl").iterdir()) == []


def test_run_end_includes_its_day_as_backtest_end():
    from cli.backtest import parse_time
    from cli.run import date_range

    assert date_range("2023-03-01", "2023-03-01") == (parse_time("2023-03-01", "--start"),
                                                      parse_time("2023-03-01", "--end", end=True))
    assert date_range("2023-03-01", "2023-03-01")[1] - date_range("2023-03-01", None)[0] == 86_400_000


def test_selftest_says_which_folder_is_not_writable_in_its_fail_line(tmp_path):
    prepare_blocker(tmp_path)
    done = run_main(["selftest", "--report", str(tmp_path / "report.txt"),
                     "--set", f"paths.state_dir={tmp_path / 'blocked' / 'state'}",
                     "--set", f"paths.log_dir={tmp_path / 'logs'}"], user_env(tmp_path, {}), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    fail = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(fail) == 1 and fail[0].startswith(
        f"FAIL state folder: the state folder {tmp_path / 'blocked' / 'state'} is not writable "
        f"({tmp_path / 'blocked'} is a file, not a folder)")


def test_selftest_checks_the_user_folder_too(tmp_path):
    prepare_blocker(tmp_path)
    env = user_env(tmp_path, {"AUTOHEDGE_HOME": str(tmp_path / "blocked" / "home")})
    done = run_main(["selftest", "--report", str(tmp_path / "report.txt"),
                     "--set", f"paths.state_dir={tmp_path / 'state'}", "--set", f"paths.log_dir={tmp_path / 'logs'}"],
                    env, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    fail = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(fail) == 1 and fail[0].startswith(
        f"FAIL state folder: the user folder {tmp_path / 'blocked' / 'home'} cannot be created")


def test_an_unexpected_error_is_one_sentence_with_its_details_in_a_file(tmp_path, monkeypatch, capsys):
    """A bug is not a user error, but the user still gets one sentence (and a file to send)."""
    import main

    class Broken:
        @staticmethod
        def add_arguments(parser) -> None:
            pass

        @staticmethod
        def run(args):
            raise ZeroDivisionError("division by zero")

    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(main, "_load", lambda name: Broken)
    assert main.main(["selftest"]) == 70
    err = capsys.readouterr().err.strip()
    assert err.startswith("autohedge selftest: unexpected error (ZeroDivisionError: division by zero); "
                          f"the details are in {tmp_path / 'home' / 'logs'}")
    assert "\n" not in err
    [report] = (tmp_path / "home" / "logs").glob("crash-selftest-*.txt")
    assert "ZeroDivisionError" in report.read_text(encoding="utf-8")


# ----- a folder that becomes unwritable while trading -------------------------------------------------


def test_a_state_folder_that_becomes_unwritable_pauses_trading_once_then_resumes(tmp_path):
    """[P] Nothing is decided that cannot be saved first: one sentence, once, then trading resumes
    when the folder can be written again, and every fill reaches the journal."""
    from config.settings import load_settings
    from live.events import FillEvent, LogEvent
    from live.assemble import build_service

    settings = load_settings(overrides=[f"paths.log_dir={tmp_path / 'logs'}"])
    state_dir = tmp_path / "state"
    aside = tmp_path / "state-aside"
    lines: list[LogEvent] = []
    fills_seen = {"count": 0, "blocked_at": None, "closes_while_blocked": 0}

    def listener(event) -> None:
        if isinstance(event, LogEvent):
            lines.append(event)
        if isinstance(event, FillEvent):
            fills_seen["count"] += 1
            if fills_seen["count"] == 3:  # the folder goes away under the running service
                state_dir.rename(aside)
                state_dir.write_text("a file where the state folder was\n", encoding="utf-8")
                fills_seen["blocked_at"] = len(lines)

    def unblock_after_a_while(candle_events=[0]) -> None:  # noqa: B006 - a counter kept across calls
        candle_events[0] += 1
        if candle_events[0] == 200:
            state_dir.unlink()
            aside.rename(state_dir)

    service = build_service(settings, listener, mode="replay", replay_dir=SAMPLE, speed=0, state_dir=state_dir,
                            start_ms=1677628800000, end_ms=1677628800000 + 2 * 86_400_000)  # 2023-03-01, 2 days
    original_next = service.feed.next_candle

    def next_candle(timeout):
        if state_dir.is_file():
            fills_seen["closes_while_blocked"] += 1
            unblock_after_a_while()
        return original_next(timeout)

    service.feed.next_candle = next_candle
    service.run()

    assert fills_seen["blocked_at"] is not None and fills_seen["closes_while_blocked"] >= 200
    errors = [line.message for line in lines if line.level == "ERROR"]
    assert errors == [f"trading paused: the state folder {state_dir} cannot be written ({state_dir} is a file, "
                      "not a folder); no decisions until it can, positions are kept"]
    assert sum("can be written again: trading resumes" in line.message for line in lines) == 1
    assert state_dir.is_dir()
    journaled = [line for line in (state_dir / "fills.jsonl").read_text(encoding="utf-8").splitlines() if line]
    assert len(journaled) == len(service.journal.fills) > 3  # trading went on after the pause
    assert all(slot.run_state.value == "stopped" for slot in service.slots.values())


def test_a_log_file_that_cannot_be_written_any_more_is_said_once(tmp_path, capsys):
    import logging

    from cli.logging_setup import LogFileHandler, setup_logging

    setup_logging(tmp_path / "logs", console=False)
    [handler] = [h for h in logging.getLogger().handlers if isinstance(h, LogFileHandler)]
    try:
        prepare_blocker(tmp_path)
        handler.close()  # the next record reopens the file: now under a file, as after a lost folder
        handler.baseFilename = str(tmp_path / "blocked" / "autohedge.log")
        for number in range(50):
            logging.getLogger("autohedge.test").warning("line %d", number)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert err.startswith(f"autohedge: the log file {tmp_path / 'blocked' / 'autohedge.log'} cannot be written")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


# ----- the README table ----------------------------------------------------------------------------


def _shown(text: str) -> str:
    """A case's text as the README shows it: the test's folders and ports as placeholders."""
    return (text.replace(str(SAMPLE), "data/sample").replace("{tmp}/", "…/").replace("{port}", "PORT")
            .replace("{fake_ws}", "ws://FAKE/").replace("{fake}", "http://FAKE"))


def readme_table() -> str:
    """The README's "When something goes wrong" table, generated from CASES (what the tests assert)."""
    rows = ["| what went wrong | command | the one sentence you get (exit code 2) |", "| --- | --- | --- |"]
    for case in CASES:
        env = " ".join(f"{key}={value}" for key, value in case.env.items() if value)
        command = _shown(f"{env + ' ' if env else ''}main.py {' '.join(case.argv)}")
        sentence = _shown(case.sentence) + (" …" if case.prefix else "")
        rows.append(f"| {case.fault} | `{command}` | {sentence.replace('|', '/')} |")
    return "\n".join(rows)


def test_the_readme_table_is_the_one_these_tests_assert():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme, "regenerate it: python -m tests.test_user_errors"


if __name__ == "__main__":
    print(readme_table())
