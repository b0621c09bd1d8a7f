"""main.end_process: a successful research command skips the interpreter's teardown but loses nothing (issue 21)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

SCRIPT = """
import atexit, logging, sys
sys.path.insert(0, {repo!r})
import main
handler = logging.FileHandler({log!r})
logging.getLogger("quick").addHandler(handler)
logging.getLogger("quick").warning("logged before leaving")
atexit.register(lambda: open({marker!r}, "w").write("exit handlers ran"))
print("buffered output", end="")  # no newline: still in the buffer when leave is called
main.end_process(0, [{command!r}, "--whatever"])
print("never printed")
"""


@pytest.mark.parametrize("command", ["backtest", "optimize", "run"])
def test_leaving_keeps_the_code_output_log_and_exit_handlers(tmp_path, command):
    log, marker = tmp_path / "log.txt", tmp_path / "marker.txt"
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(repo=str(REPO), log=str(log), marker=str(marker),
                                                               command=command)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "buffered output"
    assert marker.read_text() == "exit handlers ran"
    assert log.read_text() == "logged before leaving\n"


def test_only_successful_research_commands_leave_at_once():
    import main

    assert set(main.QUICK_EXIT_COMMANDS) == {"backtest", "optimize"}
    for code, argv in ((0, ["run"]), (2, ["backtest"]), (4, ["optimize"])):
        with pytest.raises(SystemExit) as ended:
            main.end_process(code, argv)
        assert ended.value.code == code
