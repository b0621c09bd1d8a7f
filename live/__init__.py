"""The trading service (no Qt): one job per module; see docs/ARCHITECTURE.md for the map and the rule ids."""
