"""The loss limits [L1, L2] on the account in live/paper trading, and [L3]'s other symbols (issue 19 §2).

Paper trading on the bundled sample (2023-03-01/02, DOGEUSDT and ALGOUSDT at the settings' CALL_SIZE,
taker fee 0.05 %): the paper account starts at 1000 USDT and loses its first 0.05 USDT (fees and an
open loss) by the 00:20 close of 2023-03-01, after both symbols opened their mains [R2] at 00:10.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from config.settings import load_settings
from core import decide
from core.model import Side
from live.account_limits import FILE_NAME, AccountLimits, LimitsRecord, load_record, saved_breach, save_record
from live.alerts import Alert, AlertDispatcher
from live.assemble import build_service
from live.events import FillEvent, LogEvent, ServiceStateEvent
from tests.conftest import BUNDLED_DATA

SAMPLE = BUNDLED_DATA / "sample"
DAILY_CAP = "strategy.protect.max_daily_loss_usdt=0.05"


def _ms(when: str) -> int:
    return int(datetime.fromisoformat(when).replace(tzinfo=timezone.utc).timestamp() * 1000)


class Sink:
    name = "test sink"

    def __init__(self):
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


class Run:
    """One paper-trading run over the sample (the state folder is kept between runs: a restart)."""

    def __init__(self, tmp_path, overrides, start, end, override_limits=False):
        self.settings = load_settings(None, overrides)
        self.events: list = []
        self.sink = Sink()
        dispatcher = AlertDispatcher(self.settings.alerts, [self.sink])
        service = build_service(self.settings, dispatcher.listener(self.events.append), mode="paper",
                                replay_dir=SAMPLE, speed=0, state_dir=tmp_path / "state", fee_pct=0.05,
                                start_ms=_ms(start), end_ms=_ms(end), override_limits=override_limits)
        service.run()
        assert dispatcher.wait_until_sent(30)
        self.service = service

    def fills(self, reason=None):
        return [e.fill for e in self.events if isinstance(e, FillEvent) and reason in (None, e.fill.reason)]

    def lines(self, rule):
        return [e for e in self.events if isinstance(e, LogEvent) and e.rule == rule and e.level == "WARNING"]

    def limit_alerts(self):
        return [alert for alert in self.sink.alerts if "limit was reached" in alert.title]


def test_L1_a_day_through_the_daily_cap_is_one_line_one_alert_and_no_new_main_after(tmp_path):
    run = Run(tmp_path, [DAILY_CAP], "2023-03-01", "2023-03-01T12:00")
    [line] = run.lines("L1")
    assert line.message.startswith("[L1] account limit reached at the 2023-03-01T00:20:00Z close: equity 999.91 USDT, "
                                   "day start 1000.00, peak 1000.00, limit a daily loss of 0.05 USDT, fees included")
    assert line.message.endswith("no new main until the next UTC day (all symbols)")
    [alert] = run.limit_alerts()
    assert alert.title == "AutoHedge: the daily loss limit was reached" and alert.body == line.message
    mains = [(fill.symbol, fill.time) for fill in run.fills("R2")]
    assert mains == [("DOGEUSDT", _ms("2023-03-01T00:10")), ("ALGOUSDT", _ms("2023-03-01T00:10"))]  # none after
    assert [fill for fill in run.fills() if fill.time > line.time_ms], "positions held stay managed (stop_entries)"
    assert not run.fills("L1")  # stop_entries closes nothing
    record = json.loads((tmp_path / "state" / FILE_NAME).read_text())
    assert record["breach_rule"] == "L1" and record["breach_day"] == decide.utc_day(_ms("2023-03-01"))
    assert record["breach_time"] == _ms("2023-03-01T00:20") and record["day_start_equity"] == 1000.0
    for symbol in ("DOGEUSDT", "ALGOUSDT"):  # every symbol's gate, saved with its state
        state = json.loads((tmp_path / "state" / f"{symbol}.json").read_text())
        assert state["breach_day"] == record["breach_day"] and state["breach_rule"] == "L1"


def test_L1_flatten_closes_every_symbol_at_the_breach_and_stops(tmp_path):
    run = Run(tmp_path, [DAILY_CAP, "strategy.protect.on_breach=flatten"], "2023-03-01", "2023-03-01T12:00")
    [line] = run.lines("L1")
    assert "everything closed" in line.message
    assert len(run.limit_alerts()) == 1
    closes = sorted((f.symbol, f.side.value, f.qty) for f in run.fills("L1"))
    assert closes == [("ALGOUSDT", "LONG", 50.0), ("ALGOUSDT", "SHORT", 50.0),
                      ("DOGEUSDT", "LONG", 100.0), ("DOGEUSDT", "SHORT", 100.0)]
    assert all(fill.time <= line.time_ms for fill in run.fills())  # nothing after the flatten
    for slot in run.service.slots.values():
        assert not any(position.is_open for position in slot.strategy.state.positions.values())
    assert any("the bot stops" in e.message for e in run.events if isinstance(e, LogEvent))
    last_bar = max(slot.strategy.state.last_bar_close for slot in run.service.slots.values())
    assert last_bar < _ms("2023-03-01T01:00"), "stopped at the breach, not at the replay's end"
    assert isinstance(run.events[-1], ServiceStateEvent) and not run.events[-1].running


def test_L1_a_restart_the_same_day_stays_blocked_and_the_override_resumes(tmp_path):
    """on_breach flatten: the bot stops flat at 00:20; after it every close favours a new main."""
    flatten = [DAILY_CAP, "strategy.protect.on_breach=flatten"]
    Run(tmp_path, flatten, "2023-03-01", "2023-03-01T06:00")
    again = Run(tmp_path, flatten, "2023-03-01", "2023-03-01T06:00")
    assert not again.fills(), "no new main on the breached UTC day after a restart"
    assert not again.lines("L1") and not again.limit_alerts(), "the same breach is not told again"
    assert any("a breach is saved for 2023-03-01" in e.message for e in again.events if isinstance(e, LogEvent))
    assert load_record(tmp_path / "state").override_day == -1

    overridden = Run(tmp_path, flatten, "2023-03-01", "2023-03-01T08:00", override_limits=True)
    assert any("is overridden by the user" in e.message for e in overridden.events if isinstance(e, LogEvent))
    first_main = overridden.fills("R2")[0]
    assert first_main.time > max(e.time_ms for e in again.events if isinstance(e, LogEvent))
    assert not overridden.lines("L1"), "the day is not tested again once breached"
    assert load_record(tmp_path / "state").override_day == decide.utc_day(_ms("2023-03-01"))


def test_L1_resumes_by_itself_the_next_UTC_day_and_L2_does_not(tmp_path):
    daily = Run(tmp_path / "daily", [DAILY_CAP], "2023-03-01", "2023-03-02T12:00")
    days = sorted({decide.utc_day(f.time) for f in daily.fills("R2")})
    assert days == [decide.utc_day(_ms("2023-03-01")), decide.utc_day(_ms("2023-03-02"))]
    assert [e.time_ms for e in daily.lines("L1")] == [_ms("2023-03-01T00:20"), _ms("2023-03-02T00:25")]

    drawdown = Run(tmp_path / "drawdown", ["strategy.protect.max_drawdown_pct=0.01"], "2023-03-01",
                   "2023-03-02T12:00")
    assert {decide.utc_day(f.time) for f in drawdown.fills("R2")} == {decide.utc_day(_ms("2023-03-01"))}
    first, second = drawdown.lines("L2")  # the peak is not restarted: the new day breaches at its first close
    assert second.time_ms == _ms("2023-03-02T00:00") and "peak 1000.00" in second.message
    assert len(drawdown.limit_alerts()) == 2  # one per breach (one per UTC day)


def test_L2_the_peak_and_the_breach_survive_a_restart(tmp_path):
    """The paper account starts again at 1000 USDT after a restart; the saved peak does not fall."""
    state = tmp_path / "state"
    save_record(state, LimitsRecord(limit_day=decide.utc_day(_ms("2023-03-01")), day_start_equity=1200.0,
                                    peak_equity=1250.0))
    run = Run(tmp_path, ["strategy.protect.max_drawdown_pct=10"], "2023-03-01T06:00", "2023-03-01T08:00")
    [line] = run.lines("L2")  # 1000 is 20 % below the saved peak of 1250
    assert "equity 1000.00 USDT, day start 1200.00, peak 1250.00" in line.message
    assert not run.fills("R2")
    assert load_record(state).peak_equity == 1250.0


def test_an_unreadable_record_is_kept_and_said_in_one_line(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / FILE_NAME).write_text("{not json", encoding="utf-8")
    run = Run(tmp_path, [DAILY_CAP], "2023-03-01", "2023-03-01T01:00")
    [line] = [e for e in run.events if isinstance(e, LogEvent) and "cannot be read" in e.message]
    assert line.level == "ERROR" and str(state / FILE_NAME) in line.message
    assert (state / (FILE_NAME + ".unreadable")).read_text(encoding="utf-8") == "{not json"
    assert len(run.lines("L1")) == 1  # measured again from the next close


def test_saved_breach_answers_for_its_day_only(tmp_path):
    day = decide.utc_day(_ms("2023-03-01"))
    assert saved_breach(tmp_path, _ms("2023-03-01T10:00")) is None  # nothing saved
    save_record(tmp_path, LimitsRecord(breach_day=day, breach_rule="L1", breach_time=_ms("2023-03-01T00:20")))
    assert saved_breach(tmp_path, _ms("2023-03-01T10:00")).breach_rule == "L1"
    assert saved_breach(tmp_path, _ms("2023-03-02T00:05")) is None  # the next UTC day
    save_record(tmp_path, LimitsRecord(breach_day=day, breach_rule="L1", override_day=day))
    assert saved_breach(tmp_path, _ms("2023-03-01T10:00")) is None  # overridden


def test_L3_each_symbol_is_given_the_other_symbols_open_notional(tmp_path):
    run = Run(tmp_path, [], "2023-03-01", "2023-03-01T00:10")  # the mains of the 00:10 close, no hedge yet
    doge, algo = run.service.slots["DOGEUSDT"], run.service.slots["ALGOUSDT"]
    assert doge.strategy.state.positions[Side.SHORT].qty == 100 and algo.strategy.state.positions[Side.SHORT].qty == 50
    assert not doge.strategy.state.positions[Side.LONG].is_open and not algo.strategy.state.positions[Side.LONG].is_open
    limits: AccountLimits = run.service.limits
    assert limits.other_notional("DOGEUSDT") == pytest.approx(50 * algo.last_price)
    assert limits.other_notional("ALGOUSDT") == pytest.approx(100 * doge.last_price)


def test_L3_the_total_cap_counts_every_symbol_live(tmp_path):
    """Both mains fit a 15 USDT total alone (DOGEUSDT 100 x ~0.08 = ~8 USDT, ALGOUSDT 50 x ~0.24 =
    ~12 USDT); ALGOUSDT's, decided after DOGEUSDT's on the same close, does not fit beside it."""
    run = Run(tmp_path, ["strategy.protect.max_total_notional=15"], "2023-03-01", "2023-03-01T00:10")
    assert [fill.symbol for fill in run.fills("R2")] == ["DOGEUSDT"]


def test_L1_on_the_fake_exchange_reads_the_account_and_flattens_it(tmp_path):
    """Demo trading against the fake Binance: the equity is the exchange's (wallet + unrealised PnL,
    /fapi/v2/account); a funding payment of 20 USDT takes it through a 10 USDT daily cap; the breach
    closes every position on the exchange, leaves no guard there, and the bot stops itself."""
    import threading

    from adapters.secrets import ApiCredentials
    from cli.backtest import parse_time
    from tests.fake_binance import TEST_API_KEY, TEST_API_SECRET, FakeBinance
    from tests.test_runner_disconnect import _started, _wait

    fake = FakeBinance(SAMPLE, start_ms=parse_time("2023-03-10T00:00", "--start")).start()
    try:
        events: list = []
        settings = load_settings(None, ["strategy.protect.max_daily_loss_usdt=10",
                                        "strategy.protect.on_breach=flatten"])
        service = build_service(settings, events.append, mode="demo",
                                credentials=ApiCredentials(TEST_API_KEY, TEST_API_SECRET), state_dir=tmp_path,
                                base_url=fake.base_url, stream_url=fake.ws_url)
        runner = threading.Thread(target=service.run)
        runner.start()
        try:
            _wait(lambda: _started(service))
            lone = []
            for _ in range(20):  # until a symbol holds one side only (a hedged pair would pay nothing net)
                now = fake.step(candles=1)
                _wait(lambda: all(s.strategy.state.last_bar_close >= now for s in service.slots.values()))
                held = fake.state()["positions"]
                lone = [row for row in held if sum(r["symbol"] == row["symbol"] for r in held) == 1]
                if lone:
                    break
            row = lone[0]
            notional = float(row["qty"]) * float(fake.price(row["symbol"]))
            rate = 20 / notional * (1 if row["positionSide"] == "LONG" else -1)  # paid by the position
            assert float(fake.pay_funding(row["symbol"], f"{rate:.8f}")) < -19.9
            fake.step(candles=1)
            runner.join(30)
            assert not runner.is_alive(), "the bot stopped itself once flat"
        finally:
            service.stop()
            runner.join(30)
        [line] = [e for e in events if isinstance(e, LogEvent) and e.rule == "L1" and e.level == "WARNING"]
        equity = float(line.message.split("equity ")[1].split(" ")[0])
        assert 9970 < equity < 9990 and "day start 10000.00" in line.message  # 20 USDT paid, fees, open PnL
        assert [f for f in (e.fill for e in events if isinstance(e, FillEvent)) if f.reason == "L1"]
        assert fake.state()["positions"] == [], "nothing held on the exchange"
        assert service.guards.algo.open_guards() == [], "no guard left for a closed main [E1]"
    finally:
        fake.stop()


def test_the_command_line_override_resumes_new_mains_after_a_flatten_stop(tmp_path, monkeypatch, capsys):
    """``python main.py run``: the first run stops flat at the breach; a second run the same day opens
    no main; ``--override-limits`` does."""
    from main import main

    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path / "home"))
    state = tmp_path / "state"

    def run(end: str, *extra: str) -> list[dict]:
        before = (state / "fills.jsonl").read_text().count("\n") if (state / "fills.jsonl").exists() else 0
        assert main(["run", "--mode", "paper", "--config", "config/settings.yaml", "--start", "2023-03-01",
                     "--end", end, "--state-dir", str(state), "--set", f"paths.log_dir={tmp_path / 'logs'}",
                     "--set", DAILY_CAP, "--set", "strategy.protect.on_breach=flatten", *extra]) == 0
        lines = (state / "fills.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines[before:] if line.strip()]

    def mains_that_day(fills: list[dict]) -> list[dict]:  # the replay's last close (00:00) is the next UTC day's
        return [fill for fill in fills if fill["reason"] == "R2" and fill["decision_time"] < _ms("2023-03-02")]

    first = run("2023-03-01T06:00")
    assert {fill["reason"] for fill in first} == {"R2", "R3", "L1"}
    again = run("2023-03-01T12:00")
    assert not again, "flat, and no main the rest of the day"
    assert json.loads((state / "DOGEUSDT.json").read_text())["last_bar_close"] == _ms("2023-03-01T12:00")
    assert mains_that_day(run("2023-03-01", "--override-limits"))
