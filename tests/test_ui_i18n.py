"""Korean and English (issue 13 item 8): no visible text of the window is left in English.

The walk is generic: it visits whatever widgets the window holds (labels, buttons,
group boxes, tabs, table headers, combo items, tooltips, placeholders, window
titles, menus, chart titles), so a widget added later is covered without
changing this test. A text fails when it has no Hangul and still holds an English
word that is not in the short list of proper nouns and units below.
"""
from __future__ import annotations

import re

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractSpinBox, QComboBox, QGroupBox, QLabel, QLineEdit,
    QMenu, QPlainTextEdit, QProgressBar, QTableView, QTabWidget, QTextEdit, QWidget,
)

from config.settings import load_settings
from tools import translations
from ui import i18n
from ui.alerts_dialog import AlertsDialog
from core.model import Action, Candle, Fill, Side
from live.events import (
    AccountUpdate, CandleUpdate, DecisionPreview, FillEvent, Heartbeat, PositionRisk, StatusRow, StreamState,
    SymbolFormat, SymbolRunState,
)
from ui.close_dialog import CloseDialog
from ui.main_window import MainWindow

HANGUL = re.compile(r"[\uac00-\ud7a3]")
WORD = re.compile(r"[A-Za-z][A-Za-z_]+")
SYMBOL = re.compile(r"^[A-Z0-9]{2,20}USDT$")
# Proper nouns, units and names of the strategy's own parameters: the same in Korean.
KEPT_WORDS = {"AutoHedge", "Binance", "USDT", "PnL", "RSI", "MACD", "EMA", "CALL_SIZE", "API", "UTC", "Sharpe",
              "Ctrl", "Enter", "English", "apprise", "URL", "URLs", "SYMBOL", "csv", "gz", "zip", "OS", "LONG",
              "SHORT", "UP", "DOWN", "XRPUSDT", "tgram", "BOT_TOKEN", "CHAT_ID", "mailto", "user", "password",
              "gmail", "com", "Windows", "AutoHedge", "TP", "DD",
              "ROE"}  # Binance's own name for the figure, in its Korean app too
# pyqtgraph's own context menus (View All, Export...) are the library's, not the window's.
THIRD_PARTY = (pg.PlotWidget, pg.GraphicsView)


@pytest.fixture
def korean(qapp):
    assert i18n.install("ko", qapp) == "ko", "ui/translations/autohedge_ko.qm did not load"
    try:
        yield
    finally:
        i18n.install("en", qapp)


def english_words(text: str) -> list[str]:
    if not text or HANGUL.search(text) or SYMBOL.match(text.strip()):
        return []
    return [word for word in WORD.findall(text) if word not in KEPT_WORDS and not SYMBOL.match(word)]


def _inside_third_party(widget: QWidget) -> bool:
    while widget is not None:
        if isinstance(widget, THIRD_PARTY):
            return True
        widget = widget.parentWidget()
    return False


def _menu_texts(menu: QMenu, where: str):
    yield f"{where} menu title", menu.title()
    for action in menu.actions():
        if action.isSeparator():
            continue
        yield f"{where} menu action", action.text()
        yield f"{where} menu tooltip", action.toolTip() if action.toolTip() != action.text().replace("&", "") else ""
        if action.menu() is not None:
            yield from _menu_texts(action.menu(), where)


def visible_texts(root: QWidget):
    """(where, text) for every user-visible text of ``root`` and its children."""
    widgets = [root, *root.findChildren(QWidget)]
    for widget in widgets:
        if _inside_third_party(widget) and not isinstance(widget, THIRD_PARTY):
            continue
        where = f"{type(widget).__name__} {widget.objectName() or widget.accessibleName()!r}"
        if widget.isWindow():
            yield where + " window title", widget.windowTitle()
        yield where + " tooltip", widget.toolTip()
        yield where + " accessible name", widget.accessibleName()
        if isinstance(widget, QLabel):
            yield where + " text", widget.text()
        if isinstance(widget, QAbstractButton):
            yield where + " text", widget.text()
        if isinstance(widget, QGroupBox):
            yield where + " title", widget.title()
        if isinstance(widget, (QLineEdit, QPlainTextEdit, QTextEdit)):
            yield where + " placeholder", widget.placeholderText()
        if isinstance(widget, QComboBox):
            for index in range(widget.count()):
                yield where + " item", widget.itemText(index)
        if isinstance(widget, QTabWidget):
            for index in range(widget.count()):
                yield where + " tab", widget.tabText(index)
                yield where + " tab tooltip", widget.tabToolTip(index)
        if isinstance(widget, QTableView) and widget.model() is not None:
            for column in range(widget.horizontalHeader().count()):
                yield where + " header", str(widget.model().headerData(column, Qt.Horizontal) or "")
        if isinstance(widget, QProgressBar):
            yield where + " format", widget.format()
        if isinstance(widget, QAbstractSpinBox):
            yield where + " special value", widget.specialValueText()
        if isinstance(widget, QMenu):
            yield from _menu_texts(widget, where)
        if isinstance(widget, pg.PlotWidget):
            yield where + " chart title", widget.getPlotItem().titleLabel.text
            legend = widget.getPlotItem().legend
            for _sample, label in (legend.items if legend is not None else []):
                yield where + " legend", label.text
    if hasattr(root, "menuBar"):
        for action in root.menuBar().actions():
            if action.menu() is not None:
                yield from _menu_texts(action.menu(), "menu bar")


