"""Reading and validating a county-sized workspace: 10k polygons and 1k facilities.

Run: .venv/bin/python benchmarks/workspace_bench.py [--repeat 5]
Builds the workspace in a temporary folder (townships → villages → grids and compounds on a regular
lattice with jitter), writes it as a GeoPackage, then times read_workspace, fill_parent_ids and
validate_layers, the steps `servicegrid validate` runs, ``--repeat`` times in the same process
(the file is in the page cache after it is written). No other tool is compared. Standard output
is a Markdown table (best and median wall time per step) with the load average before and after.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from _common import LoadAverage, command_line, machine_line, median, seconds, table

from servicegrid.geo.crs import metric_crs_for_lonlat
from servicegrid.geo.hierarchy import fill_parent_ids
from servicegrid.geo.validate import validate_layers
from servicegrid.geo.workspace import read_workspace, write_layers

CRS = metric_crs_for_lonlat(113.6, 37.7)


def lattice(n_x: int, n_y: int, size: float, *, prefix: str, shrink: float = 0.0) -> gpd.GeoDataFrame:
    ix, iy = np.meshgrid(np.arange(n_x), np.arange(n_y))
    x0, y0 = ix.ravel() * size, iy.ravel() * size
    boxes = shapely.box(x0 + shrink, y0 + shrink, x0 + size - shrink, y0 + size - shrink)
    ids = [f"{prefix}{i}" for i in range(len(boxes))]
    return gpd.GeoDataFrame(
        {"id": ids}, geometry=gpd.GeoSeries(boxes).translate(400_000, 4_170_000).array, crs=CRS
    )


def build() -> dict[str, gpd.GeoDataFrame]:
    rng = np.random.default_rng(0)
    townships = lattice(3, 2, 10_000, prefix="T")
    villages = lattice(30, 20, 1_000, prefix="V")  # 600 villages
    grids = lattice(60, 40, 500, prefix="G")  # 2,400 grids
    compounds = lattice(120, 58, 250, prefix="C", shrink=40)  # 6,960 compounds
    n_fac = 1_000
    fx = rng.uniform(0, 30_000, n_fac) + 400_000
    fy = rng.uniform(0, 20_000, n_fac) + 4_170_000
    tiers = rng.choice(["compound_station", "village_center", "community_center"], n_fac)
    facilities = gpd.GeoDataFrame(
        {"id": [f"F{i}" for i in range(n_fac)], "tier": tiers, "floor_area_m2": rng.uniform(20, 900, n_fac)},
        geometry=shapely.points(fx, fy),
        crs=CRS,
    )
    households = pd.array(rng.integers(50, 900, len(compounds)), dtype="Int64")
    compounds = compounds.assign(households=households, population=households * 3)
    layers = {
        "townships": townships,
        "villages": villages,
        "grids": grids,
        "compounds": compounds,
        "facilities": facilities,
    }
    return {name: frame.to_crs(4326) for name, frame in layers.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of read + fill + validate")
    args = parser.parse_args()
    load = LoadAverage()
    layers = build()
    polygons = sum(len(f) for n, f in layers.items() if n != "facilities")
    steps: dict[str, list[float]] = {"read": [], "fill": [], "validate": [], "total": []}
    findings = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "county.gpkg"
        t = time.perf_counter()
        write_layers(path, layers)
        t_write = time.perf_counter() - t
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            ws = read_workspace(path)
            t1 = time.perf_counter()
            filled = fill_parent_ids(ws).workspace
            t2 = time.perf_counter()
            report = validate_layers(filled)
            t3 = time.perf_counter()
            findings = len(report.findings)
            steps["read"].append(t1 - t0)
            steps["fill"].append(t2 - t1)
            steps["validate"].append(t3 - t2)
            steps["total"].append(t3 - t0)
    load.stop()
    labels = {
        "read": "`read_workspace`",
        "fill": "`fill_parent_ids`",
        "validate": f"`validate_layers` ({findings} findings)",
        "total": "read + fill + validate",
    }
    print("## workspace_bench\n")
    print(
        f"{command_line()}: {polygons:,} polygons and "
        f"{len(layers['facilities']):,} facilities in a GeoPackage (written in {seconds(t_write)}). "
        f"{machine_line('geopandas', 'shapely', 'pyogrio')}.\n"
    )
    print(load.line() + "\n")
    print(
        table(
            ["step", "best", f"median of {args.repeat}"],
            [[labels[k], seconds(min(v)), seconds(median(v))] for k, v in steps.items()],
        )
    )


if __name__ == "__main__":
    main()
