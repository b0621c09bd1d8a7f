"""Issue 11: the randomized fault campaign, a few fixed seeds on every CI run.

``python -m tools.chaos`` runs the real bot process against the fake exchange process
with faults drawn per seed and SIGKILLs; it exits 1 on any divergence between the
exchange and the bot, any side held above what the strategy intends, or a hang. The
long run (200 seeds) is quoted in the README.
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

CLOSING = re.compile(r"^seeds=(\d+) kills=(\d+) faults=(\d+) orders=(\d+) divergences=(\d+) overfills=(\d+) "
                     r"hangs=(\d+)$", re.M)


def test_O2_O4_O7_fault_campaign_on_fixed_seeds_keeps_exchange_and_bot_equal():
    run = subprocess.run([sys.executable, "-m", "tools.chaos", "--seeds", "3", "--first-seed", "101",
                          "--minutes", "60", "--kill-chance", "0.35"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)
    match = CLOSING.search(run.stdout)
    assert match, run.stdout[-3000:] + run.stderr[-3000:]
    seeds, kills, faults, orders, divergences, overfills, hangs = map(int, match.groups())
    assert (divergences, overfills, hangs) == (0, 0, 0), run.stdout[-6000:]
    assert run.returncode == 0
    # The campaign must have exercised something, or a zero proves nothing.
    assert seeds == 3 and kills >= 2 and faults >= 20 and orders >= 10, match.group(0)


def test_chaos_reports_a_divergence_it_is_shown():
    """The checker itself: a position the bot does not know about is a divergence (exit 1)."""
    from tools.chaos import SeedResult, _check_end

    class Fake:
        class control:
            @staticmethod
            def state():
                return {"positions": [{"symbol": "DOGEUSDT", "positionSide": "LONG", "qty": "200"}],
                        "orders": [{"clientOrderId": "web_1", "side": "BUY", "positionSide": "LONG",
                                    "executedQty": "100"}]}

    class Bot:
        @staticmethod
        def states():
            return {"DOGEUSDT": {"positions": {"LONG": {"qty": 100.0}, "SHORT": {"qty": 0.0}}}}

        @staticmethod
        def journal():
            return []

    result = SeedResult(1)
    _check_end(Fake(), Bot(), result)
    assert result.divergences == ["DOGEUSDT LONG: exchange 200, bot 100",
                                  "DOGEUSDT LONG: held with no guard",
                                  "exchange order web_1 (BUY LONG 100) is not in the journal"]
    assert not result.clean


def test_chaos_reports_a_guard_orphaned_doubled_or_missing():
    """Issue 19: the end check of the guards [E1] finds each kind of wrong."""
    from tools.chaos import SeedResult, _check_guards

    def guard(client_id: str, status: str = "NEW") -> dict:
        return {"clientAlgoId": client_id, "algoStatus": status}

    snapshot = {"positions": [{"symbol": "DOGEUSDT", "positionSide": "LONG", "qty": "100"},
                              {"symbol": "ALGOUSDT", "positionSide": "SHORT", "qty": "50"}],
                "algo_orders": [guard("ahg-DOGEUSDT-Lh-1"), guard("ahg-DOGEUSDT-Lh-2"), guard("ahg-DOGEUSDT-Sh-3"),
                                guard("ahg-ALGOUSDT-Sh-4", "FINISHED"), guard("web-1")]}
    result = SeedResult(1)
    _check_guards(snapshot, result)
    assert result.divergences == ["DOGEUSDT LONG: 2 guards open (ahg-DOGEUSDT-Lh-1, ahg-DOGEUSDT-Lh-2)",
                                  "guard ahg-DOGEUSDT-Sh-3: orphaned (no DOGEUSDT SHORT held)",
                                  "ALGOUSDT SHORT: held with no guard"]
    clean = SeedResult(2)
    _check_guards({"positions": snapshot["positions"],
                   "algo_orders": [guard("ahg-DOGEUSDT-Lh-1"), guard("ahg-ALGOUSDT-Sh-4")]}, clean)
    assert clean.clean
