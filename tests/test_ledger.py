"""The ledger on hand-written fills and funding: idempotent inserts, round-trip maths with the
expected figures written out, fees in two assets kept apart, per-day PnL, migration from v1."""
from __future__ import annotations

import sqlite3
from decimal import Decimal as D

import pytest

from core.model import ONE_DAY_MS
from live import ledger_schema
from live.ledger import Ledger, ledger_path
from live.ledger_records import LedgerFill

T0 = 19_700 * ONE_DAY_MS  # a UTC midnight


def fill(side, action, qty, price, fee, asset="USDT", at=0, trade_id=None, realized=None, order="o1"):
    return LedgerFill("DOGEUSDT", side, action, D(qty), D(price), D(fee), asset, T0 + at, order, trade_id,
                      None if realized is None else D(realized))


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as opened:
        yield opened


def day_of_trading(ledger: Ledger) -> None:
    """LONG 100 @ 0.10 + 100 @ 0.12, funding paid on the long alone, a SHORT 50 @ 0.13 paid in BNB,
    funding on both sides, the LONG closed at 0.125, the SHORT closed at 0.12 the next day."""
    ledger.record_fill(fill("LONG", "OPEN", "100", "0.10", "0.005", at=1000, order="a"))
    ledger.record_fill(fill("LONG", "OPEN", "100", "0.12", "0.006", at=2000, order="b"))
    ledger.record_funding("DOGEUSDT", D("-0.0022"), "USDT", T0 + 3000, "FUNDING_FEE:1")
    ledger.record_fill(fill("SHORT", "OPEN", "50", "0.13", "0.00001", "BNB", at=4000, order="c"))
    # k = mark x rate = 0.00001: LONG pays 200k = 0.002, SHORT receives 50k = 0.0005, net -0.0015
    ledger.record_funding("DOGEUSDT", D("-0.0015"), "USDT", T0 + 5000, "FUNDING_FEE:2")
    ledger.record_fill(fill("LONG", "CLOSE", "200", "0.125", "0.0125", at=6000, order="d"))
    ledger.record_fill(fill("SHORT", "CLOSE", "50", "0.12", "0.000012", "BNB", at=ONE_DAY_MS + 7000, trade_id=7,
                            realized="0.5", order="e"))


def test_round_trips_per_side_with_fees_by_asset_and_funding_shared_by_side(ledger):
    day_of_trading(ledger)
    assert ledger.rebuild_round_trips() == 2
    long, short = ledger.queries.round_trips()
    assert (long["side"], D(long["qty"]), D(long["entry_price"]), D(long["exit_price"])) == \
        ("LONG", D(200), D("0.11"), D("0.125"))
    assert D(long["realized_pnl"]) == D("3.0")  # (0.125 - 0.11) x 200, computed from the average entry
    assert {k: D(v) for k, v in long["fees"].items()} == {"USDT": D("0.0235")}
    assert D(long["funding"]) == D("-0.0042")  # -0.0022 alone, then -0.002 of the shared payment
    assert D(short["realized_pnl"]) == D("0.5") and D(short["funding"]) == D("0.0005")
    assert {k: D(v) for k, v in short["fees"].items()} == {"BNB": D("0.000022")}  # never added to USDT
    assert long["close_time"] == T0 + 6000 and short["close_time"] == T0 + ONE_DAY_MS + 7000


def test_totals_today_and_per_day_after_fees_and_funding(ledger):
    day_of_trading(ledger)
    totals = ledger.queries.totals()
    assert totals.realized_pnl == D("3.5") and totals.funding == D("-0.0037")
    assert totals.fees == {"USDT": D("0.0235"), "BNB": D("0.000022")}
    assert totals.net_usdt == D("3.4728")  # 3.5 - 0.0235 - 0.0037; the BNB fee is listed apart
    today = ledger.queries.today(T0 + 12 * 3_600_000)
    assert today.realized_pnl == D("3.0") and today.funding == D("-0.0037") and today.net_usdt == D("2.9728")
    first, second = ledger.queries.daily()
    assert (first.day_start, first.totals.net_usdt) == (T0, D("2.9728"))
    assert (second.day_start, second.totals.net_usdt, second.totals.fees) == \
        (T0 + ONE_DAY_MS, D("0.5"), {"BNB": D("0.000012")})
    curve = ledger.queries.equity_curve(D(1000))
    assert curve[-1] == (T0 + ONE_DAY_MS + 7000, D("1003.4728"))
    assert [row["symbol"] for row in ledger.queries.fills(start=T0 + ONE_DAY_MS)] == ["DOGEUSDT"]
    assert ledger.queries.fills(symbol="ALGOUSDT") == []


