"""A hand-built county with walking distances known by hand, and apps serving copies of it.

In metres from the origin (stored in WGS-84, see tests/builders.py): two townships side by side
(T1 0–2000, T2 2000–4000), villages V1 and V2 (rural) in T1 and communities V3 and V4 in T2. The
main street runs along y = 1000 from x = 0 to 3000; a side street runs north from (500, 1000) to
(500, 1800); a short path in V4 from (3200, 500) to (3800, 500) is connected to nothing.

Facilities (offset = distance to the street):
  F1 village center at (200, 1010)    → snaps to (200, 1000), 10 m
  F2 village center at (1100, 990)    → (1100, 1000), 10 m
  F3 community center at (2500, 1005) → (2500, 1000), 5 m
  F4 compound station at (505, 1800)  → (500, 1800), 5 m (end of the side street)
  F5 planned village center at (900, 1000): planned, never counted

From P = (800, 1030) (in V1, 30 m from the street): F2 340 m (30 + 300 + 10), F1 640 m
(30 + 600 + 10), F4 1,135 m (30 + 300 + 800 + 5), F3 1,735 m (30 + 1700 + 5).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from servicegrid.geo.workspace import WorkspaceSettings, write_layers
from tests.builders import CRS, X0, Y0, box, frame, roads

P = (800.0, 1030.0)
KEY = "test-key-0123456789"


def lonlat(x: float, y: float) -> tuple[float, float]:
    """WGS-84 of a point given in the county's metres."""
    t = Transformer.from_crs(CRS, 4326, always_xy=True)
    lon, lat = t.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def metres(lon: float, lat: float) -> tuple[float, float]:
    """The county's metres of a WGS-84 point."""
    t = Transformer.from_crs(4326, CRS, always_xy=True)
    x, y = t.transform(lon, lat)
    return float(x - X0), float(y - Y0)


def route_length(coords: list[list[float]]) -> float:
    """Length in metres of a WGS-84 LineString."""
    t = Transformer.from_crs(4326, CRS, always_xy=True)
    xy = np.array([t.transform(*c) for c in coords])
    return float(np.hypot(*np.diff(xy, axis=0).T).sum())


def county_layers() -> dict[str, gpd.GeoDataFrame]:
    townships = frame(
        [
            {"id": "T1", "name": "青山镇", "code": "140724100"},
            {"id": "T2", "name": "城关街道", "code": "140724101"},
        ],
        [box(0, 0, 2000, 2000), box(2000, 0, 4000, 2000)],
    )
    villages = frame(
        [
            {"id": "V1", "name": "东村", "township_id": "T1", "kind": "village", "households": 300},
            {"id": "V2", "name": "西村", "township_id": "T1", "kind": "village", "households": 250},
            {"id": "V3", "name": "新华社区", "township_id": "T2", "kind": "community", "households": 900},
            {"id": "V4", "name": "和平社区", "township_id": "T2", "kind": "community", "households": 800},
        ],
        [box(0, 0, 1000, 2000), box(1000, 0, 2000, 2000), box(2000, 0, 3000, 2000), box(3000, 0, 4000, 2000)],
    )
    compounds = frame(
        [{"id": "C1", "name": "幸福小区", "village_id": "V3", "households": 400, "population": 1100}],
        [box(2400, 1100, 2600, 1300)],
    )
    gates = frame([{"id": "G1", "compound_id": "C1"}], [shapely.Point(2450, 1100)])
    settlements = frame(
        [
            {"id": "S1", "name": "张家庄", "village_id": "V1", "households": 60},
            {"id": "S2", "name": "李家庄", "village_id": "V2", "households": 80},
        ],
        [box(100, 1100, 300, 1300), box(1900, 1200, 2000, 1290)],
    )
    facilities = frame(
        [
            {
                "id": "F1",
                "name": "东村党群服务中心",
                "tier": "village_center",
                "floor_area_m2": 260,
                "opening_hours": "Mo-Fr 08:30-17:30",
            },
            {"id": "F2", "name": "西村党群服务中心", "tier": "村级党群服务中心", "floor_area_m2": 120},
            {"id": "F3", "name": "新华社区党群服务中心", "tier": "community_center", "address": "新华路1号"},
            {"id": "F4", "name": "东村红扁担驿站", "tier": "compound_station"},
            {"id": "F5", "name": "规划站", "tier": "village_center", "status": "规划"},
        ],
        [
            shapely.Point(200, 1010),
            shapely.Point(1100, 990),
            shapely.Point(2500, 1005),
            shapely.Point(505, 1800),
            shapely.Point(900, 1000),
        ],
    )
    streets = roads(
        [
            shapely.LineString([(0, 1000), (3000, 1000)]),
            shapely.LineString([(500, 1000), (500, 1800)]),
            shapely.LineString([(3200, 500), (3800, 500)]),
        ]
    )
    return {
        "townships": townships,
        "villages": villages,
        "compounds": compounds,
        "gates": gates,
        "settlements": settlements,
        "facilities": facilities,
        "roads": streets,
    }


@pytest.fixture(scope="session")
def county_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The county workspace, written once (tests that change it use a copy)."""
    path = tmp_path_factory.mktemp("county") / "county.gpkg"
    write_layers(path, county_layers(), settings=WorkspaceSettings(name="测试县"))
    return path


@pytest.fixture
def county_copy(county_file: Path, tmp_path: Path) -> Path:
    """A copy of the county workspace that a test may change."""
    path = tmp_path / "county.gpkg"
    shutil.copyfile(county_file, path)
    return path


@pytest.fixture(scope="session")
def app(county_file: Path):
    """The read-only service of the county (shared by the tests that only read)."""
    from servicegrid.api import create_app

    return create_app(county_file, lang="en")


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c
