"""Reading and validating a county-sized workspace: 10k polygons and 1k facilities.

Run: .venv/bin/python benchmarks/workspace_bench.py
Builds the workspace in a temporary folder (townships → villages → grids and compounds on a regular
lattice with jitter), writes it as a GeoPackage, then times read_workspace, fill_parent_ids and
validate_layers, the steps `servicegrid validate` runs.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

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
    layers = build()
    polygons = sum(len(f) for n, f in layers.items() if n != "facilities")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "county.gpkg"
        t = time.perf_counter()
        write_layers(path, layers)
        t_write = time.perf_counter() - t
        t = time.perf_counter()
        ws = read_workspace(path)
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        filled = fill_parent_ids(ws).workspace
        t_fill = time.perf_counter() - t
        t = time.perf_counter()
        report = validate_layers(filled)
        t_validate = time.perf_counter() - t
    print(f"workspace: {polygons:,} polygons, {len(layers['facilities']):,} facilities")
    print(
        f"write {t_write:.2f} s | read {t_read:.2f} s | fill parent ids {t_fill:.2f} s | "
        f"validate {t_validate:.2f} s ({len(report.findings)} findings) | "
        f"read + fill + validate {t_read + t_fill + t_validate:.2f} s"
    )


if __name__ == "__main__":
    main()