def test_every_insert_is_idempotent_and_an_import_completes_a_bot_fill(ledger):
    ledger.record_order("c1", "DOGEUSDT", "LONG", "OPEN", D(100), "R2", T0, "NEW", T0)
    ledger.record_order("c1", "DOGEUSDT", "LONG", "OPEN", D(100), "R2", T0, "FILLED", T0 + 1000)
    assert ledger.db.execute("SELECT status, update_time FROM orders").fetchall() == [("FILLED", T0 + 1000)]
    assert ledger.record_fill(fill("LONG", "OPEN", "100", "0.1", "0.005", at=1000))
    assert not ledger.record_fill(fill("LONG", "OPEN", "100", "0.1", "0.005", at=1000))
    trade = {"symbol": "DOGEUSDT", "id": 41, "orderId": 9, "side": "BUY", "positionSide": "LONG", "price": "0.1",
             "qty": "100", "realizedPnl": "0", "commission": "0.004", "commissionAsset": "USDT", "time": T0 + 1003}
    assert not ledger.record_trade(trade)  # the same execution: the bot's row gets the trade id and real fee
    assert not ledger.record_trade(trade)
    (only,) = ledger.fills()
    assert (only.trade_id, only.commission) == (41, D("0.004"))
    income = {"symbol": "DOGEUSDT", "incomeType": "FUNDING_FEE", "income": "-0.01", "asset": "USDT",
              "time": T0 + 5000, "tranId": 77, "info": "FUNDING_FEE", "tradeId": ""}
    assert ledger.record_income(income) and not ledger.record_income(income)
    assert ledger.queries.totals().funding == D("-0.01")


def test_a_version_1_file_is_migrated_without_losing_a_fill(tmp_path):
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path, isolation_level=None)
    assert ledger_schema.migrate(old, target=1) == 1
    old.execute("INSERT INTO fills (key, symbol, side, action, qty, price, commission, time) "
                "VALUES ('o:x@1', 'DOGEUSDT', 'LONG', 'OPEN', '10', '0.1', '0.0005', 1)")
    old.close()
    with Ledger(path) as ledger:
        assert ledger.version == ledger_schema.LATEST == 2
        (kept,) = ledger.fills()
        assert (kept.qty, kept.commission, kept.commission_asset) == (D(10), D("0.0005"), "USDT")
        assert [row[0] for row in ledger.db.execute("SELECT version FROM migrations ORDER BY version")] == [1, 2]
        assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_file_is_refused_with_a_sentence(tmp_path):
    path = tmp_path / "new.sqlite"
    with Ledger(path) as ledger:
        ledger.db.execute("INSERT INTO migrations VALUES (99, 0)")
    with pytest.raises(ledger_schema.LedgerVersionError, match="newer AutoHedge"):
        Ledger(path)


def test_one_file_per_account_named_by_a_hash_never_the_key(tmp_path):
    assert ledger_path(None, tmp_path).name == "ledger-paper.sqlite"
    named = ledger_path("my-secret-key", tmp_path).name
    assert "my-secret-key" not in named and named != ledger_path("other", tmp_path).name


def test_csv_export_keeps_the_previous_file(ledger, tmp_path):
    day_of_trading(ledger)
    ledger.rebuild_round_trips()
    out = tmp_path / "trips.csv"
    ledger.queries.export_csv(ledger.queries.round_trips(), out)
    first = out.read_text()
    assert first.splitlines()[0].startswith("symbol,side,open_time") and len(first.splitlines()) == 3
    ledger.queries.export_csv(ledger.queries.funding(), out)
    assert (tmp_path / "trips.csv.bak").read_text() == first


def test_the_ledger_holds_one_row_per_journal_entry(ledger, tmp_path):
    """The journal guards orders [O2/O3], the ledger counts money: fed the same fills (a partial
    fill in two steps, a BNB commission, a repeat after a restart) they stay equal."""
    from core.model import Action, Fill, Side
    from live.journal import FillJournal

    journal = FillJournal(tmp_path / "fills.jsonl", durable=False)
    steps = [
        (Fill("c1", "DOGEUSDT", Side.LONG, Action.OPEN, 40.0, 0.1, 0.002, T0 + 1, "R2", T0, "c1"), 40.0, None),
        (Fill("c1", "DOGEUSDT", Side.LONG, Action.OPEN, 60.0, 0.1, 0.003, T0 + 2, "R2", T0, "c1"), 100.0,
         (0.0000051, "BNB")),
        (Fill("c2", "DOGEUSDT", Side.LONG, Action.CLOSE, 100.0, 0.12, 0.006, T0 + 3, "X1", T0, "c2"), 100.0, None),
    ]
    for fill_, cumulative, commission in steps + steps[:1]:  # the first again, as after a restart
        assert journal.record(fill_, cumulative, commission) == ledger.record_bot_fill(fill_, cumulative, commission)
    rows = ledger.fills()
    assert [(r.side, r.action, float(r.qty), float(r.price)) for r in rows] == \
        [(f.side.value, f.action.value, f.qty, f.price) for f in journal.fills]
    assert [(r.commission, r.commission_asset) for r in rows] == \
        [(D("0.002"), "USDT"), (D("0.0000051"), "BNB"), (D("0.006"), "USDT")]
    assert ledger.queries.totals().realized_pnl == D("2.00")  # (0.12 - 0.1) x 100


def test_a_file_that_is_not_a_ledger_is_one_sentence_and_kept(tmp_path):
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"this is not a database, it is a user's file" * 100)
    before = path.read_bytes()
    with pytest.raises(ledger_schema.LedgerError, match=r"cannot be read .*move it away"):
        Ledger(path)
    assert path.read_bytes() == before
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    with pytest.raises(ledger_schema.LedgerError, match="cannot be opened"):
        Ledger(blocked / "ledger.sqlite")
