"""The classic models on the planner's own inputs: zones as demand points, hub candidates as sites.

This lets a user set the full planning model beside the textbook answer on the same BNSSG data, e.g. "where would
six hubs go if we only minimised demand-weighted travel?" (p-median) or "how few hubs put every zone within 30
minutes?" (LSCP).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner.inputs import ModelInputs


def hub_cost_matrix(inp: ModelInputs, *, band: str = "day") -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Zone x hub-candidate minutes (``inf`` beyond the scenario's travel limit) and the zones' weekly demand.

    Parameters
    ----------
    inp
        Model inputs of a scenario (its travel mode and limit apply).
    band
        ``day`` or ``evening`` travel times.

    Returns
    -------
    cost, weights
        ``cost[i, j]``: minutes from zone ``inp.zones.index[i]`` to hub candidate ``hub_ids(inp)[j]``;
        ``weights[i]``: the zone's contacts a week (daytime plus evening-only).
    """
    if band not in ("day", "evening"):
        raise ValueError(f"band must be 'day' or 'evening', not {band!r}")
    hubs = hub_ids(inp)
    col = f"minutes_{band}"
    table = inp.travel.loc[inp.travel["site_id"].isin(hubs)].pivot(index="zone_code", columns="site_id", values=col)
    cost = table.reindex(index=inp.zones.index, columns=hubs).to_numpy(dtype=np.float64, copy=True)
    cost[~(cost <= inp.scenario.travel.max_minutes)] = np.inf
    weights = (inp.zones["contacts_day"] + inp.zones["contacts_evening_only"]).to_numpy(dtype=np.float64)
    return cost, weights


def hub_ids(inp: ModelInputs) -> pd.Index:
    """The hub candidates' site ids, in the column order of :func:`hub_cost_matrix`."""
    return inp.sites.index[inp.sites["is_hub"]]
