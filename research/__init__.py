"""Research tools: parameter search (grid / Optuna), walk-forward validation, scale-out.

No Qt and no printing here: ``cli.optimize`` and ``ui.optimize_tab`` drive it.
Every backtest goes through one function, :func:`research.evaluate.evaluate`.
"""