def untranslated(root: QWidget) -> list[str]:
    return sorted({f"{where}: {text!r}" for where, text in visible_texts(root) if english_words(text)})


def test_the_checker_finds_english_and_passes_korean_and_proper_nouns():
    assert english_words("Start") == ["Start"]
    assert english_words("Flatten all…") == ["Flatten", "all"]
    assert english_words("전략 시작") == [] and english_words("DOGEUSDT") == [] and english_words("PnL %") == []
    assert english_words("Binance USDT") == [] and english_words("") == []


def test_every_visible_text_of_the_window_is_korean(qtbot, korean, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path))
    window = MainWindow(None, settings=load_settings())
    qtbot.addWidget(window)
    window.show()
    texts = list(visible_texts(window))
    assert len(texts) > 150  # the walk really visits the window (labels, menus, headers...)
    assert window.start_button.text() == "전략 시작" and window.tabs.tabText(0) == "매매(&T)"
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "매매(&T)", "설정(&E)", "백테스트(&B)", "최적화(&O)", "거래 내역(&H)"]  # all five tabs are walked (hidden ones too)
    assert window.banner.text().startswith("모의매매")
    assert untranslated(window) == []


def cockpit_events(symbol: str = "DOGEUSDT") -> list:
    """What a running service tells the window: a paused row with the service's reason, a reconnecting
    stream, a heartbeat with a decision preview, the account with a position, a candle and a fill."""
    now = 1_700_000_000_000
    row = StatusRow(symbol, "UP", SymbolRunState.PAUSED, "paused by the user: no new entries or hedges", 0.1,
                    "LONG", 100.0, 0.099, 0.1, 1.0, "SHORT", 100.0, 0.1005, -0.05, 100.0)
    preview = DecisionPreview(0.1, "down", ("OPEN SHORT 100 [R3]",), ("R3",))  # the cockpit's words: up/down/none
    candle = Candle(now - 300_000, 0.099, 0.101, 0.098, 0.1, 1000.0, now)
    fill = Fill("c1", symbol, Side.LONG, Action.OPEN, 100.0, 0.099, 0.004, now - 300_000, "R2", now - 300_000)
    return [
        SymbolFormat(symbol, 0.00001, 1.0), row,
        StreamState("reconnecting", "ConnectionError; next try in 2 s", now),
        Heartbeat(symbol, now, now, "up", preview, (("take_profit", 0.11), ("activation", 0.105))),
        AccountUpdate(now, 1000.0, 1001.0, 1.0, 2.0, 0.1, 3.0,
                      (PositionRisk(symbol, "LONG", 100.0, 0.099, 0.1, 0.1, 0.05),)),
        CandleUpdate(symbol, candle, True, "UP"), FillEvent(fill),
    ]


def test_the_cockpit_while_trading_is_korean(qtbot, korean, tmp_path, monkeypatch):
    """States, reasons, stream state, preview, account and chart texts as they appear while trading."""
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path))
    window = MainWindow(None, settings=load_settings())
    qtbot.addWidget(window)
    window.show()
    window.handle_events(cockpit_events())
    window.live_chart.redraw_if_needed()
    assert window.status_table.cell_text("DOGEUSDT", "State") == "사용자가 일시정지: 신규 진입·헤지 없음"
    assert window.heartbeat.stream_label.text() == "● 스트림 재연결 중 — ConnectionError, 2초 후 재시도"
    assert "진입 SHORT 100 [R3]" in window.heartbeat.table.item(0, 3).text()
    assert window.heartbeat.table.item(0, 2).text() == "상승" and "신호 하락" in window.heartbeat.table.item(0, 3).text()
    assert "청산가" in window.account_strip.positions.text()
    cells = [window.heartbeat.table.item(0, c).text() for c in range(window.heartbeat.table.columnCount())]
    assert [text for text in cells if english_words(text)] == []
    assert untranslated(window) == []


