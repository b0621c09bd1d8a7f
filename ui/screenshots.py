"""Regenerate the README screenshots: ``python -m ui.screenshots [OUT_DIR]``.

Opens the window at 1366 x 768 (a common laptop screen) offscreen, with a
throw-away user folder, replays the bundled sample for a few seconds with the
real trading service, runs a two-month backtest, and saves both tabs as PNG.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

SIZE = (1366, 768)


def _wait(app, condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)


def main(out_dir: str = "docs/screenshots", language: str = "en", size: tuple[int, int] = SIZE,
         suffix: str = "") -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix="autohedge-shots-")
    os.environ["AUTOHEDGE_HOME"] = home
    from PySide6.QtCore import QDate
    from PySide6.QtWidgets import QApplication

    from config.settings import load_settings
    from ui import app as ui_app
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    from ui import i18n
    i18n.install(language, app)
    settings = load_settings(overrides=[f"paths.state_dir={home}/state", f"paths.log_dir={home}/logs"])
    window = MainWindow(ui_app.service_builder(), settings=settings)
    window.resize(*size)
    window.show()
    window.api.speed.setValue(20_000)
    window.start()

    def both_in_a_position() -> bool:
        rows = window.status_table.latest.values()
        return len(window.log_pane.lines()) > 40 and len(rows) == 2 and all(r.main_qty for r in rows) \
            and any(r.hedge_qty for r in rows)

    _wait(app, both_in_a_position, 120)
    window.toggle_pause()
    _wait(app, lambda: False, 1.0)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out / f"main_window{suffix}.png"))

    window.stop()
    _wait(app, lambda: not window.is_running(), 30)
    window.tabs.setCurrentWidget(window.backtest)
    window.backtest.data_dir.setText("data/sample")
    window.backtest.set_dates(QDate(2023, 7, 1), QDate(2023, 8, 31))
    window.backtest.start()
    _wait(app, lambda: not window.backtest.is_running() and window.backtest.view is not None, 120)
    window.backtest.charts.setCurrentIndex(0)
    _wait(app, lambda: False, 0.5)
    window.grab().save(str(out / f"backtest_tab{suffix}.png"))
    window.backtest.charts.setCurrentIndex(1)
    _wait(app, lambda: False, 0.5)
    window.grab().save(str(out / f"backtest_trades{suffix}.png"))
    window.close()
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(prog="python -m ui.screenshots")
    parser.add_argument("out_dir", nargs="?", default="docs/screenshots")
    parser.add_argument("--language", choices=("en", "ko"), default="en")
    parser.add_argument("--size", default=f"{SIZE[0]}x{SIZE[1]}", help="WIDTHxHEIGHT")
    parser.add_argument("--suffix", default="", help="added to each file name, e.g. _ko_1024")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.lower().split("x"))
    sys.exit(main(args.out_dir, args.language, (width, height), args.suffix))
