"""The trading service on replays of real bundled data: isolation, controls, recovery."""
from __future__ import annotations

from datetime import datetime, timezone

from config.settings import load_settings
from core.model import Action
from core.ports import OrderRejectedError
from core.sim_broker import SimulatedBroker
from live.events import FillEvent, LogEvent, StatusRow, SymbolRunState
from live.feeds import ReplayFeed
from live.assemble import build_service
from live.service import ServiceOptions, TradingService
from tests.conftest import BUNDLED_DATA

SAMPLE = BUNDLED_DATA / "sample"
SYMBOLS = ["DOGEUSDT", "ALGOUSDT"]


def _ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp() * 1000)


class Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def of(self, kind):
        return [event for event in self.events if isinstance(event, kind)]

    def fills(self, symbol=None):
        return [e.fill for e in self.of(FillEvent) if symbol in (None, e.fill.symbol)]

    def last_row(self, symbol) -> StatusRow:
        return [row for row in self.of(StatusRow) if row.symbol == symbol][-1]


def _replay(tmp_path, listener, start="2023-03-01", end="2023-03-03", resume=False, settings=None):
    return build_service(settings or load_settings(), listener, mode="replay", replay_dir=SAMPLE, speed=0,
                         state_dir=tmp_path / "state", fee_pct=0, start_ms=_ms(start), end_ms=_ms(end),
                         resume=resume)


