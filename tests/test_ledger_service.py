"""The ledger fed by the running trading service: one row per journal entry, and a ledger that
fails never stops trading (issue 20)."""
from __future__ import annotations

from decimal import Decimal

from config.settings import load_settings
from live.assemble import build_service
from live.events import LogEvent
from live.ledger import Ledger
from live.ledger_link import account_ledger_path
from tests.test_runner_service import SAMPLE, Recorder, _ms


def _service(tmp_path, listener, end="2023-03-03"):
    return build_service(load_settings(), listener, mode="replay", replay_dir=SAMPLE, speed=0,
                         state_dir=tmp_path / "state", fee_pct=0.04, start_ms=_ms("2023-03-01"), end_ms=_ms(end))


def test_ledger_equals_the_journal_on_every_fill_of_a_replay(tmp_path):
    recorder = Recorder()
    service = _service(tmp_path, recorder)
    service.run()
    journal = service.journal.fills
    assert len(journal) > 20
    with Ledger(account_ledger_path(tmp_path / "state", "replay", None)) as ledger:
        rows = ledger.fills()
        assert [(r.symbol, r.side, r.action, r.qty, r.price, r.time, r.order_id) for r in rows] == [
            (f.symbol, f.side.value, f.action.value, Decimal(repr(f.qty)), Decimal(repr(f.price)), f.time,
             f.journal_key) for f in journal]
        assert sum(r.commission for r in rows) == sum(Decimal(repr(f.fee)) for f in journal)
        assert ledger.queries.round_trips(), "round trips are rebuilt when the service stops"
    assert not [e for e in recorder.of(LogEvent) if "ledger" in e.message]


def test_a_ledger_that_cannot_be_opened_is_one_warning_and_trading_goes_on(tmp_path):
    blocked = account_ledger_path(tmp_path / "state", "replay", None)
    blocked.mkdir(parents=True)  # a folder where the file should be: sqlite cannot open it
    recorder = Recorder()
    service = _service(tmp_path, recorder)
    service.run()
    warnings = [e.message for e in recorder.of(LogEvent) if e.level == "WARNING" and "ledger" in e.message]
    assert len(warnings) == 1 and "trading goes on" in warnings[0]
    assert len(service.journal.fills) > 20
