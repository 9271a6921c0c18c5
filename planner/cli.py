"""Command line: ``planner solve | compare | frontier | validate | scenarios | data``.

Exit codes: 0 a plan was found (optimal, or stopped at the time limit with its gap); 2 a user mistake
(bad scenario, bad site file, unknown key), reported in one line without a traceback; 3 the scenario is
infeasible (the message says which requirement and by how much); 4 no plan (solver failure or no
feasible plan within the time limit).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from planner.errors import PlannerError
from planner.plan import Plan
from planner.solver import SolveStatus

app = typer.Typer(
    name="planner",
    help="Plan community hubs, evening pop-ups and specialist MDT sessions across BNSSG neighbourhoods.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()

EXIT_OK, EXIT_USER, EXIT_INFEASIBLE, EXIT_NO_PLAN = 0, 2, 3, 4
DEFAULT_RUNS = Path("runs")


def _mount_data() -> None:
    from geodata.cli import data_app

    app.add_typer(data_app, name="data", help="Build or inspect the planning dataset.")


_mount_data()


def _fail(message: str, code: int = EXIT_USER) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the project's own errors into a one-line message and exit code 2 (no traceback)."""
    try:
        yield
    except PlannerError as exc:
        raise _fail(str(exc)) from None  # the inputs' errors name the scenario's file and field themselves


class _Progress:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            err.print(f"[dim]•[/] {message}", highlight=False)


def _load(text: str, apply: list[str] | None, time_limit: float | None, gap: float | None = None) -> Any:
    from planner.scenario import load_scenario

    sc = load_scenario(text, apply=apply or ())  # a path or a library name
    if time_limit is not None:
        sc = sc.with_changes({"solver": {"time_limit": time_limit}}, source="--time-limit")
    if gap is not None:
        sc = sc.with_changes({"solver": {"mip_rel_gap": gap}}, source="--gap")
    return sc


def _check_out(root: Path) -> None:
    from planner.outputs import check_output_root

    check_output_root(root)  # before the solve, so that its minutes are not lost


def _load_dataset(path: Path | None) -> Any:
    from geodata.dataset import load_dataset

    return load_dataset(path)


def _kpi_table(plans: list[Plan], names: list[str]) -> Table:
    from planner.report import formatted_comparison  # matplotlib: imported only when a table is printed

    shown = formatted_comparison(plans, names)  # a comparison also shows each later plan minus the first
    table = Table(title="Key indicators", show_lines=False)
    table.add_column("indicator", no_wrap=True)
    for col in shown.columns:
        table.add_column(str(col), justify="right")
    for label, row in shown.iterrows():
        table.add_row(str(label), *row)
    return table


def _print_table(table: Table) -> None:
    """Print a table; written to a file or a pipe (no terminal width to respect) at its natural width, unwrapped."""
    from rich.measure import Measurement

    if out.is_terminal:
        out.print(table)
        return
    saved = out.width  # rich caps print(width=...) at the console's width, so widen the console for this table
    out.width = max(saved, Measurement.get(out, out.options.update_width(1_000), table).maximum)
    try:
        out.print(table)
    finally:
        out.width = saved


def _frontier_table(curve: Any) -> Table:
    """The frontier as a table: a column per budget, a row per indicator, labelled and formatted like the report."""
    from planner.report import frontier_display

    shown = frontier_display(curve)
    table = Table(title="Cost against access, by annual budget")
    table.add_column("budget", no_wrap=True)
    for column in shown.columns:
        table.add_column(str(column), justify="right")
    for label, row in shown.iterrows():
        table.add_row(str(label), *row.tolist())
    return table


def _say_why_no_plan(status: object, message: str, has_solution: bool, what: str = "") -> None:
    """Print to standard error (even with ``--quiet``) why there is no plan: the requirement and the shortfall."""
    if not has_solution:
        err.print(f"[bold red]{what}{status}:[/] {message}", highlight=False, soft_wrap=True)


def _exit_code(plan: Plan) -> int:
    if plan.has_solution:
        return EXIT_OK
    return EXIT_INFEASIBLE if plan.status is SolveStatus.INFEASIBLE else EXIT_NO_PLAN


ApplyOpt = Annotated[list[str] | None, typer.Option("--apply", "-a", help="Named override to apply (repeatable).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors (no progress, table or result line).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on standard output.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Folder under which a new run folder is written.")]
DatasetOpt = Annotated[
    Path | None, typer.Option("--dataset", help="Planning dataset folder (default: the embedded BNSSG dataset).")
]
TimeOpt = Annotated[
    float | None, typer.Option("--time-limit", help="Solver time limit in seconds (overrides the scenario).")
]
GapOpt = Annotated[
    float | None,
    typer.Option(
        "--gap",
        help="Stop once the plan is proven within this relative gap, e.g. 0.05 for 5% (overrides the scenario's "
        "solver.mip_rel_gap; a looser gap answers sooner).",
    ),
]


