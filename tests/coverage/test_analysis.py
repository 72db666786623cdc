"""Walking coverage on small hand-built networks whose distances are known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from servicegrid.coverage.analysis import coverage_tiers, measure_layers
from servicegrid.coverage.sources import network_from_lines
from servicegrid.errors import InputError
from servicegrid.geo.workspace import Workspace, WorkspaceSettings
from servicegrid.standards.loader import load_preset
from tests.builders import box, frame, lattice, roads

PRESET = load_preset("cn-default")


def run(layers, *, settings=None, network=True, **kwargs):
    ws = Workspace(None, layers, settings or WorkspaceSettings())
    net = network_from_lines(layers["roads"], crs=ws.metric_crs) if network else None
    return measure_layers(ws, PRESET, network=net, **kwargs)


def row(result, unit_id, tier):
    rows = result.units[(result.units["unit_id"] == unit_id) & (result.units["tier"] == tier)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_walk_on_a_lattice_is_manhattan_not_straight():
    layers = {
        "roads": lattice(),
        "settlements": frame([{"id": "S1", "households": 40}], [shapely.Point(1300, 1400)]),
        "facilities": frame([{"id": "F1", "tier": "village_center"}], [shapely.Point(1000, 1000)]),
    }
    got = row(run(layers), "S1", "village_center")
    assert got["walk_m"] == pytest.approx(700.0)
    assert got["straight_m"] == pytest.approx(500.0)
    assert got["facility_id"] == "F1"
    assert bool(got["covered"])  # 700 m is inside the 1 km "last kilometre"


def test_a_river_with_one_bridge_makes_the_other_bank_far():
    south, north = 0.0, 100.0
    paths = [
        shapely.LineString([(0, south), (2000, south)]),
        shapely.LineString([(0, north), (2000, north)]),
        shapely.LineString([(1500, south), (1500, north)]),  # the only bridge
    ]
    layers = {
        "roads": roads(paths),
        "compounds": frame([{"id": "C1", "households": 300}], [box(50, 110, 250, 300)]),
        "gates": frame([{"id": "G1", "compound_id": "C1"}], [shapely.Point(100, north)]),
        "facilities": frame([{"id": "F1", "tier": "compound_station"}], [shapely.Point(100, south)]),
    }
    result = run(layers)
    got = row(result, "C1", "compound_station")
    assert got["walk_m"] == pytest.approx(1400 + 100 + 1400)  # to the bridge, across, and back
    assert got["straight_m"] == pytest.approx(110.0)  # compound edge to the station, across the water
    assert not bool(got["covered"])
    gap = result.gaps[(result.gaps["unit_id"] == "C1") & (result.gaps["tier"] == "compound_station")].iloc[0]
    assert gap["gap"] == "last_hundred_meters"
    assert gap["to_go_m"] == pytest.approx(2900 - 300)
    assert gap["households"] == 300


def test_gates_decide_where_a_compound_is_measured_from():
    layers = {
        "roads": lattice(),
        "compounds": frame([{"id": "C1", "households": 500}], [box(410, 410, 790, 790)]),
        "facilities": frame([{"id": "F1", "tier": "compound_station"}], [shapely.Point(0, 600)]),
    }
    # Without gates: the nearest point where the boundary meets a path (x = 500, y = 600 side).
    no_gate = row(run(layers), "C1", "compound_station")
    layers["gates"] = frame([{"id": "G1", "compound_id": "C1"}], [shapely.Point(700, 790)])
    with_gate = row(run(layers), "C1", "compound_station")
    # The path y = 600 crosses the west side at (410, 600): 410 m from the station at (0, 600).
    assert no_gate["walk_m"] == pytest.approx(410.0)
    # The gate (700, 790) is on the path x = 700: down 190 m to y = 600, then 700 m west.
    assert with_gate["walk_m"] == pytest.approx(190 + 700)


def test_a_station_inside_the_compound_is_at_distance_zero():
    layers = {
        "roads": lattice(),
        "compounds": frame([{"id": "C1", "households": 500}], [box(410, 410, 790, 790)]),
        "facilities": frame([{"id": "F1", "tier": "compound_station"}], [shapely.Point(600, 600)]),
    }
    got = row(run(layers), "C1", "compound_station")
    assert got["walk_m"] == 0.0
    assert bool(got["doorstep"])


def test_higher_tiers_stand_in_and_planned_ones_count_only_on_request():
    layers = {
        "roads": lattice(),
        "compounds": frame([{"id": "C1", "households": 500}], [box(1010, 1010, 1090, 1090)]),
        "gates": frame([{"id": "G1", "compound_id": "C1"}], [shapely.Point(1050, 1010)]),
        "facilities": frame(
            [
                {"id": "F1", "tier": "社区党群服务中心"},  # a community center may stand in for a station
                {"id": "F2", "tier": "compound_station", "status": "planned"},
            ],
            [shapely.Point(1200, 1000), shapely.Point(1050, 1000)],
        ),
    }
    existing = row(run(layers), "C1", "compound_station")
    assert existing["facility_id"] == "F1"
    assert existing["walk_m"] == pytest.approx(10 + 150)  # gate 10 m off the path y = 1000, then east
    assert bool(existing["covered"])
    planned = row(run(layers, include_planned=True), "C1", "compound_station")
    assert planned["facility_id"] == "F2"
    assert planned["walk_m"] == pytest.approx(10.0)  # both on the same edge


def test_radius_override_from_the_workspace_settings():
    layers = {
        "roads": lattice(),
        "settlements": frame([{"id": "S1"}], [shapely.Point(1300, 1400)]),
        "facilities": frame([{"id": "F1", "tier": "village_center"}], [shapely.Point(1000, 1000)]),
    }
    tight = WorkspaceSettings(radii_m={"village_center": 500.0})
    got = row(run(layers, settings=tight), "S1", "village_center")
    assert got["radius_m"] == 500.0
    assert not bool(got["covered"])
    assert got["reason"] == "700 m on foot, beyond the 500 m radius"
    with pytest.raises(InputError, match="radii_m names unknown tier"):
        coverage_tiers(PRESET, radii_m={"space_port": 1.0})


def test_points_far_from_every_path_are_unreachable_with_the_distance():
    layers = {
        "roads": lattice(size=1000),
        "settlements": frame(
            [{"id": "S1"}, {"id": "S2"}], [shapely.Point(1000, 1800), shapely.Point(500, 600)]
        ),
        "facilities": frame([{"id": "F1", "tier": "village_center"}], [shapely.Point(500, 500)]),
    }
    got = row(run(layers), "S1", "village_center")
    assert got["reason"] == "unreachable: 800 m from the nearest path"
    assert not bool(got["covered"])
    assert pd.isna(got["walk_m"])


def test_without_a_network_straight_lines_times_detour_are_marked_euclidean():
    layers = {
        "roads": lattice(),
        "settlements": frame(
            [{"id": "S1"}, {"id": "S2"}], [shapely.Point(1300, 1400), shapely.Point(1900, 1000)]
        ),
        "facilities": frame([{"id": "F1", "tier": "village_center"}], [shapely.Point(1000, 1000)]),
    }
    result = run(layers, network=False, detour_factor=1.25)
    got = row(result, "S1", "village_center")
    assert got["method"] == "euclidean"
    assert got["walk_m"] == pytest.approx(625.0)
    assert any("no walking network" in n for n in result.notes)
    assert set(result.summary["method"]) == {"euclidean"}  # beside every figure, not only per unit
    # beyond the radius, the reason says how the distance was found: never "on foot"
    far = row(result, "S2", "village_center")
    assert far["walk_m"] == pytest.approx(1125.0)
    assert far["reason"] == (
        "1,125 m estimated from the straight line (no walking network), beyond the 1,000 m radius"
    )


def test_a_network_of_another_place_is_refused():
    layers = {
        "roads": lattice(),
        "settlements": frame([{"id": "S1"}], [shapely.Point(90_000, 90_000)]),
        "facilities": frame([{"id": "F1", "tier": "village_center"}], [shapely.Point(90_100, 90_000)]),
    }
    with pytest.raises(InputError, match="does not overlap the workspace"):
        run(layers)


def test_summary_counts_households_and_rates_per_township_and_village():
    layers = {
        "roads": lattice(),
        "villages": frame(
            [
                {"id": "V1", "township_id": "T1", "kind": "community"},
                {"id": "V2", "township_id": "T1", "kind": "community"},
            ],
            [box(0, 0, 1000, 2000), box(1000, 0, 2000, 2000)],
        ),
        "compounds": frame(
            [
                {"id": "C1", "village_id": "V1", "households": 300},
                {"id": "C2", "village_id": "V1", "households": 100},
                {"id": "C3", "village_id": "V2", "households": 600},
            ],
            [box(110, 110, 190, 190), box(710, 1710, 790, 1790), box(1210, 110, 1290, 190)],
        ),
        "facilities": frame([{"id": "F1", "tier": "compound_station"}], [shapely.Point(150, 150)]),
    }
    result = run(layers)
    summary = result.summary
    stations = summary[(summary["tier"] == "compound_station") & (summary["unit_layer"] == "compounds")]
    county = stations[stations["level"] == "county"].iloc[0]
    assert (county["units"], county["units_covered"]) == (3, 1)
    assert county["households"] == 1000
    assert county["household_rate"] == pytest.approx(0.3)
    by_village = stations[stations["level"] == "village"].set_index("area_id")
    assert by_village.loc["V1", "household_rate"] == pytest.approx(0.75)
    assert by_village.loc["V2", "household_rate"] == 0.0
    assert stations[stations["level"] == "township"].iloc[0]["households_uncovered"] == 700


def test_a_tier_without_facilities_gives_rows_that_say_why():
    layers = {
        "roads": lattice(),
        "compounds": frame([{"id": "C1", "households": 500}], [box(410, 410, 790, 790)]),
        "facilities": frame([{"id": "F1", "tier": "activity_room"}], [shapely.Point(600, 600)]),
    }
    result = run(layers)  # an activity room does not stand in for a compound station
    got = row(result, "C1", "compound_station")
    assert got["reason"] == "no facility of this tier"
    assert not bool(got["covered"])
    assert pd.isna(got["walk_m"])  # never an infinite distance in the output
    assert np.isfinite(result.units["walk_m"].dropna()).all()
    assert (
        "compound_station: no facility of this tier or a stand-in serves today; every unit is a gap"
        in result.notes
    )
    # no settlement or village is served by a village centre here, and no note says otherwise
    assert not any(n.startswith("village_center") for n in result.notes)


def test_every_polygon_unit_is_measured_from_where_it_meets_the_paths():
    """A community that holds its own centre is at 0 m; its neighbour from its own boundary."""
    layers = {
        "roads": lattice(step=100, size=2000),
        "villages": frame(
            [
                {"id": "V1", "name": "东社区", "kind": "community", "households": 900},
                {"id": "V2", "name": "西社区", "kind": "community", "households": 700},
            ],
            [box(0, 0, 1000, 2000), box(1000, 0, 2000, 2000)],
        ),
        "facilities": frame([{"id": "F1", "tier": "community_center"}], [shapely.Point(300, 1000)]),
    }
    result = run(layers)
    inside = row(result, "V1", "community_center")
    assert (inside["walk_m"], inside["straight_m"]) == (0.0, 0.0)
    neighbour = row(result, "V2", "community_center")
    assert neighbour["straight_m"] == pytest.approx(700.0)  # to its boundary at x = 1000
    assert neighbour["walk_m"] == pytest.approx(700.0)  # along y = 1000 to that boundary
    # the straight-line fallback starts at the same places: 700 m × the detour factor
    fallback = row(run(layers, network=False), "V2", "community_center")
    assert fallback["walk_m"] == pytest.approx(700.0 * 1.3)
    assert row(run(layers, network=False), "V1", "community_center")["walk_m"] == 0.0


def test_without_a_network_compounds_are_measured_from_their_gates():
    layers = {
        "roads": lattice(),
        "compounds": frame([{"id": "C1", "households": 300}], [box(400, 400, 600, 600)]),
        "gates": frame([{"id": "G1", "compound_id": "C1"}], [shapely.Point(500, 400)]),
        "facilities": frame([{"id": "F1", "tier": "compound_station"}], [shapely.Point(500, 200)]),
    }
    networked, fallback = (
        row(run(layers), "C1", "compound_station"),
        row(run(layers, network=False), "C1", "compound_station"),
    )
    assert networked["walk_m"] == pytest.approx(200.0)
    assert fallback["walk_m"] == pytest.approx(200.0 * 1.3)
    assert (networked["method"], fallback["method"]) == ("network", "euclidean")


def test_nested_units_count_their_households_once():
    """A compound inside a community: the county total is the register's, not the sum of both."""
    layers = {
        "roads": lattice(),
        "villages": frame(
            [{"id": "V1", "name": "新华社区", "kind": "community", "households": 1000}],
            [box(0, 0, 2000, 2000)],
        ),
        "compounds": frame([{"id": "C1", "village_id": "V1", "households": 400}], [box(400, 400, 600, 600)]),
        "facilities": frame([{"id": "F1", "tier": "community_center"}], [shapely.Point(1500, 1500)]),
    }
    summary = run(layers).summary
    county = summary[(summary["level"] == "county") & (summary["tier"] == "community_center")]
    by_layer = county.set_index("unit_layer")["households"]
    assert by_layer.to_dict() == {"all": 1000.0, "compounds": 400.0, "villages": 1000.0}


def test_point_compounds_are_measured_from_their_point_with_a_note():
    layers = {
        "roads": lattice(),
        "compounds": frame([{"id": "C1", "households": 300}], [shapely.Point(500, 400)]),
        "facilities": frame([{"id": "F1", "tier": "compound_station"}], [shapely.Point(500, 200)]),
    }
    result = run(layers)
    assert row(result, "C1", "compound_station")["walk_m"] == pytest.approx(200.0)
    assert any(n.startswith("1 compounds are given as points, without a boundary") for n in result.notes)
