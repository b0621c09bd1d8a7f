"""State persistence [P]: atomic saves, loud refusal of unreadable files, and kill-safety."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.model import Action, Regime, Side
from core import state as state_module
from core.state import (QUICK_SAVE_STEPS, SAVE_STEPS, PendingOrder, PositionState, StateFileError, StateStore,
                        SymbolState)
from tests.conftest import REPO_ROOT

SYMBOL = "DOGEUSDT"


def sample_state(seq: int = 7) -> SymbolState:
    state = SymbolState(symbol=SYMBOL, regime=Regime.DOWN)
    state.positions[Side.SHORT] = PositionState(qty=100.0, entry_price=0.31325, entry_time=1_735_689_900_000,
                                                best_price=0.30912)
    state.positions[Side.LONG] = PositionState(qty=60.5, entry_price=0.3201, entry_time=1_735_690_200_000,
                                               best_price=0.3201)
    state.pending["ah-DOGEUSDT-1735690500-7"] = PendingOrder(
        client_id="ah-DOGEUSDT-1735690500-7", side=Side.LONG, action=Action.CLOSE, qty=60.5, reason="R1",
        decision_time=1_735_690_500_000, filled_qty=20.0)
    state.last_daily_close = 1_735_689_600_000
    state.last_bar_close = 1_735_690_500_000
    state.order_seq = seq
    return state


def test_P_save_then_load_gives_the_same_state(tmp_path):
    store = StateStore(tmp_path / "state")
    state = sample_state()
    store.save(state)
    assert store.load(SYMBOL) == state
    assert StateStore(tmp_path / "state").load(SYMBOL) == state  # as after a restart


def test_P_fresh_state_round_trips_and_missing_file_is_a_fresh_start(tmp_path):
    store = StateStore(tmp_path)
    assert store.load(SYMBOL) is None
    store.save(SymbolState(symbol=SYMBOL))
    assert store.load(SYMBOL) == SymbolState(symbol=SYMBOL)


def test_P_file_is_json_with_schema_version_and_no_temp_file_is_left(tmp_path):
    store = StateStore(tmp_path)
    store.save(sample_state(1))
    store.save(sample_state(2))
    data = json.loads(store.path_for(SYMBOL).read_text(encoding="utf-8"))
    assert data["schema_version"] == 1 and data["order_seq"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{SYMBOL}.json"]


def test_P_save_is_write_flush_fsync_then_rename(tmp_path):
    steps: list[str] = []
    StateStore(tmp_path, step_hook=steps.append).save(sample_state())
    assert tuple(steps) == SAVE_STEPS
    assert SAVE_STEPS.index("fsync") < SAVE_STEPS.index("rename")


# ----- unreadable files are refused and kept -------------------------------------------------------


def _valid_bytes() -> bytes:
    return json.dumps(sample_state().to_dict()).encode("utf-8")


def _edited(**changes) -> bytes:
    data = sample_state().to_dict()
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    return json.dumps(data).encode("utf-8")


BAD_FILES = {
    "empty": b"",
    "truncated": _valid_bytes()[: len(_valid_bytes()) // 2],
    "not_json": b"this is not json",
    "not_utf8": b"\xff\xfe\x00garbage",
    "json_list": b"[1, 2, 3]",
    "json_null": b"null",
    "qty_not_a_number": _edited(positions__LONG__qty="lots"),
    "entry_time_a_list": _edited(positions__SHORT__entry_time=[1]),
    "qty_as_text": _edited(positions__LONG__qty="100"),
    "qty_true": _edited(positions__LONG__qty=True),
    "qty_nan": _edited(positions__LONG__qty=float("nan")),
    "qty_infinite": _edited(positions__SHORT__qty=float("inf")),
    "qty_negative": _edited(positions__SHORT__qty=-5.0),
    "entry_price_null": _edited(positions__SHORT__entry_price=None),
    "entry_time_fraction": _edited(positions__SHORT__entry_time=1.7),
    "order_seq_as_text": _edited(order_seq="7"),
    "pending_qty_as_text": _valid_bytes().replace(b'"qty": 60.5, "reason"', b'"qty": "60.5", "reason"'),
    "positions_a_list": _edited(positions=[1, 2]),
    "pending_a_number": _edited(pending=5),
    "unknown_side": _edited(positions={"LONG": sample_state().to_dict()["positions"]["LONG"], "MIDDLE": {}}),
    "unknown_regime": _edited(regime="SIDEWAYS"),
    "missing_key": _valid_bytes().replace(b'"order_seq"', b'"order_sequence"'),
    "unknown_schema_version": _edited(schema_version=99),
    "no_schema_version": _edited(schema_version=None),
    "other_symbol": _edited(symbol="ALGOUSDT"),
}


@pytest.mark.parametrize("content", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_P_unreadable_file_raises_error_naming_it_and_is_kept_unchanged(tmp_path, content):
    store = StateStore(tmp_path)
    path = store.path_for(SYMBOL)
    path.write_bytes(content)
    with pytest.raises(StateFileError) as caught:
        store.load(SYMBOL)
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    assert "refused" in str(caught.value)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # nothing written beside it


# ----- interrupted saves -------------------------------------------------------------------------


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing may catch and carry on."""


def _killing_at(step_name: str):
    def hook(step: str) -> None:
        if step == step_name:
            raise Killed(step)
    return hook


