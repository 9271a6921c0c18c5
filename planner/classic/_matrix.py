"""A small assembler that builds a :class:`~planner.solver.MatrixProblem` family by family.

Each model defines its variables and constraints in small functions, one per family (``open_site``,
``assign``, ``assign_once``...), that add whole blocks of columns or of rows as numpy arrays. The assembler keeps
the named slices, so a result can say how big each family was and tests can read a family's values back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from planner.solver import MatrixProblem

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass
class MatrixAssembler:
    """Collects column families and row families (given as COO triplets) and stacks them once.

    Attributes
    ----------
    columns
        Family name to the slice of columns it occupies.
    rows
        Family name to the slice of rows it occupies.
    """

    columns: dict[str, slice] = field(default_factory=dict)
    rows: dict[str, slice] = field(default_factory=dict)
    _cost: list[FloatArray] = field(default_factory=list)
    _col_lower: list[FloatArray] = field(default_factory=list)
    _col_upper: list[FloatArray] = field(default_factory=list)
    _integer: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    _row_lower: list[FloatArray] = field(default_factory=list)
    _row_upper: list[FloatArray] = field(default_factory=list)
    _r: list[IntArray] = field(default_factory=list)
    _c: list[IntArray] = field(default_factory=list)
    _v: list[FloatArray] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0

    def add_columns(
        self,
        family: str,
        cost: npt.ArrayLike,
        *,
        lower: npt.ArrayLike = 0.0,
        upper: npt.ArrayLike = 1.0,
        integer: bool = False,
    ) -> slice:
        """Add one column per entry of ``cost``; returns the family's slice of column indices."""
        c = np.asarray(cost, dtype=np.float64).reshape(-1)
        k = c.size
        self._cost.append(c)
        self._col_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (k,)).copy())
        self._col_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (k,)).copy())
        self._integer.append(np.full(k, integer))
        block = slice(self.n_cols, self.n_cols + k)
        self.columns[family] = block
        self.n_cols += k
        return block

    def add_rows(
        self,
        family: str,
        n: int,
        rows: npt.ArrayLike,
        cols: npt.ArrayLike,
        values: npt.ArrayLike,
        *,
        lower: npt.ArrayLike = -np.inf,
        upper: npt.ArrayLike = np.inf,
    ) -> slice:
        """Add ``n`` rows given by triplets (``rows`` local to the family, ``cols`` global); returns their slice."""
        r = np.asarray(rows, dtype=np.int64).reshape(-1)
        c = np.asarray(cols, dtype=np.int64).reshape(-1)
        v = np.broadcast_to(np.asarray(values, dtype=np.float64), r.shape).copy()
        self._r.append(r + self.n_rows)
        self._c.append(c)
        self._v.append(v)
        self._row_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)).copy())
        self._row_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)).copy())
        block = slice(self.n_rows, self.n_rows + n)
        self.rows[family] = block
        self.n_rows += n
        return block

    def problem(self, *, sense: Literal["min", "max"] = "min", offset: float = 0.0) -> MatrixProblem:
        """Stack every family into one :class:`MatrixProblem` (CSC matrix)."""

        def cat(parts: Sequence[npt.NDArray[Any]], dtype: type) -> npt.NDArray[Any]:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

        A = sp.csc_array(
            (cat(self._v, np.float64), (cat(self._r, np.int64), cat(self._c, np.int64))),
            shape=(self.n_rows, self.n_cols),
        )
        A.sum_duplicates()
        return MatrixProblem(
            c=cat(self._cost, np.float64),
            A=A,
            row_lower=cat(self._row_lower, np.float64),
            row_upper=cat(self._row_upper, np.float64),
            col_lower=cat(self._col_lower, np.float64),
            col_upper=cat(self._col_upper, np.float64),
            integrality=cat(self._integer, np.bool_),
            sense=sense,
            offset=float(offset),
        )

    def sizes(self) -> dict[str, int]:
        """Number of columns and rows per family (``col:<name>``, ``row:<name>``)."""
        out = {f"col:{k}": s.stop - s.start for k, s in self.columns.items()}
        out.update({f"row:{k}": s.stop - s.start for k, s in self.rows.items()})
        return out