def test_the_close_dialog_is_korean(qtbot, korean):
    dialog = CloseDialog(["DOGEUSDT LONG 100", "DOGEUSDT SHORT 100"])
    qtbot.addWidget(dialog)
    texts = [dialog.windowTitle(), dialog.text(), dialog.informativeText()] + [
        button.text() for button in dialog.buttons()]
    assert dialog.flatten_button.text() == "전량 청산 후 정지"
    assert [text for text in texts if english_words(text.replace("DOGEUSDT LONG 100", "")
                                                    .replace("DOGEUSDT SHORT 100", ""))] == []
    assert untranslated(dialog) == []


def test_every_visible_text_of_the_alerts_dialog_is_korean(qtbot, korean):
    dialog = AlertsDialog(load_settings().alerts, desktop_available=True, load_urls=lambda: [],
                          save_urls=lambda urls: None)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "알림"
    assert untranslated(dialog) == []


def test_the_english_window_stays_english(qtbot, qapp, tmp_path, monkeypatch):
    """The check above is not vacuous: without the Korean catalogue the same walk finds English."""
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path))
    i18n.install("en", qapp)
    window = MainWindow(None, settings=load_settings())
    qtbot.addWidget(window)
    assert window.start_button.text() == "Start"
    assert len(untranslated(window)) > 50


def test_refusals_warnings_and_the_live_question_are_korean(qtbot, korean, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path))
    window = MainWindow(None, settings=load_settings())
    qtbot.addWidget(window)
    rsi = window.strategy.field("strategy.rsi_length")
    for text, expected in (("abc", "숫자가 아닙니다"), ("2.5", "정수여야 합니다")):
        rsi.setText(text)
        rsi.editingFinished.emit()
        assert expected in rsi.message() and "RSI 길이" in rsi.message(), rsi.message()
    editor = window.strategy.symbols
    editor.table.item(0, 4).setText("200")  # a symbol's own leverage above Binance's 125
    refusal = editor.message.text()
    assert "125 이하여야 합니다" in refusal and "레버리지" in refusal, refusal
    window.strategy.reference.setCurrentIndex(window.strategy.reference.findData("macd"))
    assert window.strategy.s3_warning.text().startswith("[S3] 신호 기준선")
    questions = []
    window.ask = lambda title, question: questions.append((title, question)) or False
    window.api.mode.setCurrentIndex(window.api.mode.findData("live"))
    assert questions and questions[0][0] == "실거래로 전환" and "실제 자금" in questions[0][1]
    assert window.api.current_mode() != "live"  # refused: back to the previous mode


@pytest.mark.parametrize("language, expected", [(QLocale.Korean, "ko"), (QLocale.English, "en"),
                                                (QLocale.German, "en")])
def test_automatic_language_follows_the_system_locale(language, expected):
    assert i18n.resolve_language("auto", QLocale(language)) == expected
    assert i18n.resolve_language("en", QLocale(QLocale.Korean)) == "en"
    assert i18n.resolve_language("ko", QLocale(QLocale.English)) == "ko"


def test_the_language_menu_saves_the_choice_and_offers_to_reopen_in_it(qtbot, qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOHEDGE_HOME", str(tmp_path))
    from ui.paths import load_user_settings

    i18n.install("en", qapp)
    window = MainWindow(None, settings=load_settings())
    qtbot.addWidget(window)
    window.show()
    questions = []
    window.ask = lambda title, question: questions.append(question) or False
    window.extras.language_actions["ko"].trigger()
    assert load_user_settings()[0].ui.language == "ko"
    assert window.extras.language_actions["ko"].isChecked()
    assert questions == ["Reopen the window in 한국어 now?"]
    assert "한국어" in window.statusBar().currentMessage() and window.isVisible()  # declined: next start
    window.ask = lambda title, question: True
    window.extras.language_actions["ko"].trigger()
    assert window.reopen_requested and not window.isVisible()  # ui.app.run opens it again in Korean
    questions.clear()
    window.extras.language_actions["en"].trigger()  # the language already in use: nothing to reopen
    assert questions == [] and load_user_settings()[0].ui.language == "en"


def test_translation_sources_and_compiled_catalogue_are_up_to_date():
    """Every tr() text of ui/ is in the .ts with its Korean, and the committed .qm is its compilation."""
    assert translations.check("ko") == []


def test_the_exe_bundles_the_compiled_catalogue(repo_root):
    spec = (repo_root / "autohedge.spec").read_text(encoding="utf-8")
    assert '"ui" / "translations" / "autohedge_ko.qm"' in spec
    assert i18n.catalog_path("ko").is_file() and i18n.catalog_path("ko").parent.name == "translations"
