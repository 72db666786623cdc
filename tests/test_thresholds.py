"""Every threshold with a unit placed exactly at it, and one just beyond: the limit is inclusive.

Built in whole metres in the metric CRS itself (no round trip through WGS-84), so a distance of
300 m is 300.0 exactly and a comparison that became strict would fail.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from servicegrid.coverage.sources import network_from_lines
from servicegrid.geo.hierarchy import GATE_SNAP_M, fill_parent_ids
from servicegrid.geo.workspace import Workspace, WorkspaceSettings
from servicegrid.pipeline import measure_coverage, open_workspace, plan_sites
from tests.builders import CRS, X0, Y0

OX, OY = round(X0), round(Y0)  # whole metres: every coordinate below is exact


def metric(records: list[dict], geoms: list) -> gpd.GeoDataFrame:
    moved = [shapely.affinity.translate(g, OX, OY) for g in geoms]
    return gpd.GeoDataFrame(pd.DataFrame(records), geometry=moved, crs=CRS)


def lattice_roads(step: float = 100, size: float = 1000) -> gpd.GeoDataFrame:
    xs = np.arange(0, size + 1, step)
    lines = [shapely.LineString([(x, 0), (x, size)]) for x in xs] + [
        shapely.LineString([(0, y), (size, y)]) for y in xs
    ]
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(lines)))
    return metric([{"id": f"R{i}", "highway": "footway"} for i in range(len(noded))], list(noded))


def compound_at_gate(cid: str, gate: tuple[float, float], households: int = 100) -> tuple[dict, list]:
    """A 20 m compound standing just off the path, entered through a gate at ``gate``."""
    x, y = gate
    return {"id": cid, "households": households}, [shapely.box(x + 1, y + 1, x + 21, y + 21)]


def workspace(gates: dict[str, tuple[float, float]], *, settings: WorkspaceSettings | None = None, **extra):
    compounds = [compound_at_gate(cid, xy) for cid, xy in gates.items()]
    layers = {
        "compounds": metric([c[0] for c in compounds], [c[1][0] for c in compounds]),
        "gates": metric(
            [{"id": f"G{cid}", "compound_id": cid} for cid in gates],
            [shapely.Point(xy) for xy in gates.values()],
        ),
        "facilities": metric(
            [{"id": "F", "name": "站", "tier": "compound_station", "floor_area_m2": 60.0}],
            [shapely.Point(0, 0)],
        ),
        "roads": lattice_roads(),
        **extra,
    }
    return Workspace(None, layers, settings or WorkspaceSettings())


def station_rows(ws: Workspace) -> pd.DataFrame:
    project = open_workspace(ws)
    network = network_from_lines(ws.layers["roads"], crs=CRS)
    units = measure_coverage(project, network=network).units
    return units[units["tier"] == "compound_station"].set_index("unit_id")


def test_coverage_radius_is_inclusive():
    rows = station_rows(workspace({"at": (300, 0), "beyond": (0, 300.5)}))
    assert rows.loc["at", "walk_m"] == 300.0
    assert rows.loc["beyond", "walk_m"] == 300.5
    assert rows.loc["at", "covered"]
    assert not rows.loc["beyond", "covered"]
    assert rows.loc["beyond", "reason"] == "300.5 m on foot, beyond the 300 m radius"


def test_doorstep_is_inclusive():
    rows = station_rows(workspace({"at": (100, 0), "beyond": (0, 100.5)}))
    assert rows.loc["at", "doorstep"]
    assert not rows.loc["beyond", "doorstep"]


def test_snap_limit_is_inclusive():
    settlements = metric(
        [{"id": "at", "households": 10}, {"id": "beyond", "households": 10}],
        [shapely.Point(200, -50), shapely.Point(400, -50.5)],
    )
    ws = workspace({}, settings=WorkspaceSettings(snap_limit_m=50))
    ws = ws.with_layers(
        settlements=settlements,
        compounds=ws.layers["compounds"].iloc[:0],
        gates=ws.layers["gates"].iloc[:0],
        facilities=metric([{"id": "V", "tier": "village_center"}], [shapely.Point(0, 0)]),
    )
    project = open_workspace(ws)
    units = measure_coverage(project, network=network_from_lines(ws.layers["roads"], crs=CRS)).units
    rows = units[units["tier"] == "village_center"].set_index("unit_id")
    assert rows.loc["at", "walk_m"] == 250.0
    assert np.isnan(rows.loc["beyond", "walk_m"])
    assert rows.loc["beyond", "reason"] == "unreachable: 50 m from the nearest path"


def test_planning_reach_is_inclusive_and_costs_in_wan_yuan():
    candidates = metric(
        [
            {"id": "A", "cost": "30万元", "tier": "compound_station"},
            {"id": "B", "cost": "5万元", "tier": "compound_station"},
        ],
        [shapely.Point(600, 300), shapely.Point(900, 600)],
    )
    # "at" is 300 m from A along y=0 then x=600; "beyond" is 300.5 m from B
    ws = workspace({"at": (600, 0), "beyond": (900, 900.5)}, candidates=candidates)
    # a courier station stands in for no compound station: every compound needs a new site
    ws = ws.with_layers(facilities=ws.layers["facilities"].assign(tier="courier_station"))
    project = open_workspace(ws)
    plan = plan_sites(
        project,
        tier="compound_station",
        model="set-cover",
        network=network_from_lines(ws.layers["roads"], crs=CRS),
        generate=False,  # the listed rooms alone: no station generated inside the compounds
    )
    assert plan.proposed_sites["site_id"].tolist() == ["C:A"]
    assert plan.proposed_sites["cost"].tolist() == [300_000.0]
    assert plan.uncoverable["unit_id"].tolist() == ["beyond"]


@pytest.mark.parametrize(("offset", "joined"), [(3.0, True), (GATE_SNAP_M, True), (GATE_SNAP_M + 0.5, False)])
def test_a_gate_a_few_metres_outside_its_compound_joins_it(offset, joined):
    compounds = metric([{"id": "K"}], [shapely.box(0, 0, 100, 100)])
    gates = metric([{"id": "G"}], [shapely.Point(100 + offset, 50)])
    filled = fill_parent_ids(Workspace(None, {"compounds": compounds, "gates": gates}))
    got = filled.workspace.layers["gates"]["compound_id"].iloc[0]
    assert (got == "K") if joined else pd.isna(got)
