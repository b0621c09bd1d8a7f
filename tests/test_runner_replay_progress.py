"""Replay progress cadence (issue 20): a paced replay reports every candle, so the bar is seen
to move; an unpaced one at most 1,000 times."""
from __future__ import annotations

from config.settings import load_settings
from live.assemble import build_service
from live.events import ProgressEvent
from tests.test_runner_service import SAMPLE, Recorder, _ms


def _progress(tmp_path, speed: float, end: str = "2023-03-02") -> list[ProgressEvent]:
    recorder = Recorder()
    build_service(load_settings(), recorder, mode="replay", replay_dir=SAMPLE, speed=speed,
                  state_dir=tmp_path / "state", start_ms=_ms("2023-03-01"), end_ms=_ms(end),
                  sleep=lambda seconds: None).run()  # paced, without waiting: the sleep is a no-op
    return recorder.of(ProgressEvent)


def test_a_paced_replay_reports_progress_on_every_candle(tmp_path):
    events = _progress(tmp_path, speed=1_440)
    total = events[-1].total
    assert total == 2 * 288
    assert [e.done for e in events] == list(range(1, total + 1))


def test_an_unpaced_replay_reports_at_most_a_thousand_times_and_reaches_the_end(tmp_path):
    events = _progress(tmp_path, speed=0, end="2023-03-03")  # 1,152 candles: every second one reported
    assert events[-1].total == 4 * 288
    assert 0 < len(events) <= 1000 and len(events) < events[-1].total and events[-1].done == events[-1].total
