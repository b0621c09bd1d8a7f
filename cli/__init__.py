"""The command-line sub-commands (run, backtest, optimize, download, selftest) and console helpers."""
