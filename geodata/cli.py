"""``planner data build`` and ``planner data info``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from geodata.dataset import DEFAULT_DATASET_DIR, read_dataset
from geodata.errors import PlannerError
from geodata.sources import default_source_dir

data_app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@data_app.command()
def build(
    source: Annotated[
        Path | None, typer.Option(help="Raw open-data folder (default ../shared/data or $BNSSG_SOURCE_DIR).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Dataset folder to (re)build.")] = DEFAULT_DATASET_DIR,
    network: Annotated[
        str | None, typer.Option(help="Road network: .osm/.graphml file, or a place to download.")
    ] = None,
    gtfs: Annotated[Path | None, typer.Option(help="GTFS zip for public transport.")] = None,
    localities: Annotated[
        Path | None, typer.Option(help="CSV zone_code,locality overriding the derived localities.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Build the planning dataset from raw open data (atomic: a failure leaves the old dataset untouched)."""
    from geodata.build import build_dataset

    try:
        manifest = build_dataset(
            source or default_source_dir(),
            out,
            network=network,
            gtfs=gtfs,
            locality_override=localities,
            progress=not quiet,
        )
    except PlannerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not quiet:
        typer.echo(f"built {out} in {manifest['build_seconds']} s: {manifest['counts']['zones']} zones, "
                   f"{manifest['counts']['sites']} sites")  # fmt: skip


@data_app.command()
def info(
    path: Annotated[Path, typer.Option(help="Dataset folder.")] = DEFAULT_DATASET_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts and totals of a dataset, checked afresh from its tables."""
    try:
        ds = read_dataset(path)
    except PlannerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    times = ds.travel[[c for c in ds.travel.columns if c not in ("zone_code", "site_id")]].to_numpy()
    result = {
        "path": str(path),
        "zones": len(ds.zones),
        "sites": len(ds.sites),
        "sites_by_kind": {k: int(v) for k, v in ds.sites["kind"].value_counts().sort_index().items()},
        "localities": {k: int(v) for k, v in ds.zones["locality"].value_counts().sort_index().items()},
        "pop_20_64": int(ds.zones["pop_20_64"].sum()),
        "complex_people_2024": ds.manifest.get("totals", {}).get("complex_people_2024"),
        "at_risk_people_2024": ds.manifest.get("totals", {}).get("at_risk_people_2024"),
        "travel_rows": len(ds.travel),
        "travel_all_finite": bool(np.isfinite(times).all()),
        "calibration_holdout": ds.manifest.get("travel", {}).get("calibration", {}).get("holdout"),
    }
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for key, value in result.items():
            typer.echo(f"{key}: {value}")
