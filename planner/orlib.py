"""Readers for J.E. Beasley's OR-Library location benchmarks (p-median ``pmedN`` and warehouse ``capNNN``).

The files are plain whitespace-separated numbers; these readers turn them into the arrays the classic
models take (:mod:`planner.classic`), so that the published optima can be reproduced exactly.

* ``pmedN.txt``: ``n_vertices n_edges p`` then ``n_edges`` lines ``u v cost`` (vertices 1..n, undirected).
  The cost matrix is the all-pairs shortest-path length on that graph. Some edges are listed more than
  once; OR-Library's convention is that the LAST listing wins (taking the minimum instead gives 5718
  for pmed1, not the published 5819).
* ``capNNN.txt``: ``m n``; ``m`` lines ``capacity fixed_cost``; then for each of the ``n`` customers its
  demand followed by ``m`` allocation costs (the cost of serving ALL of that customer's demand from each
  warehouse). Numbers may wrap over lines, so the customer block is read as one token stream.

Every malformed file raises :class:`~planner.errors.DataValidationError` naming the file, line and value.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse import csgraph

from planner.errors import DataValidationError, where

__all__ = [
    "CapInstance",
    "PMedianInstance",
    "read_cap",
    "read_optima",
    "read_pmed",
]


@dataclass(frozen=True)
class PMedianInstance:
    """An OR-Library p-median instance.

    Attributes
    ----------
    name
        Instance name (the file stem, e.g. ``"pmed1"``).
    p
        Number of medians to open.
    cost
        ``n x n`` shortest-path distances (every vertex is both a demand point of weight 1 and a candidate).
    n_edges
        Number of edge lines in the file (duplicates included).
    """

    name: str
    p: int
    cost: npt.NDArray[np.float64]
    n_edges: int

    @property
    def n(self) -> int:
        """Number of vertices."""
        return int(self.cost.shape[0])


@dataclass(frozen=True)
class CapInstance:
    """An OR-Library capacitated warehouse location instance.

    Attributes
    ----------
    name
        Instance name (the file stem, e.g. ``"cap71"``).
    capacities
        Capacity of each of the ``m`` warehouses.
    fixed_costs
        Fixed cost of opening each warehouse.
    demand
        Demand of each of the ``n`` customers.
    allocation_costs
        ``n x m`` cost of serving all of customer ``i``'s demand from warehouse ``j``.
    """

    name: str
    capacities: npt.NDArray[np.float64]
    fixed_costs: npt.NDArray[np.float64]
    demand: npt.NDArray[np.float64]
    allocation_costs: npt.NDArray[np.float64]


def _at(path: Path, line_no: int, value: object = None, field: str | None = None) -> str:
    """Location of a bad value: ``"<file>, line <n>, field '<f>': value '<v>'"``."""
    return where(f"{path}, line {line_no}", field=field, value=value)


def _numbers(path: Path, line_no: int, line: str, count: int | None = None) -> list[float]:
    """Parse the numbers on one line, raising with the file, line and value if one is not a finite number."""
    out: list[float] = []
    for token in line.split():
        try:
            value = float(token)
        except ValueError:
            raise DataValidationError(f"{_at(path, line_no, token)}: not a number") from None
        if not np.isfinite(value):
            raise DataValidationError(f"{_at(path, line_no, token)}: not a finite number")
        out.append(value)
    if count is not None and len(out) != count:
        raise DataValidationError(f"{_at(path, line_no, line.strip())}: expected {count} numbers, found {len(out)}")
    return out


def _integer(path: Path, line_no: int, value: float, field: str) -> int:
    """``value`` as an int, raising with the file, line and field if it has a fractional part."""
    if value != int(value):
        raise DataValidationError(f"{_at(path, line_no, value, field)}: expected a whole number")
    return int(value)


def _lines(path: Path) -> list[tuple[int, str]]:
    """The non-blank lines of ``path`` with their 1-based line numbers in the file."""
    if not path.is_file():
        raise DataValidationError(f"{where(path)}: file not found")
    lines = [(k, ln) for k, ln in enumerate(path.read_text().splitlines(), start=1) if ln.strip()]
    if not lines:
        raise DataValidationError(f"{where(path)}: the file is empty")
    return lines


def read_pmed(path: str | Path) -> PMedianInstance:
    """Read an OR-Library ``pmedN.txt`` file and compute its shortest-path cost matrix.

    Parameters
    ----------
    path
        The ``pmedN.txt`` file.

    Returns
    -------
    PMedianInstance
        ``p`` and the ``n x n`` all-pairs shortest-path distances (``scipy.sparse.csgraph.shortest_path``).

    Raises
    ------
    DataValidationError
        If the header or an edge line is malformed, a vertex is outside ``1..n`` or not a whole number, a cost is
        negative, the number of edge lines differs from the header, or the graph is disconnected. The message
        names the file, the line and the value.
    """
    path = Path(path)
    lines = _lines(path)
    head_no, head = lines[0]
    n, n_edges, p = (
        _integer(path, head_no, v, f)
        for v, f in zip(_numbers(path, head_no, head, 3), ("n", "edges", "p"), strict=True)
    )
    if n < 1 or n_edges < 0 or p < 1 or p > n:
        raise DataValidationError(f"{_at(path, head_no, head.strip())}: need n >= p >= 1 and edges >= 0")
    body = lines[1:]
    if len(body) != n_edges:
        raise DataValidationError(
            f"{_at(path, head_no, n_edges, 'edges')}: the header announces {n_edges} edges, "
            f"the file has {len(body)} edge lines"
        )
    rows = [_numbers(path, k, ln, 3) for k, ln in body]
    edges = np.array(rows, dtype=np.float64).reshape(-1, 3)
    for col, name in ((0, "u"), (1, "v")):
        frac = np.flatnonzero(edges[:, col] != np.round(edges[:, col]))
        if frac.size:
            k = int(frac[0])
            raise DataValidationError(
                f"{_at(path, body[k][0], float(edges[k, col]), name)}: vertex must be a whole number"
            )
    u = edges[:, 0].astype(np.int64) - 1
    v = edges[:, 1].astype(np.int64) - 1
    w = edges[:, 2]
    bad = np.flatnonzero((u < 0) | (u >= n) | (v < 0) | (v >= n))
    if bad.size:
        k = int(bad[0])
        raise DataValidationError(f"{_at(path, body[k][0], body[k][1].strip())}: vertex outside 1..{n}")
    neg = np.flatnonzero(w < 0)
    if neg.size:
        k = int(neg[0])
        raise DataValidationError(f"{_at(path, body[k][0], float(w[k]), 'cost')}: negative edge cost")
    # The LAST listing of an (unordered) edge wins: np.unique on the reversed keys keeps each pair's last line.
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    keys = (lo * n + hi)[::-1]
    _, first_in_reversed = np.unique(keys, return_index=True)
    keep = len(keys) - 1 - first_in_reversed
    lo, hi, w = lo[keep], hi[keep], w[keep]
    loops = lo != hi
    lo, hi, w = lo[loops], hi[loops], w[loops]
    # Zero-cost edges would vanish from a sparse matrix; a tiny positive stand-in keeps them, then is rounded off.
    tiny = w == 0
    graph = sp.csr_array((np.where(tiny, 1e-300, w), (lo, hi)), shape=(n, n))
    dist = csgraph.shortest_path(graph, method="D", directed=False)
    if not np.all(np.isfinite(dist)):
        unreachable = int(np.flatnonzero(~np.isfinite(dist[0]))[0]) + 1
        raise DataValidationError(
            f"{where(path, field='edges')}: the graph is disconnected (vertex 1 cannot reach vertex {unreachable})"
        )
    if tiny.any():
        dist[dist < 1e-200] = 0.0
    return PMedianInstance(name=path.stem, p=p, cost=dist, n_edges=n_edges)


def read_cap(path: str | Path) -> CapInstance:
    """Read an OR-Library ``capNNN.txt`` warehouse location file.

    Parameters
    ----------
    path
        The ``capNNN.txt`` file.

    Returns
    -------
    CapInstance
        Capacities, fixed costs, demands and the ``n x m`` allocation costs.

    Raises
    ------
    DataValidationError
        If a number is malformed or negative, or the customer block has the wrong number of values; the message
        names the file, the line and the value.
    """
    path = Path(path)
    lines = _lines(path)
    head_no, head = lines[0]
    m, n = (_integer(path, head_no, v, f) for v, f in zip(_numbers(path, head_no, head, 2), ("m", "n"), strict=True))
    if m < 1 or n < 1:
        raise DataValidationError(f"{_at(path, head_no, head.strip())}: need at least one warehouse and one customer")
    if len(lines) < 1 + m:
        raise DataValidationError(
            f"{where(path, field='warehouses', value=m)}: the header announces {m} warehouses, "
            f"the file has only {len(lines) - 1} further lines"
        )
    warehouses = np.array([_numbers(path, k, ln, 2) for k, ln in lines[1 : 1 + m]], dtype=np.float64).reshape(m, 2)
    neg = np.argwhere(warehouses < 0)
    if len(neg):
        r, c = (int(x) for x in neg[0])
        field = ("capacity", "fixed_cost")[c]
        raise DataValidationError(f"{_at(path, lines[1 + r][0], float(warehouses[r, c]), field)}: negative")
    tokens: list[float] = []
    token_line: list[int] = []
    for k, ln in lines[1 + m :]:
        values = _numbers(path, k, ln)
        tokens.extend(values)
        token_line.extend([k] * len(values))
    expected = n * (m + 1)
    if len(tokens) != expected:
        raise DataValidationError(
            f"{where(path, field='customers', value=len(tokens))}: expected {n} customers x (1 demand + {m} costs) "
            f"= {expected} numbers, found {len(tokens)}"
        )
    flat = np.asarray(tokens, dtype=np.float64)
    neg_k = np.flatnonzero(flat < 0)
    if neg_k.size:
        t = int(neg_k[0])
        field = "demand" if t % (m + 1) == 0 else "allocation_cost"
        raise DataValidationError(f"{_at(path, token_line[t], float(flat[t]), field)}: negative")
    block = flat.reshape(n, m + 1)
    return CapInstance(
        name=path.stem,
        capacities=warehouses[:, 0].copy(),
        fixed_costs=warehouses[:, 1].copy(),
        demand=block[:, 0].copy(),
        allocation_costs=block[:, 1:].copy(),
    )


def read_optima(path: str | Path) -> dict[str, float]:
    """Read an ``optima.csv`` (``instance,<value>``) into ``{instance: optimal value}``.

    Parameters
    ----------
    path
        The CSV file; its second column holds the published optimal objective.

    Returns
    -------
    dict
        Instance name to optimal value.

    Raises
    ------
    DataValidationError
        If a value is not a number.
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{where(path)}: file not found")
    out: dict[str, float] = {}
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or len(header) < 2:
            raise DataValidationError(f"{where(f'{path}, line 1')}: expected a header 'instance,<value>'")
        for k, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                out[row[0].strip()] = float(row[1])
            except (IndexError, ValueError):
                bad = row[1] if len(row) > 1 else None
                raise DataValidationError(
                    f"{where(f'{path}, line {k}', field=header[1], value=bad)}: not a number"
                ) from None
    return out
