"""One bot per account [issue 19, item 1]: an OS lock per API key and per state folder.

The lock is the operating system's (flock / msvcrt.locking), so it is tested with real
processes: a holder child process, a second process that must refuse in one sentence naming
the holder's pid and start time, and the holder's death (SIGKILL: no clean-up code runs)
freeing the lock for the next start.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from live.lock import (AlreadyRunning, LockHolder, LockedService, ProcessLock, hold_service_locks, key_digest,
                       locking_builder, service_locks)
from tests.conftest import REPO_ROOT

KEY = "AbCdEfGh0123456789secretish"

HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from live.lock import hold_service_locks
    locks = hold_service_locks(sys.argv[1], Path(sys.argv[2]), sys.argv[3] or None, home=Path(sys.argv[4]))
    locks.acquire()
    print("locked", flush=True)
    sys.stdin.read()  # hold until the test closes stdin or kills this process
""")

SECOND = textwrap.dedent("""
    import sys
    from pathlib import Path
    from live.lock import AlreadyRunning, hold_service_locks
    try:
        with hold_service_locks(sys.argv[1], Path(sys.argv[2]), sys.argv[3] or None, home=Path(sys.argv[4])):
            print("started")
    except AlreadyRunning as exc:
        print(exc)
        sys.exit(2)
""")


def _holder(mode: str, state: Path, key: str, home: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, mode, str(state), key, str(home)], cwd=REPO_ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def _second(mode: str, state: Path, key: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SECOND, mode, str(state), key, str(home)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)


def _end(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(30)
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()


def test_a_second_process_on_the_same_account_refuses_naming_the_holder_and_the_holders_death_frees_it(tmp_path):
    home = tmp_path / "home"
    holder = _holder("testnet", tmp_path / "state-a", KEY, home)
    try:
        # another state folder, same key: the account lock refuses
        refused = _second("testnet", tmp_path / "state-b", KEY, home)
        assert refused.returncode == 2, refused.stderr
        sentence = refused.stdout.strip()
        assert sentence.count("\n") == 0
        assert f"process {holder.pid} (running since " in sentence
        assert "Binance demo trading account with API key ***" in sentence
        assert KEY not in sentence and KEY not in "".join(p.read_text() for p in (home / "locks").iterdir())
        # the holder is killed outright: the OS frees the lock, the next start goes through
        holder.kill()
        holder.wait(30)
        started = _second("testnet", tmp_path / "state-b", KEY, home)
        assert started.returncode == 0 and started.stdout.strip() == "started", started.stdout + started.stderr
    finally:
        _end(holder)


def test_another_key_is_another_account_but_one_state_folder_has_one_bot(tmp_path):
    home = tmp_path / "home"
    holder = _holder("testnet", tmp_path / "state", KEY, home)
    try:
        other_account = _second("testnet", tmp_path / "state-2", KEY + "x", home)
        assert other_account.returncode == 0, other_account.stdout
        same_folder = _second("testnet", tmp_path / "state", KEY + "x", home)
        assert same_folder.returncode == 2
        assert f"with the state folder {tmp_path / 'state'} in process {holder.pid}" in same_folder.stdout
    finally:
        _end(holder)


def test_paper_is_locked_per_state_folder(tmp_path):
    home = tmp_path / "home"
    holder = _holder("paper", tmp_path / "paper", "", home)
    try:
        assert _second("paper", tmp_path / "paper", "", home).returncode == 2
        assert _second("paper", tmp_path / "paper-2", "", home).returncode == 0
    finally:
        _end(holder)


def test_the_lock_file_is_named_by_a_hash_and_holds_pid_and_start_time(tmp_path):
    locks = service_locks("live", tmp_path / "state", KEY, home=tmp_path)
    assert [lock.path.name for lock in locks][0] == f"account-{key_digest(KEY, 'live')}.lock"
    assert key_digest(KEY, "live") != key_digest(KEY, "testnet")
    with hold_service_locks("live", tmp_path / "state", KEY, home=tmp_path):
        holder = locks[0].holder()
        assert holder is not None and holder.since.endswith("UTC")
        import os
        assert holder.pid == os.getpid()
    assert locks[0].holder() is None  # released: the holder's text is cleared


def test_a_refused_set_of_locks_keeps_none_of_them(tmp_path):
    state = tmp_path / "state"
    folder_lock = service_locks("testnet", state, KEY, home=tmp_path)[1]
    holder = _holder("paper", state, "", tmp_path)  # holds the state folder only
    try:
        with pytest.raises(AlreadyRunning) as refused:
            hold_service_locks("testnet", state, KEY, home=tmp_path).acquire()
        assert refused.value.holder is not None and refused.value.holder.pid == holder.pid
        # the account lock taken first was given back: another folder on the account starts
        with hold_service_locks("testnet", tmp_path / "other", KEY, home=tmp_path):
            pass
        assert folder_lock.path.exists()
    finally:
        _end(holder)


def test_holder_text_round_trip_and_unreadable_text():
    holder = LockHolder(4242, "2026-12-04 11:50:03 UTC", "x")
    assert LockHolder.from_text(holder.to_text()) == holder
    assert LockHolder.from_text("") is None and LockHolder.from_text("pid=abc") is None


class _Service:
    def __init__(self) -> None:
        self.ran = False

    def run(self) -> str:
        self.ran = True
        return "done"


def test_the_window_builder_holds_the_locks_while_the_service_runs_and_gives_them_back(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path))
    built: list[_Service] = []

    def builder(settings, listener, *, mode, **kwargs):  # noqa: ANN001 - build_service's signature
        built.append(_Service())
        return built[-1]

    build = locking_builder(builder, lambda settings, mode: tmp_path / "state" / mode)
    service = build(None, None, mode="paper", state_dir=None)
    assert isinstance(service, LockedService)
    with pytest.raises(AlreadyRunning):  # a second start in the same process while the first runs
        build(None, None, mode="paper", state_dir=None)
    assert service.run() == "done" and built[0].ran
    again = build(None, None, mode="paper", state_dir=None)  # released when run() returned
    again.release_locks()


