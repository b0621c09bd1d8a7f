"""Every rule id an order or a log line carries has a plain-language reason (live/reasons.py)."""
from __future__ import annotations

import pytest

from core import decide
from core.model import Action
from live.reasons import describe


@pytest.mark.parametrize("rule", [name for name in decide.REASONS if name])
def test_every_rule_id_has_a_sentence(rule):
    for action in (Action.OPEN, Action.CLOSE):
        text = describe(rule, action)
        assert text != rule and len(text.split()) >= 3


def test_a_flatten_close_says_everything_was_closed_and_a_block_does_not():
    assert "everything closed" in describe("L1", Action.CLOSE)
    assert "everything closed" not in describe("L1", Action.OPEN)
    assert "next UTC day" in describe("L2", Action.CLOSE)


@pytest.mark.parametrize("rule", ["C3", "E1"])
def test_the_live_only_rule_ids_of_orders_and_fills_have_a_sentence(rule):
    """[C3] the trader's close of an excess made by hand; [E1] a guard's fill in the journal."""
    assert describe(rule, Action.CLOSE) != rule
