"""``python main.py selftest``: one PASS/FAIL line per check, exit 0 only when all pass.

Run as a subprocess, the way a user (or the frozen EXE) runs it, with every
written path pointed into a temporary folder so the repository is never touched.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli import selftest
from tests.conftest import REPO_ROOT

CHECK_NAMES = [name for name, _check in selftest.CHECKS]


def headless_env(home: Path) -> dict[str, str]:
    """No display and no Qt platform chosen: the selftest must pick offscreen by itself."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["AUTOHEDGE_HOME"] = str(home)
    return env


def run_selftest(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    args = [sys.executable, "main.py", "selftest", "--report", str(tmp_path / "report.txt"),
            "--set", f"paths.state_dir={tmp_path / 'state'}", "--set", f"paths.log_dir={tmp_path / 'logs'}", *extra]
    return subprocess.run(args, cwd=REPO_ROOT, env=headless_env(tmp_path / "home"), capture_output=True,
                          text=True, timeout=180)


def check_lines(stdout: str) -> dict[str, str]:
    """check name -> 'PASS' | 'FAIL', in printed order."""
    found = {}
    for line in stdout.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("PASS", "FAIL"):
            found[rest.split(":", 1)[0]] = status
    return found


def test_all_checks_pass_on_the_bundled_sample_and_leave_no_files(tmp_path):
    done = run_selftest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert check_lines(done.stdout) == {name: "PASS" for name in CHECK_NAMES}
    assert list(check_lines(done.stdout)) == CHECK_NAMES  # one line per check, in order
    assert "platform offscreen" in done.stdout  # chosen by itself: the environment had no display
    assert "same fills as the replay [B2]" in done.stdout
    assert "6 of 6 checks passed" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    # the report file holds the same lines (a windowed EXE has no console)
    report = (tmp_path / "report.txt").read_text(encoding="utf-8").splitlines()
    assert [line for line in report if line[:4] in ("PASS", "FAIL")] == \
           [line for line in done.stdout.splitlines() if line[:4] in ("PASS", "FAIL")]
    # the writability probe cleans up after itself; the replay ran in a temporary folder
    assert (tmp_path / "state").is_dir() and not any((tmp_path / "state").iterdir())
    assert (tmp_path / "logs").is_dir() and not any((tmp_path / "logs").iterdir())


def test_missing_data_fails_data_replay_and_backtest_with_one_line_each(tmp_path):
    empty = tmp_path / "no-klines"
    empty.mkdir()
    done = run_selftest(tmp_path, "--set", f"paper.replay_data={empty}")
    assert done.returncode == 1
    assert check_lines(done.stdout) == {"settings": "PASS", "data": "FAIL", "state folder": "PASS",
                                        "replay": "FAIL", "backtest": "FAIL", "qt": "PASS"}
    assert f"FAIL data: no 5m data for DOGEUSDT in {empty}" in done.stdout
    assert "FAIL replay: not run: the data check failed" in done.stdout
    assert "failed: data, replay, backtest" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_unwritable_state_folder_fails(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # a folder cannot be made below a file, even as root
    done = run_selftest(tmp_path, "--set", f"paths.state_dir={blocker / 'state'}")
    assert done.returncode == 1
    assert check_lines(done.stdout)["state folder"] == "FAIL"
    assert f"FAIL state folder: the state folder {blocker / 'state'} is not writable" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_bad_settings_fail_in_one_sentence_and_skip_what_needs_them(tmp_path):
    done = run_selftest(tmp_path, "--set", "strategy.exit.take_profit_pct=-1")
    assert done.returncode == 1
    lines = check_lines(done.stdout)
    assert lines["settings"] == "FAIL" and lines["qt"] == "PASS"
    assert all(lines[name] == "FAIL" for name in ("data", "state folder", "replay", "backtest"))
    assert "strategy.exit.take_profit_pct = -1 must be > 0" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


# ----- the checks themselves, in process ----------------------------------------------------------


def passed_context(tmp_path: Path) -> selftest.SelftestContext:
    ctx = selftest.SelftestContext(None, [], tmp_path)
    for name, check in selftest.CHECKS[:4]:  # settings, data, state folder, replay
        if name == "state folder":
            continue  # writes to the settings' state folder (the repository when not frozen)
        assert selftest.run_check(name, check, ctx).ok, name
    return ctx


def test_backtest_check_fails_when_the_replay_traded_differently_B2(tmp_path):
    ctx = passed_context(tmp_path)
    assert len(ctx.replay_trades) > 10
    assert selftest.run_check("backtest", selftest.check_backtest, ctx).ok
    first = ctx.replay_trades[0]
    ctx.replay_trades[0] = (*first[:5], str(float(first[5]) * 1.01), *first[6:])  # another price on fill 1
    result = selftest.run_check("backtest", selftest.check_backtest, ctx)
    assert not result.ok
    assert "differ from the replay's" in result.detail and "from fill 1 on [B2]" in result.detail


def test_frozen_state_folder_inside_the_bundle_fails(tmp_path, monkeypatch):
    bundle = tmp_path / "AutoHedge"  # the unzipped program folder: AutoHedge.exe and _internal
    monkeypatch.setattr(selftest, "PROGRAM_FOLDER", bundle)
    monkeypatch.setattr(selftest, "is_frozen", lambda: True)
    ctx = selftest.SelftestContext(None, [f"paths.state_dir={bundle / 'state'}",
                                          f"paths.log_dir={tmp_path / 'logs'}"], tmp_path)
    assert selftest.run_check("settings", selftest.check_settings, ctx).ok
    result = selftest.run_check("state folder", selftest.check_state_folder, ctx)
    assert not result.ok
    assert f"inside the program's folder {bundle}; files written there are lost when it is replaced" in result.detail
    assert not (bundle / "state").exists()  # refused before anything was written there


def test_an_unexpected_exception_is_one_fail_line_not_a_traceback(tmp_path):
    def broken(ctx):
        raise KeyError("open_time")

    result = selftest.run_check("data", broken, selftest.SelftestContext(None, [], tmp_path))
    assert not result.ok and result.line().startswith("FAIL data: KeyError: 'open_time'")


@pytest.mark.parametrize("environ, platform, expected", [
    ({}, "linux", True),
    ({"DISPLAY": ":0"}, "linux", False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
    ({"QT_QPA_PLATFORM": "xcb"}, "linux", False),  # the user's choice is kept
    ({}, "win32", False),  # Windows and macOS always have their own platform plugin
    ({}, "darwin", False),
])
def test_offscreen_only_when_there_is_no_display(environ, platform, expected):
    from ui.qt_check import needs_offscreen

    assert needs_offscreen(environ, platform) is expected


# ----- the Qt platform: the one the window will really use, checked before Qt can abort ---------------


def test_a_missing_xcb_library_is_named_with_its_package(monkeypatch):
    from ui import qt_check

    monkeypatch.setattr(qt_check, "plugin_path", lambda name: Path(f"/plugins/{name}.so"))
    monkeypatch.setattr(qt_check, "missing_libraries",
                        lambda plugin: ["libxcb-cursor.so.0"] if "xcb" in plugin.name else [])
    monkeypatch.setattr(qt_check, "x_display_problem", lambda display: None)
    choice = qt_check.gui_platform({"DISPLAY": ":0"}, "linux")
    assert choice.problem == ("the window cannot open: Qt's xcb platform needs libxcb-cursor.so.0, which is not "
                              "installed (Debian/Ubuntu: sudo apt install libxcb-cursor0)")
    # a desktop that also offers Wayland falls back to it instead
    assert qt_check.gui_platform({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux") == \
        qt_check.PlatformChoice("wayland")


@pytest.mark.parametrize("library, package", [
    ("libxcb-cursor.so.0", "libxcb-cursor0"),
    ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
])
def test_debian_package_names(library, package):
    from ui.qt_check import debian_package

    assert debian_package(library) == package


def test_no_display_is_a_sentence_for_the_window_and_offscreen_for_the_selftest():
    from ui.qt_check import gui_platform

    choice = gui_platform({}, "linux")
    assert choice.name == "offscreen" and choice.headless
    assert choice.problem.startswith("the window cannot open: there is no display")
    assert gui_platform({"QT_QPA_PLATFORM": "offscreen"}, "linux").problem is None


def test_an_unreachable_x_display_is_found_before_qt_aborts():
    from ui.qt_check import x_display_problem

    assert x_display_problem(":987") == "the X display :987 cannot be reached"


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs Xvfb (apt install xvfb) to give Qt a real display")
def test_selftest_and_the_window_agree_on_the_real_display(tmp_path):
    """Under a real X server: the window opens and selftest PASSes qt on xcb, or both say the same
    sentence (e.g. a missing xcb library), the window with exit code 2 instead of Qt's abort (134)."""
    env = headless_env(tmp_path / "home")
    window = subprocess.run(["xvfb-run", "-a", sys.executable, "main.py", "--quit-after", "0"], cwd=REPO_ROOT,
                            env=env, capture_output=True, text=True, timeout=180)
    check = subprocess.run(["xvfb-run", "-a", sys.executable, "main.py", "selftest", "--report",
                            str(tmp_path / "report.txt"), "--set", f"paths.state_dir={tmp_path / 'state'}",
                            "--set", f"paths.log_dir={tmp_path / 'logs'}"],
                           cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in window.stderr + check.stdout + check.stderr
    [qt_line] = [line for line in check.stdout.splitlines() if line.split(":")[0] in ("PASS qt", "FAIL qt")]
    if window.returncode == 0:
        assert qt_line.startswith("PASS qt: platform xcb") and check.returncode == 0
    else:
        assert window.returncode == 2, window.stderr
        [sentence] = [line for line in window.stderr.splitlines() if line.startswith("autohedge gui: ")]
        assert qt_line.startswith("FAIL qt: " + sentence.removeprefix("autohedge gui: "))
        assert "platform needs" in sentence and check.returncode == 1
