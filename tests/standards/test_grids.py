"""Grid checks: household ranges for urban and rural grids, grid workers, micro-grid size and nesting."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from servicegrid.standards.grids import audit_grids

# CGCS2000 / 3-degree Gauss-Kruger CM 114E: the metric CRS servicegrid picks for this area, so
# areas below are exact in metres.
GK = "EPSG:4547"
X, Y = 500_000.0, 3_874_000.0


@pytest.fixture
def layers():
    villages = gpd.GeoDataFrame(
        {"id": ["V1", "C1"], "township_id": ["T1", "T2"], "kind": ["village", "community"]},
        geometry=[box(X, Y, X + 150, Y + 300), box(X + 150, Y, X + 400, Y + 300)],
        crs=GK,
    )
    grids = gpd.GeoDataFrame(
        {
            "id": ["G1", "G2", "G3", "G4"],
            "village_id": ["V1", "C1", "C1", "ZZ"],
            "kind": ["综合网格", "ordinary", "专属网格", None],
            "households": [250, 600, 50, 300],
            "population": [700, 2600, 120, None],
            "grid_workers": [1, 0, None, 1],
        },
        geometry=[
            box(X, Y, X + 100, Y + 100),
            box(X + 200, Y, X + 300, Y + 100),
            box(X + 200, Y + 100, X + 300, Y + 200),
            box(X, Y + 200, X + 100, Y + 300),
        ],
        crs=GK,
    )
    micro = gpd.GeoDataFrame(
        {
            "id": ["M1", "M2", "M3", "M4", "M5"],
            "grid_id": ["G1", "G1", None, "GX", None],
            "households": [10, 30, 8, 12, None],
        },
        geometry=[
            box(X, Y, X + 20, Y + 20),  # inside G1
            box(X + 90, Y, X + 110, Y + 20),  # half in G1
            box(X + 210, Y + 10, X + 230, Y + 30),  # in G2, no id recorded
            box(X, Y, X + 10, Y + 10),  # names a grid that does not exist
            box(X + 500, Y + 500, X + 510, Y + 510),  # in no grid
        ],
        crs=GK,
    )
    return grids, micro, villages


def test_grid_checks(layers, preset):
    grids, micro, villages = layers
    got = audit_grids(grids, micro, villages, preset).grids.set_index("id")
    assert got["setting"].tolist() == ["rural", "urban", "dedicated", "unknown"]
    assert got.loc["G1", ["households_min", "households_max"]].tolist() == [100.0, 300.0]
    assert got.loc["G2", ["households_min", "households_max"]].tolist() == [300.0, 500.0]
    assert got["households_ok"].tolist() == [True, False, True, True]
    assert got["population_ok"].tolist() == [True, False, True, True]
    assert got["workers_ok"].tolist() == [True, False, False, True]
    assert got["ok"].tolist() == [True, False, False, True]
    assert got["n_microgrids"].tolist() == [2, 1, 0, 0]
    assert got.loc["G2", "problem"] == "600户，应为300–500户；人口超过2500；网格员少于1人"
    assert got.loc["G3", "problem"] == "未填报网格员"
    assert got.loc["G4", "problem"] == "未知城乡类型（所属村社区不明）"
    assert got["township_id"].tolist() == ["T1", "T2", "T2", ""]


def test_microgrid_checks(layers, preset):
    grids, micro, villages = layers
    got = audit_grids(grids, micro, villages, preset).microgrids.set_index("id")
    assert got["grid_id"].tolist()[:4] == ["G1", "G1", "G2", "GX"]
    assert got["grid_id_source"].tolist() == ["recorded", "recorded", "spatial", "recorded", "none"]
    assert got["size_ok"].tolist() == [True, False, True, True, False]
    assert got.loc["M1", "nested_share"] == pytest.approx(1.0)
    assert got.loc["M2", "nested_share"] == pytest.approx(0.5)
    assert np.isnan(got.loc["M4", "nested_share"])
    assert got["nested_ok"].tolist() == [True, False, True, False, False]
    assert got.loc["M2", "problem"] == "30户，应为5–20户；仅50%面积在所属网格内"
    assert got.loc["M4", "problem"] == "所属网格编号不存在"
    assert got.loc["M5", "problem"] == "未填报户数；不在任何网格内"


def test_nesting_is_measured_in_metres_from_wgs84(layers, preset):
    grids, micro, villages = layers
    got = audit_grids(grids.to_crs(4326), micro.to_crs(4326), villages.to_crs(4326), preset).microgrids
    assert got.set_index("id").loc["M2", "nested_share"] == pytest.approx(0.5, abs=1e-4)


def test_by_township_and_english(layers, preset):
    grids, micro, villages = layers
    result = audit_grids(grids, micro, villages, preset, lang="en")
    by = result.by_township.set_index("township_id")
    assert by.loc["T2", ["grids", "grids_ok", "households_out_of_range", "without_worker"]].tolist() == [
        2,
        0,
        1,
        2,
    ]
    assert by.loc["T1", ["microgrids", "microgrids_size_off", "microgrids_not_nested"]].tolist() == [2, 1, 1]
    assert result.grids.set_index("id").loc["G2", "problem"] == (
        "600 households, expected 300–500; population above 2500; fewer than 1 grid worker(s)"
    )


def test_without_microgrids(layers, preset):
    grids, _, villages = layers
    result = audit_grids(grids, None, villages, preset)
    assert result.microgrids.empty
    assert result.grids["n_microgrids"].tolist() == [0, 0, 0, 0]
