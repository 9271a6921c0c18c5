"""Classic facility location models on any cost matrix, in the style of PySAL spopt but built straight into HiGHS.

``PMedian``, ``PCenter``, ``MCLP``, ``LSCP`` and ``CFLP`` (capacitated facility location) each have two constructors,
``from_cost_matrix`` (plain arrays) and ``from_geodataframe`` (computes the cost matrix first), and a ``solve``
that returns a frozen :class:`LocationResult` without changing the model.
"""

from planner.classic._base import LocationModel, LocationResult, cost_from_geodataframes
from planner.classic.cflp import CFLP, CapacitatedFacilityLocation
from planner.classic.coverage import LSCP, MCLP
from planner.classic.pcenter import PCenter
from planner.classic.pmedian import PMedian

__all__ = [
    "CFLP",
    "LSCP",
    "MCLP",
    "CapacitatedFacilityLocation",
    "LocationModel",
    "LocationResult",
    "PCenter",
    "PMedian",
    "cost_from_geodataframes",
]