def test_a_failed_build_gives_the_locks_back(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path))

    def failing(settings, listener, *, mode, **kwargs):  # noqa: ANN001
        raise RuntimeError("no network")

    build = locking_builder(failing, lambda settings, mode: tmp_path / mode)
    with pytest.raises(RuntimeError):
        build(None, None, mode="paper")
    lock = ProcessLock(service_locks("paper", tmp_path / "paper", home=tmp_path)[0].path, "x")
    lock.acquire()
    lock.release()


def test_two_real_bot_processes_on_one_fake_account_the_second_refuses_in_one_sentence(tmp_path):
    """``main.py run --mode testnet`` twice on one account (the issue's first finding)."""
    import time

    from tools.drill import BotProcess, FakeProcess

    fake = FakeProcess(REPO_ROOT / "data" / "sample", "2023-02-01T00:00", tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    first = BotProcess(fake, home, ("DOGEUSDT",))
    second = BotProcess(fake, home, ("DOGEUSDT",))
    second.state_dir = home / "state-2"  # even another state folder: the account is the same
    try:
        first.start()
        account_lock = service_locks("testnet", first.state_dir, "fake-api-key-0123456789", home=home)[0]
        deadline = time.monotonic() + 120
        while (account_lock.holder() is None or account_lock.holder().pid != first.proc.pid):
            assert first.alive(), first.output_tail()
            assert time.monotonic() < deadline, "the first bot never took the account lock"
            time.sleep(0.05)
        second.start()
        code = second.proc.wait(120)
        second._close_output()
        out = second.output_path.read_text()
        assert code == 2, out
        lines = [line for line in out.splitlines() if "already trading" in line]
        assert len(lines) == 1 and f"in process {first.proc.pid} (running since " in lines[0], out
        assert first.alive()  # the first bot is untouched by the refused start
    finally:
        second.kill()
        first.kill()
        fake.stop()
