"""OR-Library readers and known answers: published p-median and warehouse-location optima are reproduced exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.classic import CFLP, PMedian
from planner.errors import DataValidationError
from planner.orlib import read_cap, read_optima, read_pmed

ORLIB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "orlib"
needs_orlib = pytest.mark.skipif(not ORLIB.is_dir(), reason="OR-Library benchmarks not available")

#: A fast subset (under a second in all): small and large p, and pmed6 which needs the Lagrangian tree search.
FAST_PMED = ["pmed1", "pmed2", "pmed3", "pmed4", "pmed5", "pmed6", "pmed7", "pmed8", "pmed13"]
CAP = ["cap71", "cap72", "cap73", "cap74", "cap101", "cap102", "cap103", "cap104"]


# ----------------------------------------------------------------------------------------------- known answers


@needs_orlib
@pytest.mark.parametrize("name", FAST_PMED)
def test_pmed_reproduces_published_optimum(name: str) -> None:
    optima = read_optima(ORLIB / "pmed" / "optima.csv")
    inst = read_pmed(ORLIB / "pmed" / f"{name}.txt")
    result = PMedian.from_cost_matrix(inst.cost, p_facilities=inst.p).solve(time_limit=60)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(optima[name], abs=1e-6)
    assert len(result.open_sites) == inst.p
    assert result.gap is not None and result.gap <= 1e-6
    # Every vertex is served by its nearest open median.
    assert np.isin(result.assignment, result.open_sites).all()
    assert result.assigned_cost == pytest.approx(inst.cost[:, result.open_sites].min(axis=1))


@needs_orlib
@pytest.mark.parametrize("name", CAP)
def test_cap_reproduces_published_optimum(name: str) -> None:
    optima = read_optima(ORLIB / "cap" / "optima.csv")
    inst = read_cap(ORLIB / "cap" / f"{name}.txt")
    model = CFLP.from_cost_matrix(
        inst.allocation_costs,
        demand=inst.demand,
        capacities=inst.capacities,
        fixed_costs=inst.fixed_costs,
        weights=np.ones(len(inst.demand)),  # OR-Library costs are for all of a customer's demand
    )
    result = model.solve(time_limit=60)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(optima[name], rel=1e-9)
    assert result.allocation is not None
    load = result.allocation.T @ inst.demand
    assert (load <= inst.capacities * np.isin(np.arange(len(load)), result.open_sites) + 1e-6).all()


@needs_orlib
def test_pmed1_reader_shape_and_duplicate_rule() -> None:
    inst = read_pmed(ORLIB / "pmed" / "pmed1.txt")
    assert (inst.name, inst.n, inst.p, inst.n_edges) == ("pmed1", 100, 5, 200)
    assert np.allclose(inst.cost, inst.cost.T)
    assert (np.diag(inst.cost) == 0).all()


@needs_orlib
def test_cap71_reader_sizes() -> None:
    inst = read_cap(ORLIB / "cap" / "cap71.txt")
    assert inst.allocation_costs.shape == (50, 16)
    assert inst.capacities.shape == inst.fixed_costs.shape == (16,)
    assert inst.demand.shape == (50,)


# ----------------------------------------------------------------------------------------------- reader rules


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_pmed_last_duplicate_edge_wins(tmp_path: Path) -> None:
    # Edge 1-2 is listed twice: 5, then 1. The last listing (1) is the one OR-Library means.
    path = _write(tmp_path, "tiny.txt", "3 3 1\n1 2 5\n2 3 2\n2 1 1\n")
    inst = read_pmed(path)
    assert inst.cost[0, 1] == 1
    assert inst.cost[0, 2] == 3
    result = PMedian.from_cost_matrix(inst.cost, p_facilities=1).solve(time_limit=10)
    assert list(result.open_sites) == [1]
    assert result.objective == 3


def test_pmed_blank_lines_keep_file_line_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path, "blank.txt", "3 2 1\n\n1 2 5\n2 x 2\n")
    with pytest.raises(DataValidationError, match=r"blank\.txt, line 4: value 'x': not a number"):
        read_pmed(path)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("3 2 1\n1 2 5\n", r"line 1, field 'edges': value 2: the header announces 2 edges, the file has 1 edge lines"),
        ("3 2 1\n1 2 5\n2 7 1\n", r"line 3: value '2 7 1': vertex outside 1\.\.3"),
        ("3 2 1\n1 2 5\n2 3 -1\n", r"line 3, field 'cost': value -1\.0: negative edge cost"),
        ("3 2 1\n1 2 5\n2 3\n", r"line 3: value '2 3': expected 3 numbers, found 2"),
        ("4 2 1\n1 2 5\n2 3 1\n", r"disconnected \(vertex 1 cannot reach vertex 4\)"),
        ("3 2 5\n1 2 5\n2 3 1\n", r"line 1: value '3 2 5': need n >= p >= 1"),
        ("3 2 1.5\n1 2 5\n2 3 1\n", r"line 1, field 'p': value 1\.5: expected a whole number"),
        ("3 2 1\n1.5 2 5\n2 3 1\n", r"line 2, field 'u': value 1\.5: vertex must be a whole number"),
        ("3 2 1\n1 2 nan\n2 3 1\n", r"line 2: value 'nan': not a finite number"),
        ("", r"the file is empty"),
    ],
)
def test_pmed_malformed_input_names_file_line_value(tmp_path: Path, text: str, pattern: str) -> None:
    path = _write(tmp_path, "bad_pmed.txt", text)
    with pytest.raises(DataValidationError, match=pattern) as info:
        read_pmed(path)
    assert "bad_pmed.txt" in str(info.value)


def test_pmed_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"nope\.txt: file not found"):
        read_pmed(tmp_path / "nope.txt")


def test_cap_numbers_may_wrap_over_lines(tmp_path: Path) -> None:
    text = "2 2\n10 100\n10 200\n3\n 1 2\n4 5\n 6\n"
    inst = read_cap(_write(tmp_path, "wrap.txt", text))
    assert inst.demand.tolist() == [3, 4]
    assert inst.allocation_costs.tolist() == [[1, 2], [5, 6]]
    assert inst.capacities.tolist() == [10, 10]
    assert inst.fixed_costs.tolist() == [100, 200]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("2 2\n10 100\n10 200\n3 1 2\n4 5\n", r"expected 2 customers x \(1 demand \+ 2 costs\) = 6 numbers, found 5"),
        ("2 2\n10 100\n10 abc\n3 1 2\n4 5 6\n", r"line 3: value 'abc': not a number"),
        ("2 2\n10 100\n-10 200\n3 1 2\n4 5 6\n", r"line 3, field 'capacity': value -10\.0: negative"),
        ("2 2\n10 100\n10 200\n3 1 2\n4 5\n-6\n", r"line 6, field 'allocation_cost': value -6\.0: negative"),
        ("2 2\n10 100\n", r"announces 2 warehouses, the file has only 1 further lines"),
        ("2\n", r"line 1: value '2': expected 2 numbers, found 1"),
    ],
)
def test_cap_malformed_input_names_file_line_value(tmp_path: Path, text: str, pattern: str) -> None:
    path = _write(tmp_path, "bad_cap.txt", text)
    with pytest.raises(DataValidationError, match=pattern) as info:
        read_cap(path)
    assert "bad_cap.txt" in str(info.value)


def test_read_optima(tmp_path: Path) -> None:
    path = _write(tmp_path, "optima.csv", "instance,optimal_value\npmed1,5819\n\npmed2,4093.5\n")
    assert read_optima(path) == {"pmed1": 5819.0, "pmed2": 4093.5}
    bad = _write(tmp_path, "bad.csv", "instance,optimal_value\npmed1,lots\n")
    with pytest.raises(DataValidationError, match=r"bad\.csv, line 2, field 'optimal_value': value 'lots'"):
        read_optima(bad)
