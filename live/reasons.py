"""Plain-language reasons for the trader's log, one per SPEC rule id."""
from __future__ import annotations

from core.model import Action

_REASONS: dict[tuple[str, Action | None], str] = {
    ("R1", None): "the 5m signal favours the regime again: hedge removed whatever its PnL",
    ("R2", None): "the 5m signal favours the regime and no main position is open: main opened",
    ("R3", Action.CLOSE): "the 5m signal turned against the main while it is in profit: profit locked",
    ("R3", Action.OPEN): "the 5m signal turned against the main while it is losing: equal-size hedge opened",
    ("R4", None): "the main position recovered (PnL >= 0): hedge released",
    ("R5", None): "no 5m signal and the main position is losing: equal-size hedge opened",
    ("X1", None): "take profit reached",
    ("X2", None): "maximum holding time reached",
    ("X3", None): "trailing stop: the price gave back the trailing distance from its best close",
    ("G3", None): "the daily regime changed: positions on the new hedge side closed",
    ("C1", None): "the bot's own late order made this side larger than CALL_SIZE: the excess closed",
    ("C2", None): "the main of this hedge is gone (liquidated, ADL or closed by hand): the orphan hedge closed",
    ("C3", None): "the trader chose to close the excess above CALL_SIZE made not by the bot's hand",
    ("E1", None): "the bot's exchange-side guard triggered (its own order, placed while the bot could not act)",
    ("L1", Action.CLOSE): "the daily loss limit was reached (fees included): everything closed, "
                          "no new main until the next UTC day",
    ("L1", None): "the daily loss limit was reached (fees included): no new main until the next UTC day",
    ("L2", Action.CLOSE): "the drawdown limit from the peak equity was reached: everything closed, "
                          "no new main until the next UTC day",
    ("L2", None): "the drawdown limit from the peak equity was reached: no new main until the next UTC day",
    ("L3", None): "a new main would take the open notional above its cap: no main opened",
    ("L4", None): "cool-down after a main close: no new main yet",
    ("L5", None): "the maximum number of entries for this UTC day is reached: no new main today",
    ("E1", Action.OPEN): "the guard held on the exchange was triggered (the main moved its distance against the "
                         "entry): equal-size hedge opened",
    ("E1", Action.CLOSE): "the guard held on the exchange was triggered (the main moved its distance against the "
                          "entry): main closed (disaster stop)",
    ("manual", None): "closed by the user (flatten)",
    ("stop", None): "closed on stop",
    ("reconcile", None): "position corrected to the exchange's",
}


def describe(reason: str, action: Action) -> str:
    return _REASONS.get((reason, action)) or _REASONS.get((reason, None)) or reason
