"""The keep-or-close question of a side above CALL_SIZE not by the bot's hand [C3] (issue 19, item 7),
and the status table's "unmanaged" display."""
from __future__ import annotations

from PySide6.QtWidgets import QWidget

from live.events import ExcessQuestion, StatusRow, SymbolRunState
from tests.test_ui_cockpit import trading  # noqa: F401
from tests.ui_helpers import MemoryKeyring, fake, home, settings  # noqa: F401
from ui.excess_dialog import ExcessQuestions
from ui.status_table import StatusTable


def row(main_qty: float, unmanaged: float = 0.0) -> StatusRow:
    return StatusRow("DOGEUSDT", "UP", SymbolRunState.RUNNING, "", 0.2, "LONG", main_qty, 0.19, 1.0, 0.5,
                     "SHORT", 100.0, 0.21, -1.0, 100.0, main_unmanaged=unmanaged)


def test_the_status_table_shows_the_excess_kept_unmanaged(qtbot):
    table = StatusTable()
    qtbot.addWidget(table)
    table.set_symbols(["DOGEUSDT"])
    table.update_row(row(130, 30))
    assert table.cell_text("DOGEUSDT", "Qty") == "130 (30 unmanaged)"
    assert table.cell_text("DOGEUSDT", "Hedge qty") == "100"
    table.update_row(row(100))
    assert table.cell_text("DOGEUSDT", "Qty") == "100"


class _Runner:
    def __init__(self) -> None:
        self.answers: list[tuple[str, str, bool]] = []

    def answer_excess(self, symbol: str, side: str, keep: bool) -> None:
        self.answers.append((symbol, side, keep))


class _Window(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.runner = _Runner()
        self.messages: list[str] = []

    def is_running(self) -> bool:
        return True

    def show_message(self, text: str, level: str = "INFO", symbol: str | None = None) -> None:
        self.messages.append(text)


def question(held: float = 130, excess: float = 30, side: str = "LONG") -> ExcessQuestion:
    return ExcessQuestion("DOGEUSDT", side, held, 100, excess, 0)


def test_keep_and_close_send_the_answer_and_a_newer_question_replaces_the_one_shown(qtbot):
    window = _Window()
    qtbot.addWidget(window)
    questions = ExcessQuestions(window)
    first = questions.ask(question())
    assert first.isVisible() and not first.isModal(), "trading and the window go on while it is asked"
    assert "DOGEUSDT LONG holds 130 on Binance: 30 above CALL_SIZE 100" in first.text()
    assert "hedge covers CALL_SIZE only" in first.informativeText()
    assert first.defaultButton() is first.keep_button, "Enter never sends an order"
    newer = questions.ask(question(140, 40))
    assert list(questions.dialogs.values()) == [newer] and "40" in newer.keep_button.text()
    newer.keep_button.click()
    qtbot.waitUntil(lambda: window.runner.answers == [("DOGEUSDT", "LONG", True)])
    assert questions.dialogs == {} and "keep 40 above CALL_SIZE unmanaged" in window.messages[-1]
    short = questions.ask(question(side="SHORT"))
    short.close_button.click()
    qtbot.waitUntil(lambda: window.runner.answers[-1] == ("DOGEUSDT", "SHORT", False))
    assert len(window.runner.answers) == 2, "the replaced question sent nothing"


def test_a_trade_by_hand_in_a_running_window_is_asked_and_keep_shows_unmanaged(qtbot, trading, fake):
    """The window trades on the fake; a trade by hand adds 30 to the main: the question appears,
    Keep is sent to the service, and the status table shows the 30 as unmanaged."""
    window = trading
    main = window.status_table.latest["DOGEUSDT"]
    fake.trade_by_hand("DOGEUSDT", "BUY" if main.main_side == "LONG" else "SELL", main.main_side, "30")
    qtbot.waitUntil(lambda: ("DOGEUSDT", main.main_side) in window.excess_questions.dialogs, timeout=30_000)
    dialog = window.excess_questions.dialogs[("DOGEUSDT", main.main_side)]
    assert dialog.question.excess == 30 and dialog.question.held == main.main_qty + 30
    dialog.keep_button.click()
    qtbot.waitUntil(lambda: window.status_table.latest["DOGEUSDT"].main_unmanaged == 30, timeout=30_000)
    assert window.status_table.cell_text("DOGEUSDT", "Qty").endswith("(30 unmanaged)")
    assert [p for p in fake.state()["positions"] if p["positionSide"] == main.main_side][0]["qty"] == \
        f"{main.main_qty + 30:g}", "keeping sends nothing"


def test_the_saved_positions_before_start_show_the_kept_excess(home, settings):  # noqa: F811
    from live.assemble import default_state_dir
    from core.model import Regime, Side
    from core.state import PositionState, StateStore, SymbolState
    from ui.saved_positions import saved_rows

    state = SymbolState("DOGEUSDT", regime=Regime.DOWN, unmanaged_short=30.0)
    state.positions[Side.SHORT] = PositionState(qty=130, entry_price=0.0688, entry_time=1, best_price=0.068)
    StateStore(default_state_dir(settings, "paper")).save(state)
    [saved] = [r for r in saved_rows(settings, "paper") if r.symbol == "DOGEUSDT"]
    assert (saved.main_side, saved.main_qty, saved.main_unmanaged, saved.hedge_unmanaged) == ("SHORT", 130, 30, 0)