@pytest.mark.parametrize("step", SAVE_STEPS)
def test_P_save_interrupted_at_every_step_leaves_old_or_new_state(tmp_path, step):
    old, new = sample_state(1), sample_state(2)
    new.positions[Side.LONG] = PositionState()
    StateStore(tmp_path).save(old)
    with pytest.raises(Killed):
        StateStore(tmp_path, step_hook=_killing_at(step)).save(new)
    loaded = StateStore(tmp_path).load(SYMBOL)
    replaced = SAVE_STEPS.index(step) > SAVE_STEPS.index("rename")
    assert loaded == (new if replaced else old)
    StateStore(tmp_path).save(new)  # a leftover temp file never blocks the next save
    assert StateStore(tmp_path).load(SYMBOL) == new


@pytest.mark.parametrize("step", QUICK_SAVE_STEPS)
@pytest.mark.parametrize("saved_before", [1, 2, 3])
def test_P_quick_save_interrupted_at_every_step_leaves_old_or_new_state(tmp_path, step, saved_before):
    """A replay's save (not durable): killed at any step, after 1-3 earlier saves (no temp file
    yet, a temp file holding an older state, one being reused), the state is old or new."""
    old, new = sample_state(1), sample_state(2)
    new.positions[Side.LONG] = PositionState()
    for _ in range(saved_before):
        StateStore(tmp_path, durable=False).save(old)
    with pytest.raises(Killed):
        StateStore(tmp_path, durable=False, step_hook=_killing_at(step)).save(new)
    loaded = StateStore(tmp_path).load(SYMBOL)
    replaced = QUICK_SAVE_STEPS.index(step) > QUICK_SAVE_STEPS.index("rename")
    assert loaded == (new if replaced else old)
    StateStore(tmp_path, durable=False).save(new)  # a leftover temp file never blocks the next save
    assert StateStore(tmp_path).load(SYMBOL) == new


def test_P_quick_save_reuses_the_previous_state_file_and_cuts_a_longer_one(tmp_path):
    """Where names can be exchanged atomically (Linux), the temp file is the state before the
    current one, overwritten in place by the next save; a shorter state never keeps the end
    of a longer one. Elsewhere the temp file is renamed over the state and none is left."""
    store = StateStore(tmp_path, durable=False)
    big = sample_state(1)
    for n in range(50):
        big.pending[f"ah-DOGEUSDT-{n}"] = PendingOrder(f"ah-DOGEUSDT-{n}", Side.LONG, Action.OPEN, 1.0, "R2", n)
    small, smaller = sample_state(2), SymbolState(symbol=SYMBOL, order_seq=3)
    temp = tmp_path / f"{SYMBOL}.json.tmp"
    for state, before in ((big, None), (small, big), (smaller, small)):
        store.save(state)
        assert StateStore(tmp_path).load(SYMBOL) == state
        assert json.loads(store.path_for(SYMBOL).read_bytes()) == state.to_dict()  # nothing after the JSON
        if state_module._RENAMEAT2 is not None:
            assert (json.loads(temp.read_bytes()) == before.to_dict()) if before else not temp.exists()
        else:
            assert not temp.exists()


@pytest.mark.parametrize("durable", [True, False])
def test_P_a_state_folder_removed_while_trading_is_made_again_by_the_next_save(tmp_path, durable):
    folder = tmp_path / "state"
    store = StateStore(folder, durable=durable)
    store.save(sample_state(1))
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()
    store.save(sample_state(2))
    assert StateStore(folder).load(SYMBOL) == sample_state(2)


@pytest.mark.parametrize("step", SAVE_STEPS)
def test_P_first_save_interrupted_at_every_step_is_no_file_or_new_state(tmp_path, step):
    new = sample_state(1)
    with pytest.raises(Killed):
        StateStore(tmp_path, step_hook=_killing_at(step)).save(new)
    assert StateStore(tmp_path).load(SYMBOL) in (None, new)


CHILD = """
import sys
from core.model import Action, Side
from core.state import PendingOrder, StateStore, SymbolState
store = StateStore(sys.argv[1], durable=sys.argv[2] == "durable")
state = SymbolState(symbol="DOGEUSDT")
for n in range(300):  # a large file widens the window in which a kill lands mid-write
    cid = f"ah-DOGEUSDT-{n}"
    state.pending[cid] = PendingOrder(cid, Side.LONG, Action.OPEN, 100.0, "R2", n, 0.0)
seq = 0
while True:
    seq += 1
    state.order_seq = seq
    state.positions[Side.LONG].qty = float(seq)
    store.save(state)
    if seq == 1:
        print("saving", flush=True)
"""


@pytest.mark.parametrize("kind", ["durable", "quick"])
def test_P_sigkill_during_save_loop_never_leaves_unreadable_file(tmp_path, kind):
    """Popen.kill is SIGKILL on POSIX (TerminateProcess on Windows): no handler, no cleanup.
    Both kinds of save: live/paper (fsync'd) and a replay's quick one (names exchanged)."""
    last_seq = 0
    for delay in (0.0, 0.013, 0.031, 0.057, 0.089):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), kind], cwd=REPO_ROOT,
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "saving"
            time.sleep(delay)
        finally:
            child.kill()
            child.wait(timeout=10)
            child.stdout.close()
        assert child.returncode == (-signal.SIGKILL if os.name == "posix" else 1)
        state = StateStore(tmp_path).load("DOGEUSDT")
        assert state is not None and len(state.pending) == 300
        assert state.positions[Side.LONG].qty == float(state.order_seq) >= 1
        last_seq = state.order_seq
    assert last_seq >= 1
    assert sorted(Path(p).suffix for p in os.listdir(tmp_path)) in ([".json"], [".json", ".tmp"])