@app.command()
def solve(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file, or a library name such as 'default'.")],
    out_dir: OutOpt = DEFAULT_RUNS,
    apply: ApplyOpt = None,
    dataset: DatasetOpt = None,
    time_limit: TimeOpt = None,
    gap: GapOpt = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Solve a scenario and write a new run folder (GeoPackage, GeoJSON, CSV, summary.json, report.html)."""
    from planner.api import solve_scenario
    from planner.outputs import write_run

    progress = _Progress(quiet or as_json)
    with _user_errors():
        sc = _load(scenario, apply, time_limit, gap)
        _check_out(out_dir)
        ds = _load_dataset(dataset)
        plan = solve_scenario(sc, ds, progress=progress)
        progress("writing results")
        folder = write_run(plan, sc, ds.zones, out_dir, manifest=ds.manifest)
    if as_json:
        print(json.dumps({**plan.summary(), "run_folder": str(folder)}, default=str))
    elif not quiet:
        _print_table(_kpi_table([plan], [sc.name]))
        out.print(f"{plan.message}")
        out.print(f"results: {folder}")
    _say_why_no_plan(plan.status, plan.message, plan.has_solution)
    raise typer.Exit(_exit_code(plan))


@app.command()
def compare(
    scenarios: Annotated[list[str], typer.Argument(help="Two or more scenario files or library names.")],
    out_dir: OutOpt = DEFAULT_RUNS,
    dataset: DatasetOpt = None,
    time_limit: TimeOpt = None,
    gap: GapOpt = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Solve several scenarios and write their KPIs side by side with differences and a difference map."""
    from planner.api import solve_scenario
    from planner.tradeoffs import write_comparison

    if len(scenarios) < 2:
        raise _fail("compare needs at least two scenarios")
    progress = _Progress(quiet or as_json)
    with _user_errors():
        scs = [_load(s, None, time_limit, gap) for s in scenarios]
        _check_out(out_dir)
        ds = _load_dataset(dataset)
        plans = []
        for sc in scs:
            progress(f"scenario {sc.name}")
            plans.append(solve_scenario(sc, ds, progress=progress))
        folder = write_comparison(plans, scs, ds.zones, out_dir, manifest=ds.manifest)
    if as_json:
        print(json.dumps({"run_folder": str(folder), "plans": [p.summary() for p in plans]}, default=str))
    elif not quiet:
        _print_table(_kpi_table(plans, [s.name for s in scs]))
        out.print(f"results: {folder}")
    for sc, plan in zip(scs, plans, strict=True):
        _say_why_no_plan(plan.status, plan.message, plan.has_solution, f"{sc.name}: ")
    raise typer.Exit(EXIT_OK if all(p.has_solution for p in plans) else max(_exit_code(p) for p in plans))


@app.command()
def frontier(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file or library name.")],
    steps: Annotated[int, typer.Option(help="Number of budget levels.")] = 6,
    budget: Annotated[
        list[float] | None, typer.Option("--budget", help="Explicit annual budget in pounds (repeatable).")
    ] = None,
    out_dir: OutOpt = DEFAULT_RUNS,
    apply: ApplyOpt = None,
    dataset: DatasetOpt = None,
    time_limit: TimeOpt = None,
    gap: GapOpt = None,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Trace the cost-versus-access frontier by stepping the budget; writes the curve as a chart and a table."""
    from planner.tradeoffs import budget_frontier, budget_label, write_frontier

    progress = _Progress(quiet or as_json)
    with _user_errors():
        sc = _load(scenario, apply, time_limit, gap)
        _check_out(out_dir)
        ds = _load_dataset(dataset)
        curve = budget_frontier(sc, ds, steps=steps, budgets=budget, progress=progress)
        folder = write_frontier(curve, sc, out_dir)
    if as_json:
        from planner.outputs import clean_for_json  # NaN (no plan, no limit) is not JSON: null, as in frontier.json

        points = clean_for_json(curve.to_dict(orient="records"))
        print(json.dumps({"run_folder": str(folder), "points": points}, default=str, allow_nan=False))
    elif not quiet:
        _print_table(_frontier_table(curve))
        out.print(f"results: {folder}")
    solved = curve["status"].map(lambda status: SolveStatus(status).has_solution)
    for point, ok in zip(curve.to_dict(orient="records"), solved, strict=True):
        _say_why_no_plan(point["status"], point["message"], bool(ok), f"budget {budget_label(point['budget'])}: ")
    if solved.any():
        raise typer.Exit(EXIT_OK)
    infeasible = (curve["status"] == str(SolveStatus.INFEASIBLE)).any()
    raise typer.Exit(EXIT_INFEASIBLE if infeasible else EXIT_NO_PLAN)


@app.command()
def validate(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file or library name.")],
    apply: ApplyOpt = None,
    dataset: DatasetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a scenario: keys, values, site ids, localities and the arithmetic of its requirements."""
    from planner.checks import check_inputs
    from planner.inputs import build_inputs

    with _user_errors():
        sc = _load(scenario, apply, None)
        ds = _load_dataset(dataset)
        if sc.sites.extra_file:
            ds = ds.with_sites_file(Path(sc.sites.extra_file))
        inp = build_inputs(ds, sc)
        problems = check_inputs(inp)
    result = {
        "scenario": sc.name,
        "valid": not problems,
        "size": inp.size(),
        "problems": [{"requirement": p.requirement, "message": p.message, "shortfall": p.shortfall} for p in problems],
    }
    if as_json:
        print(json.dumps(result, default=str))
    else:
        if problems:
            for p in problems:
                err.print(f"[bold red]cannot be met:[/] {p.message}", highlight=False, soft_wrap=True)
        else:
            out.print(f"{sc.name}: valid ({inp.size()})")
    raise typer.Exit(EXIT_OK if not problems else EXIT_INFEASIBLE)


@app.command("scenarios")
def list_scenarios() -> None:
    """List the scenario library with the question each one answers."""
    from planner.scenario import LIBRARY_DIR, load_scenario, scenario_library, scenario_overrides

    table = Table(title=f"Scenario library ({LIBRARY_DIR})")
    table.add_column("name")
    table.add_column("question")
    table.add_column("overrides")
    with _user_errors():
        for path in sorted(scenario_library().values()):
            sc = load_scenario(path)
            table.add_row(path.stem, sc.question, ", ".join(scenario_overrides(path)))
    out.print(table)


def main() -> None:
    """Entry point for ``python -m planner``."""
    sys.exit(app())
