"""BNSSG neighbourhood access planner: places hubs, evening pop-ups and MDT sessions (Pyomo + HiGHS)."""

__version__ = "0.1.0"