def test_P_corrupt_state_file_stops_only_its_symbol_and_is_kept(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    corrupt = state_dir / "DOGEUSDT.json"
    corrupt.write_bytes(b'{"schema_version": 1, "symbol": "DOGEUSDT", "posi')
    recorder = Recorder()
    _replay(tmp_path, recorder, resume=True).run()

    doge = recorder.last_row("DOGEUSDT")
    assert doge.state is SymbolRunState.ERROR
    assert str(corrupt) in doge.detail and "refused" in doge.detail
    assert corrupt.read_bytes() == b'{"schema_version": 1, "symbol": "DOGEUSDT", "posi'
    assert not recorder.fills("DOGEUSDT")
    assert len(recorder.fills("ALGOUSDT")) > 10  # the other symbol traded on


class RejectingBroker(SimulatedBroker):
    """The exchange refuses DOGEUSDT's opening orders for lack of margin (-2019)."""

    def submit_market_order(self, symbol, side, action, qty, client_id):
        if symbol == "DOGEUSDT" and action is Action.OPEN:
            raise OrderRejectedError("Margin is insufficient.", -2019, "Add USDT to the futures wallet.")
        return super().submit_market_order(symbol, side, action, qty, client_id)


def test_O4_rejected_order_pauses_only_its_symbol_with_one_sentence(tmp_path):
    settings = load_settings()
    feed = ReplayFeed(SAMPLE, SYMBOLS, start_ms=_ms("2023-03-01"), end_ms=_ms("2023-03-02"))
    recorder = Recorder()
    service = TradingService({s: settings.symbols[s].call_size for s in SYMBOLS}, settings.strategy, feed,
                             RejectingBroker(fee_pct=0), recorder, ServiceOptions(tmp_path, reconcile=False),
                             clock=lambda: feed.now, sleep=lambda s: None)
    service.run()

    doge = recorder.last_row("DOGEUSDT")
    assert doge.state is SymbolRunState.ERROR
    assert "-2019" in doge.detail and "Margin is insufficient" in doge.detail and "Add USDT" in doge.detail
    errors = [e for e in recorder.of(LogEvent) if e.level == "ERROR"]
    assert len(errors) == 1 and errors[0].symbol == "DOGEUSDT"
    assert not recorder.fills("DOGEUSDT")
    assert len(recorder.fills("ALGOUSDT")) > 10
    assert recorder.last_row("ALGOUSDT").state is SymbolRunState.STOPPED


def test_pause_blocks_new_entries_and_hedges_flatten_closes_everything(tmp_path):
    recorder = Recorder()
    service = _replay(tmp_path, recorder)
    bars = {"n": 0}
    marks: dict[str, int] = {}
    open_at_resume: list[float] = []

    def listener(event):
        recorder(event)
        if isinstance(event, LogEvent) and "paused by the user" in event.message:
            marks.setdefault("paused", len(recorder.fills()))
        if isinstance(event, LogEvent) and "resumed by the user" in event.message:
            marks.setdefault("resumed", len(recorder.fills()))
            open_at_resume.extend(pos.qty for slot in service.slots.values()
                                  for pos in slot.strategy.state.positions.values())
        if isinstance(event, StatusRow) and event.symbol == "DOGEUSDT":
            bars["n"] += 1
            if bars["n"] == 100:
                service.pause()
            elif bars["n"] == 101:
                service.flatten()
            elif bars["n"] == 200:
                service.resume()

    service.listener = listener
    service.run()

    fills = recorder.fills()
    while_paused = fills[marks["paused"]:marks["resumed"]]
    assert while_paused, "something must have been closed while paused"
    assert all(f.action is Action.CLOSE for f in while_paused), "pause: no new entries or hedges"
    assert any(f.reason == "manual" for f in while_paused), "flatten closes with reason 'manual'"
    assert open_at_resume and all(qty == 0 for qty in open_at_resume), "flatten left every symbol flat"
    assert any(f.action is Action.OPEN for f in fills[marks["resumed"]:]), "after resume it trades again"


def test_P_replay_resumed_after_a_stop_continues_where_it_was(tmp_path):
    # One run over two days, versus the same two days in two runs with a stop and --resume between.
    whole = Recorder()
    _replay(tmp_path / "whole", whole, start="2023-03-01", end="2023-03-03").run()
    first, second = Recorder(), Recorder()
    _replay(tmp_path / "split", first, start="2023-03-01", end="2023-03-02").run()
    service = _replay(tmp_path / "split", second, start="2023-03-01", end="2023-03-03", resume=True)
    service.run()

    def rows(fills):
        return [(f.decision_time, f.symbol, f.side, f.action, f.qty, f.price, f.reason) for f in fills]

    assert len(whole.fills()) > 20
    assert rows(first.fills()) + rows(second.fills()) == rows(whole.fills())
    # Orders decided on the first run's last bar were filled there, not repeated.
    assert len(service.journal.fills) == len(whole.fills())


def test_set_call_size_applies_to_the_next_order(tmp_path):
    recorder = Recorder()
    service = _replay(tmp_path, recorder, end="2023-03-05")
    count = {"n": 0}

    def listener(event):
        recorder(event)
        if isinstance(event, StatusRow) and event.symbol == "ALGOUSDT":
            count["n"] += 1
            if count["n"] == 20:
                service.set_call_size("ALGOUSDT", 70)

    service.listener = listener
    service.run()
    opens = [f for f in recorder.fills("ALGOUSDT") if f.action is Action.OPEN and f.reason == "R2"]
    assert opens[0].qty == 50 and opens[-1].qty == 70
    assert recorder.last_row("ALGOUSDT").call_size == 70


def test_P_a_rejection_pause_survives_a_restart(tmp_path):
    settings = load_settings()
    sizes = {s: settings.symbols[s].call_size for s in SYMBOLS}

    def service(recorder, start, end):
        feed = ReplayFeed(SAMPLE, SYMBOLS, start_ms=_ms(start), end_ms=_ms(end))
        return TradingService(sizes, settings.strategy, feed, RejectingBroker(fee_pct=0), recorder,
                              ServiceOptions(tmp_path, reconcile=False), clock=lambda: feed.now,
                              sleep=lambda s: None)

    service(Recorder(), "2023-03-01", "2023-03-02").run()
    after_restart = Recorder()
    restarted = service(after_restart, "2023-03-01", "2023-03-03")
    restarted.run()
    first_doge_row = next(row for row in after_restart.of(StatusRow) if row.symbol == "DOGEUSDT")
    assert first_doge_row.state is SymbolRunState.ERROR and "-2019" in first_doge_row.detail
    assert any("still paused from before the restart" in e.message for e in after_restart.of(LogEvent))
    assert not restarted.slots["DOGEUSDT"].strategy.opens_allowed


def test_O2_a_replay_saves_each_bar_with_orders_once_before_its_first_order_and_all_at_shutdown(tmp_path):
    """Issue 12 item 6: a replay (simulated exchange, not durable) saves once per bar with
    decisions, before anything is sent [O2], never on a quiet bar, and the final state at the end."""
    from core.state import StateStore

    service = _replay(tmp_path, lambda event: None, start="2023-03-01", end="2023-03-02")
    journal: list[tuple] = []  # ("save", symbol, pending ids) / ("order", symbol, client id), in order
    save, submit = service.store.save, service.broker.submit_market_order

    def recording_save(state) -> None:
        journal.append(("save", state.symbol, tuple(state.pending)))
        save(state)

    def recording_submit(symbol, side, action, qty, client_id, *args, **kwargs):
        journal.append(("order", symbol, client_id))
        return submit(symbol, side, action, qty, client_id, *args, **kwargs)

    service.store.save = recording_save
    service.broker.submit_market_order = recording_submit
    service.run()

    orders = [entry for entry in journal if entry[0] == "order"]
    assert len(orders) > 10
    for index, entry in enumerate(journal):
        if entry[0] == "order":  # the last save of its symbol before it already held it as pending
            last_save = next(e for e in reversed(journal[:index]) if e[0] == "save" and e[1] == entry[1])
            assert entry[2] in last_save[2], f"{entry[2]} was sent before a save recorded it [O2]"
    first_order = journal.index(orders[0])
    for index in range(first_order, len(journal) - len(SYMBOLS)):  # every save while trading ...
        if journal[index][0] == "save":  # ... is its bar's one save, right before that bar's first order
            assert journal[index + 1][:2] == ("order", journal[index][1]), f"a save without an order at {index}"
    assert [entry[:2] for entry in journal[-len(SYMBOLS):]] == [("save", symbol) for symbol in SYMBOLS]
    stored = StateStore(tmp_path / "state")
    for symbol in SYMBOLS:  # the file holds the state as the replay left it
        assert stored.load(symbol) == service.slots[symbol].strategy.state

