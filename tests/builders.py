"""Small hand-built workspaces in metres around a spot in Shanxi, stored in WGS-84."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from servicegrid.geo.crs import metric_crs_for_lonlat

CRS = metric_crs_for_lonlat(113.6, 37.7)
X0, Y0 = gpd.GeoSeries([shapely.Point(113.6, 37.7)], crs=4326).to_crs(CRS).iloc[0].coords[0]


def frame(records: list[dict], geoms: list) -> gpd.GeoDataFrame:
    """A layer built in metres around the origin, stored in WGS-84."""
    shifted = [shapely.affinity.translate(g, X0, Y0) for g in geoms]
    return gpd.GeoDataFrame(pd.DataFrame(records), geometry=shifted, crs=CRS).to_crs(4326)


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(x0, y0, x1, y1)


def clean_layers() -> dict[str, gpd.GeoDataFrame]:
    """Two townships, each split into two villages; grids tile the villages; one compound each."""
    townships = frame(
        [
            {"id": "T1", "name": "青山镇", "code": "140724100"},
            {"id": "T2", "name": "城关街道", "code": "140724101"},
        ],
        [box(0, 0, 2000, 2000), box(2000, 0, 4000, 2000)],
    )
    villages = frame(
        [
            {"id": "V1", "name": "东村", "township_id": "T1", "code": "140724100201", "households": 300},
            {"id": "V2", "name": "西村", "township_id": "T1", "code": "140724100202", "households": 250},
            {"id": "V3", "name": "新华社区", "township_id": "T2", "code": "140724101001", "households": 900},
            {"id": "V4", "name": "和平社区", "township_id": "T2", "code": "140724101002", "households": 800},
        ],
        [box(0, 0, 1000, 2000), box(1000, 0, 2000, 2000), box(2000, 0, 3000, 2000), box(3000, 0, 4000, 2000)],
    )
    grids = frame(
        [{"id": f"G{i}", "village_id": v, "households": 150} for i, v in enumerate(["V1", "V1", "V2", "V2"])],
        [
            box(0, 0, 1000, 1000),
            box(0, 1000, 1000, 2000),
            box(1000, 0, 2000, 1000),
            box(1000, 1000, 2000, 2000),
        ],
    )
    compounds = frame(
        [{"id": "C1", "name": "幸福小区", "village_id": "V3", "households": 400, "population": 1100}],
        [box(2100, 100, 2400, 400)],
    )
    facilities = frame(
        [
            {"id": "F1", "name": "青山镇党群服务中心", "tier": "town_center", "township_id": "T1"},
            {"id": "F2", "name": "新华社区党群服务中心", "tier": "community_center", "village_id": "V3"},
        ],
        [shapely.Point(500, 500), shapely.Point(2500, 500)],
    )
    return {
        "townships": townships,
        "villages": villages,
        "grids": grids,
        "compounds": compounds,
        "facilities": facilities,
    }


def roads(lines: list[shapely.LineString]):
    """A roads layer noded at every crossing, so that crossing paths connect."""
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(lines)))
    return frame([{"id": f"R{i}", "highway": "footway"} for i in range(len(noded))], list(noded))


def lattice(step: float = 100, size: float = 2000):
    xs = np.arange(0, size + 1, step)
    return roads(
        [shapely.LineString([(x, 0), (x, size)]) for x in xs]
        + [shapely.LineString([(0, y), (size, y)]) for y in xs]
    )
