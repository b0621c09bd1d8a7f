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


# ----- on the fake exchange: fills, funding, a liquidation and a restart -----------------------------

import pytest  # noqa: E402

from adapters.binance_history import BinanceHistory  # noqa: E402
from live.assemble import open_ledger  # noqa: E402
from live.ledger_import import HistoryImporter  # noqa: E402
from tests.fake_binance.fixtures import fake, fake_server  # noqa: E402,F401
from tests.test_ledger_import import fake_account, ledger_account, to_cent  # noqa: E402
from tests.test_runner_money_safety import BAR, SYMBOL, Bot, wait_until  # noqa: E402


@pytest.fixture(autouse=True)
def _settled(request):
    yield
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake_server").settle()


def _bot_with_ledger(fake, tmp_path, script) -> Bot:
    bot = Bot(fake, tmp_path, [], user_stream=True)
    # The fake's market clock (its records' times) stands still between steps while its /time
    # follows the wall clock: the import reads up to the market's now, as on Binance where the two agree.
    open_ledger(bot.service, tmp_path / "ledgers" / "ledger.sqlite", BinanceHistory(bot.adapter),
                lambda: fake.now_ms)
    bot.feed.script.extend([lambda: wait_until(bot.user_stream.connected.is_set), *script])
    return bot


def test_a_day_on_the_fake_with_a_restart_the_ledger_equals_the_account_to_the_cent(fake, tmp_path):
    first = _bot_with_ledger(fake, tmp_path, [BAR] * 6 + [lambda: fake.pay_funding(SYMBOL, "0.0003"), BAR,
                                                          lambda: fake.liquidate(SYMBOL, "LONG"), BAR, BAR])
    first.run()
    assert first.service.journal.fills, "the bot traded"
    assert any("liquidated" in line for line in first.lines)
    with Ledger(tmp_path / "ledgers" / "ledger.sqlite") as ledger:
        bot_rows = [f for f in ledger.fills() if f.source == "bot"]
        assert len(bot_rows) == len(first.service.journal.fills)
        assert ledger.db.execute("SELECT COUNT(*) FROM liquidations").fetchone()[0] == 1

    second = _bot_with_ledger(fake, tmp_path, [BAR] * 4)  # the restart: the import runs at start-up
    second.run()
    with Ledger(tmp_path / "ledgers" / "ledger.sqlite") as ledger:
        before = (len(ledger.fills()), len(ledger.funding_payments()))
        third = HistoryImporter(BinanceHistory(second.adapter), ledger, [SYMBOL]).run(fake.now_ms)
        assert third.trades_added == 0 and third.income_added == 0, "an import after a restart adds each event once"
        assert (len(ledger.fills()), len(ledger.funding_payments())) == before
        assert len(ledger.funding_payments()) == 1
        assert to_cent(ledger_account(ledger)) == to_cent(fake_account(fake))
        # every journal entry (the journal file holds both runs) and the liquidation's trade, each once
        assert len(ledger.fills()) == len(second.service.journal.fills) + 1

