"""Errors the planner raises on purpose (one module; every class subclasses ValueError or RuntimeError).

The data-layer errors are re-exported so that callers can catch everything from here.
"""

from __future__ import annotations

from geodata.errors import DataBuildError, DataValidationError, NetworkError, PlannerError, where

__all__ = [
    "DataBuildError",
    "DataValidationError",
    "InfeasibleError",
    "ModelInputError",
    "NetworkError",
    "OutputError",
    "PlannerError",
    "ScenarioError",
    "where",
]


class ScenarioError(PlannerError, ValueError):
    """A scenario file is missing, malformed, has an unknown key or a bad value; the message names file, key, value."""


class ModelInputError(PlannerError, ValueError):
    """Inputs to a model are inconsistent (shapes, negative costs, unknown site ids, impossible parameters)."""


class InfeasibleError(PlannerError, RuntimeError):
    """No plan can meet the hard requirements; the message says which and by how much."""


class OutputError(PlannerError, RuntimeError):
    """Results could not be written; nothing already saved was changed."""
