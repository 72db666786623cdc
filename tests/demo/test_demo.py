"""Tests for servicegrid.demo: the synthetic demo county, its size, topology and files."""

from __future__ import annotations

import re
import warnings

import networkx as nx
import numpy as np
import osmium
import pandas as pd
import pyogrio
import pytest
import shapely
from scipy import sparse

from servicegrid.demo import build_demo_county, write_demo_county
from servicegrid.demo.attributes import (
    DEMO_PRESET,
    FACILITY_ITEMS,
    FACILITY_ROOMS,
    FACILITY_WINDOWS,
    FACILITY_ZONES,
    TIERS,
)
from servicegrid.demo.places import DEMO_ORIGIN
from servicegrid.geo.conform import conform
from servicegrid.geo.schema import LAYERS
from servicegrid.geo.workspace import read_workspace
from servicegrid.standards.audit import audit_facilities, audit_layers
from servicegrid.standards.loader import load_preset
from servicegrid.standards.records import StandardsWarning

GEOM_TYPES = {
    "polygon": {"Polygon"},
    "point": {"Point"},
    "line": {"LineString"},
    "polygon_or_point": {"Polygon"},
}


@pytest.fixture(scope="module")
def county():
    return build_demo_county(seed=0)


@pytest.fixture(scope="module")
def metric(county):
    """Every layer in the county's metric CRS (read-only use)."""
    return {name: frame.to_crs(county.metric_crs) for name, frame in county.layers.items()}


@pytest.fixture(scope="module")
def written(county, tmp_path_factory):
    return write_demo_county(tmp_path_factory.mktemp("demo"), seed=0)


def _by_id(frame):
    return frame.set_index("id")


def _layers_equal(a, b):
    for name in LAYERS:
        left, right = a.layers[name], b.layers[name]
        pd.testing.assert_frame_equal(left.drop(columns="geometry"), right.drop(columns="geometry"))
        assert shapely.equals_exact(left.geometry.values, right.geometry.values, tolerance=0).all(), name


# ---------------------------------------------------------------------------------------------
# determinism and labelling
# ---------------------------------------------------------------------------------------------
def test_same_seed_gives_identical_layers(county):
    _layers_equal(county, build_demo_county(seed=0))


def test_other_seed_gives_another_county(county):
    other = build_demo_county(seed=1)
    with pytest.raises(AssertionError):
        _layers_equal(county, other)
    assert not county.layers["villages"].geometry.iloc[0].equals(other.layers["villages"].geometry.iloc[0])


def test_labelled_synthetic_and_placed_in_china(county):
    assert county.settings.synthetic is True
    assert "合成" in county.settings.name
    assert "SYNTHETIC" in county.description
    assert county.metric_crs.to_epsg() == 4547  # CGCS2000 3-degree Gauss–Krüger CM 114°E
    west, south, east, north = county.layers["townships"].total_bounds
    assert west < DEMO_ORIGIN[0] < east
    assert south < DEMO_ORIGIN[1] < north
    assert 0.3 < east - west < 0.6
    assert 0.2 < north - south < 0.4
    assert county.bounds[0] < west
    assert county.bounds[3] > north
    assert all(code.startswith("99") for code in county.layers["villages"]["code"])  # no such province


# ---------------------------------------------------------------------------------------------
# schema and size
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_follows_the_schema(county, name):
    frame = county.layers[name]
    assert list(frame.columns) == [*LAYERS[name].column_names, "geometry"]
    assert frame.crs.to_epsg() == 4326
    assert frame["id"].is_unique
    assert frame["id"].notna().all()
    assert set(frame.geom_type) <= GEOM_TYPES[LAYERS[name].geometry]
    assert frame.geometry.is_valid.all()
    assert not frame.geometry.is_empty.any()
    pd.testing.assert_frame_equal(conform(frame, name), frame)  # already canonical: labels intact


def test_sizes(county, metric):
    layers = county.layers
    villages = layers["villages"]
    assert layers["townships"]["kind"].value_counts().to_dict() == {"town": 6, "street": 3}
    assert 90 <= len(villages) <= 130
    assert (villages["kind"] == "community").sum() >= 20
    assert len(layers["compounds"]) + len(layers["settlements"]) >= 500
    assert len(layers["compounds"]) >= 200
    assert len(layers["grids"]) >= 800
    assert 1_000 <= len(layers["microgrids"]) <= 5_000
    assert len(layers["gates"]) >= len(layers["compounds"])
    assert 100 <= len(layers["candidates"]) <= 200
    coords = shapely.get_coordinates(layers["roads"].geometry.values)
    assert len(np.unique(np.round(coords * 1e7), axis=0)) >= 30_000


def test_road_classes(county):
    classes = set(county.layers["roads"]["highway"])
    assert classes == {
        "primary",
        "secondary",
        "tertiary",
        "residential",
        "service",
        "footway",
        "path",
        "track",
    }


# ---------------------------------------------------------------------------------------------
# topology
# ---------------------------------------------------------------------------------------------
def _assert_tiles(parts, parents, parent_column):
    """``parts`` cover each parent exactly (0.1 % in area) and do not overlap each other."""
    parent_area = _by_id(parents).area
    summed = parts.groupby(parent_column).geometry.apply(lambda s: s.area.sum())
    assert set(summed.index) == set(parent_area.index)
    ratio = summed / parent_area.loc[summed.index]
    assert ratio.between(0.999, 1.001).all(), ratio[~ratio.between(0.999, 1.001)]
    left, right = parts.sindex.query(parts.geometry, predicate="intersects")
    pair = left < right
    overlap = shapely.area(
        shapely.intersection(parts.geometry.values[left[pair]], parts.geometry.values[right[pair]])
    )
    assert overlap.max(initial=0) < 1.0  # m²: shared edges only


def _assert_inside(children, parents, parent_column):
    parent = _by_id(parents).geometry.loc[children[parent_column]].values
    outside = shapely.area(shapely.difference(children.geometry.values, parent))
    assert outside.max() < 1.0  # m²


def test_townships_tile_the_county(metric):
    townships = metric["townships"]
    union = shapely.union_all(townships.geometry.values)
    assert townships.area.sum() == pytest.approx(union.area, rel=1e-3)
    assert union.geom_type == "Polygon"
    assert sum(shapely.Polygon(ring).area for ring in union.interiors) < 1.0  # m²: float noise only


def test_villages_tile_their_township(metric):
    _assert_tiles(metric["villages"], metric["townships"], "township_id")


def test_grids_tile_their_village(metric):
    _assert_tiles(metric["grids"], metric["villages"], "village_id")


def test_microgrids_inside_grids(metric):
    _assert_inside(metric["microgrids"], metric["grids"], "grid_id")


def test_compounds_and_settlements_inside_villages(metric):
    _assert_inside(metric["compounds"], metric["villages"], "village_id")
    _assert_inside(metric["settlements"], metric["villages"], "village_id")
    compounds = metric["compounds"]
    assert set(metric["villages"].set_index("id").loc[compounds["village_id"], "kind"]) == {"community"}


def test_parent_ids_exist(county):
    layers = county.layers
    assert set(layers["villages"]["township_id"]) <= set(layers["townships"]["id"])
    for name in ("grids", "compounds", "settlements"):
        assert set(layers[name]["village_id"]) <= set(layers["villages"]["id"]), name
    assert set(layers["microgrids"]["grid_id"]) <= set(layers["grids"]["id"])
    assert set(layers["gates"]["compound_id"]) == set(layers["compounds"]["id"])  # every compound has a gate
    facilities = layers["facilities"]
    assert set(facilities["compound_id"].dropna()) <= set(layers["compounds"]["id"])
    township_of_village = _by_id(layers["villages"])["township_id"]
    assert (township_of_village.loc[facilities["village_id"]].to_numpy() == facilities["township_id"]).all()


def test_settlements_do_not_overlap(metric):
    settlements = metric["settlements"]
    left, right = settlements.sindex.query(settlements.geometry, predicate="intersects")
    assert (left == right).all()


def test_gates_on_compound_boundaries_and_linked_to_a_street(metric):
    gates = metric["gates"]
    compound = _by_id(metric["compounds"]).geometry.loc[gates["compound_id"]].values
    assert shapely.distance(gates.geometry.values, shapely.boundary(compound)).max() < 1.0
    roads = metric["roads"]
    streets = roads[roads["highway"].isin(["primary", "secondary", "tertiary", "residential"])]
    # the gate link (a short service road or footway) ends on a street vertex
    assert streets.sindex.nearest(gates.geometry, return_distance=True, return_all=False)[1].max() < 30.0
    vertices = {tuple(p) for p in np.round(shapely.get_coordinates(roads.geometry.values), 6)}
    assert all(tuple(p) in vertices for p in np.round(shapely.get_coordinates(gates.geometry.values), 6))


def test_walking_network_is_one_component(county):
    coords, line = shapely.get_coordinates(county.layers["roads"].geometry.values, return_index=True)
    key = np.round(coords * 1e7).astype(np.int64)
    _, node = np.unique(key, axis=0, return_inverse=True)
    same_line = line[1:] == line[:-1]
    a, b = node[:-1][same_line], node[1:][same_line]
    n = int(node.max()) + 1
    graph = sparse.coo_array((np.ones(len(a)), (a, b)), shape=(n, n))
    count, _ = sparse.csgraph.connected_components(graph, directed=False)
    assert count == 1


# ---------------------------------------------------------------------------------------------
# households and population
# ---------------------------------------------------------------------------------------------
def test_households_and_population(county):
    layers = county.layers
    compounds, settlements = layers["compounds"], layers["settlements"]
    assert compounds["households"].between(200, 2000).all()
    assert compounds["households"].max() > 1000
    assert settlements["households"].between(20, 200).all()
    for name in ("villages", "grids", "compounds", "settlements"):
        frame = layers[name]
        frame = frame[frame["households"] > 0]
        ratio = frame["population"] / frame["households"]
        slack = 1.0 / frame["households"]  # population is rounded per unit
        assert ((ratio >= 2.6 - slack) & (ratio <= 3.1 + slack)).all(), name
    villages = _by_id(layers["villages"])
    demand = pd.concat([compounds, settlements]).groupby("village_id")["households"].sum()
    assert (demand.reindex(villages.index, fill_value=0) == villages["households"]).all()
    per_village = layers["grids"].groupby("village_id")["households"].sum()
    assert (per_village.reindex(villages.index, fill_value=0) == villages["households"]).all()


def test_grid_sizes(county):
    grids, villages = county.layers["grids"], _by_id(county.layers["villages"])
    urban = villages.loc[grids["village_id"], "kind"].to_numpy() == "community"
    ordinary = grids["kind"] == "ordinary"
    assert 300 <= grids.loc[urban & ordinary, "households"].median() <= 500
    assert 100 <= grids.loc[~urban, "households"].median() <= 300
    assert set(grids["kind"]) == {"ordinary", "dedicated"}
    assert (grids.loc[~ordinary, "households"] == 0).all()  # schools, hospitals, offices
    microgrids = county.layers["microgrids"]
    assert microgrids["households"].between(5, 10).all()
    assert microgrids["households"].mean() == pytest.approx(10, abs=0.5)
    inside = microgrids.groupby("grid_id")["households"].sum()
    assert (inside <= _by_id(grids).loc[inside.index, "households"]).all()


# ---------------------------------------------------------------------------------------------
# facilities and candidates
# ---------------------------------------------------------------------------------------------
def _entries(series):
    return series.dropna().str.split("; ")


def test_facilities_of_every_tier(county, metric):
    facilities = county.layers["facilities"]
    counts = facilities["tier"].value_counts()
    assert set(counts.index) == set(TIERS)
    assert counts["county_center"] == 1
    town = facilities[facilities["tier"] == "town_center"]
    assert sorted(town["township_id"]) == sorted(county.layers["townships"]["id"])  # one each
    villages = county.layers["villages"]
    communities = villages.loc[villages["kind"] == "community", "id"]
    per_community = facilities[facilities["tier"] == "community_center"]["village_id"].value_counts()
    per_community = per_community.reindex(communities, fill_value=0)
    assert per_community.max() == 2
    assert (per_community < 2).any()
    rural = villages.loc[villages["kind"] == "village", "id"]
    with_centre = rural.isin(facilities.loc[facilities["tier"] == "village_center", "village_id"]).mean()
    assert 0.75 <= with_centre < 1.0  # most villages, not all
    stations = facilities[facilities["tier"] == "compound_station"]
    assert stations["compound_id"].notna().all()
    assert 0.2 <= stations["compound_id"].nunique() / len(county.layers["compounds"]) <= 0.6
    on = metric["facilities"]
    village_of = _by_id(metric["villages"]).geometry.loc[on["village_id"]].values
    assert shapely.within(on.geometry.values, village_of).all()
    st = on[on["tier"] == "compound_station"]
    assert shapely.within(
        st.geometry.values, _by_id(metric["compounds"]).geometry.loc[st["compound_id"]].values
    ).all()
    assert set(facilities["status"]) == {"existing", "planned"}
    assert (facilities["status"] == "existing").mean() > 0.9


def test_facility_vocabulary(county):
    facilities = county.layers["facilities"]
    for column, vocabulary in (
        ("items", FACILITY_ITEMS),
        ("windows", FACILITY_WINDOWS),
        ("zones", FACILITY_ZONES),
        ("rooms", FACILITY_ROOMS),
    ):
        used = {word for words in _entries(facilities[column]) for word in words}
        allowed = set(vocabulary) | set(vocabulary.values())
        assert used <= allowed, used - allowed
        assert used & set(vocabulary.values()), column  # mostly Chinese labels
    hours = re.compile(r"^Mo(-(Tu|We|Th|Fr|Sa|Su))? \d\d:\d\d-\d\d:\d\d(,\d\d:\d\d-\d\d:\d\d)?$")
    posted = facilities["opening_hours"].dropna()
    assert posted.str.match(hours).all()
    assert len(posted) >= 0.9 * len(facilities)  # a few stations post no hours
    assert facilities["weekend_duty"].any()
    assert not facilities["weekend_duty"].all()
    assert (facilities["floor_area_m2"] > 0).all()
    assert (
        facilities["hall_area_m2"].dropna()
        < facilities.loc[facilities["hall_area_m2"].notna(), "floor_area_m2"]
    ).all()


def test_compliance_spread(county):
    """Facilities that miss an item, are too small or miss a window exist, read from the data."""
    facilities = county.layers["facilities"].set_index("id")
    labels = {**{v: k for k, v in FACILITY_ITEMS.items()}, **{v: k for k, v in FACILITY_WINDOWS.items()}}
    as_ids = _entries(facilities["items"]).map(lambda words: {labels.get(w, w) for w in words})
    windows = _entries(facilities["windows"]).map(lambda words: {labels.get(w, w) for w in words})
    village = facilities["tier"] == "village_center"
    ten_haves = {
        "site_fixed", "sign_unified", "flag", "service_hall", "party_room",
        "council_room", "sports_ground", "rules_posted", "duty_roster", "disclosure_board",
    }  # fmt: skip
    has_all = as_ids.reindex(facilities.index).map(lambda s: isinstance(s, set) and ten_haves <= s)
    assert (village & ~has_all).sum() >= 3  # village centres missing an item of 十有
    assert (village & has_all).sum() >= 0.5 * village.sum()
    small = facilities[village & (facilities["floor_area_m2"] < 200)]
    assert len(small) >= 3
    station_small = facilities[
        (facilities["tier"] == "compound_station") & (facilities["floor_area_m2"] < 30)
    ]
    assert len(station_small) >= 2
    win = windows.reindex(facilities.index).map(lambda s: s if isinstance(s, set) else set())
    no_window = village & ~win.map(lambda s: {"general", "party_member"} <= s)
    assert no_window.sum() >= 1
    model = village & has_all & (facilities["floor_area_m2"] >= 300)
    assert model.sum() >= 5
    grades = county.facility_profile["grade"].value_counts(normalize=True)
    assert grades.between(0.15, 0.6).all()
    assert set(grades.index) == {"model", "compliant", "noncompliant"}
    reasons = set(county.facility_profile["reason"])
    assert {"missing_item", "too_small", "missing_window", "no_weekend_duty"} <= reasons


def test_profile_matches_the_attributes(county):
    facilities = county.layers["facilities"].set_index("id")
    profile = county.facility_profile.set_index("id")
    assert profile.index.equals(facilities.index)
    no_duty = profile.index[profile["reason"] == "no_weekend_duty"]
    assert not facilities.loc[no_duty, "weekend_duty"].any()
    missing = profile[profile["reason"] == "missing_item"]
    for fid, row in missing.iterrows():  # a few dozen rows
        present = set(facilities.loc[fid, "items"].split("; "))
        for item in row["missing"].split("; "):
            assert item not in present
            assert FACILITY_ITEMS[item] not in present


def test_candidates(county, metric):
    candidates = county.layers["candidates"]
    assert set(candidates["tier"]) == {"compound_station", "village_center", "community_center"}
    assert (candidates["cost"] >= 30_000).all()
    assert (candidates["cost"] <= 600_000).all()
    assert set(candidates["kind"]) >= {"vacant_public_room", "property_room", "rental", "village_collective"}
    assert set(candidates["decision"].dropna()) == {"required", "excluded"}
    stations = county.layers["facilities"].query("tier == 'compound_station'")["compound_id"]
    compounds = metric["compounds"]
    for_stations = metric["candidates"][candidates["tier"] == "compound_station"]
    assert len(for_stations) >= 0.6 * len(candidates)
    hit = compounds.sindex.query(for_stations.geometry, predicate="within")
    assert len(np.unique(hit[0])) == len(for_stations)  # each inside a compound
    in_compound = compounds["id"].to_numpy()[hit[1]]
    assert not np.isin(in_compound, stations.to_numpy()).any()  # near compounds no station serves


# ---------------------------------------------------------------------------------------------
# the audit grades every facility as it was generated
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def preset():
    return load_preset(DEMO_PRESET)


def _audit_existing(county, preset):
    """The audit of the existing facilities, joined to the profile they were generated with."""
    facilities = county.layers["facilities"]
    existing = facilities[facilities["status"] == "existing"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", StandardsWarning)  # every label, column and schedule is read
        audit = audit_facilities(existing, preset, lang="zh")
    profile = county.facility_profile.set_index("id")
    return audit.set_index("id").join(profile.add_suffix("_intended"))


@pytest.fixture(scope="module")
def audited(county, preset):
    return _audit_existing(county, preset)


def _disagreements(audited):
    wrong = audited[audited["grade"] != audited["grade_intended"]]
    return wrong[["tier", "grade_intended", "reason_intended", "grade", "reason"]].to_string()


def test_audit_grades_every_facility_as_generated(audited):
    assert len(audited) >= 200
    assert (audited["grade"] == audited["grade_intended"]).all(), _disagreements(audited)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_audit_grades_every_facility_as_generated_for_other_seeds(seed, preset):
    audited = _audit_existing(build_demo_county(seed=seed), preset)
    assert (audited["grade"] == audited["grade_intended"]).all(), _disagreements(audited)


def test_audit_grade_counts_are_realistic(audited):
    share = audited["grade"].value_counts(normalize=True)
    assert 0.20 <= share["model"] <= 0.30
    assert 0.40 <= share["compliant"] <= 0.50
    assert 0.25 <= share["noncompliant"] <= 0.35
    per_tier = pd.crosstab(audited["tier"], audited["grade"])
    assert set(per_tier.index) == set(TIERS)
    larger = per_tier[per_tier.sum(axis=1) >= 8]  # every tier but the one county centre
    assert len(larger) == len(TIERS) - 1
    assert (larger > 0).all(axis=None), per_tier  # each grade in each of them


def test_model_facilities_meet_every_model_requirement(audited, preset):
    model = audited[audited["grade"] == "model"]
    min_stars = model["tier"].map({k: t.grading.min_stars.value for k, t in preset.tiers.items()})
    assert (model["stars"] >= min_stars).all()
    assert (model["score"] >= 95).all()  # at most an optional item short
    assert (model["reason"].str.endswith("各项达到示范标准")).all()
    compliant = audited[audited["grade"] == "compliant"]
    assert compliant["reason"].str.contains("距示范型：.", regex=True).all()  # something short of model


def _failed(audited, preset):
    """Which compliant-grade checks each facility fails, as the audit reports them."""
    window_items = {
        key
        for key, item in preset.items.items()
        if item.check.kind == "set" and item.check.column == "windows"
    }

    def items(text):
        return set(text.split("; ")) - {""}

    return pd.DataFrame(
        {
            # a missing service window also fails the item "windows" where a tier requires both
            "items": audited["missing_items"].map(lambda t: bool(items(t) - window_items)),
            "floor": audited["area_shortfall_m2"].fillna(0) > 0,
            "hall": audited["hall_shortfall_m2"].fillna(0) > 0,
            "windows": audited["missing_windows"] != "",
            "zones": audited["missing_zones"] != "",
            "rooms": audited["missing_rooms"] != "",
            "hours": ~audited["hours_ok"].astype(bool),
        },
        index=audited.index,
    )


def test_noncompliant_facilities_fail_for_exactly_their_reason(audited, preset):
    failed = _failed(audited, preset)
    non = audited["grade_intended"] == "noncompliant"
    assert not failed[~non].any(axis=None)  # the others pass every compliant-grade check
    expected = {
        "missing_item": "items",
        "missing_window": "windows",
        "no_weekend_duty": "hours",
        "short_hours": "hours",
        "no_hours_posted": "hours",
    }
    too_small = audited["missing_intended"].map({"floor_area_m2": "floor", "hall_area_m2": "hall"})
    check = audited["reason_intended"].map(expected).fillna(too_small)[non]
    assert check.notna().all()
    only = failed[non].apply(lambda row: tuple(row.index[row]), axis=1)
    assert (only == check.map(lambda c: (c,))).all(), pd.DataFrame({"expected": check, "failed": only})

    def ids(series):
        return series.map(lambda t: frozenset(t.split("; ")) - {""})

    by_reason = audited[non].groupby("reason_intended")
    missing_item = by_reason.get_group("missing_item")
    assert (ids(missing_item["missing_items"]) == ids(missing_item["missing_intended"])).all()
    missing_window = by_reason.get_group("missing_window")
    assert (ids(missing_window["missing_windows"]) == ids(missing_window["missing_intended"])).all()
    problem = {
        "no_weekend_duty": "无周末值班",
        "short_hours": "工作日开放",
        "no_hours_posted": "未公示开放时间",
    }
    for reason, text in problem.items():  # the three hours reasons
        if reason in by_reason.groups:
            assert by_reason.get_group(reason)["hours_problem"].str.contains(text).all(), reason
    assert {"missing_item", "too_small", "missing_window", "short_hours", "no_hours_posted"} <= set(
        by_reason.groups
    )
    assert {"floor", "hall"} <= set(too_small.dropna())


def test_items_follow_the_preset_and_are_written_mostly_in_chinese(county, preset):
    facilities = county.layers["facilities"]
    words = _entries(facilities["items"]).explode()
    labels = {item.zh for item in preset.items.values()}
    assert words.isin(labels | set(preset.items)).all()
    assert 0.75 <= words.isin(labels).mean() <= 0.95  # some registers write the ids
    couriers = facilities.loc[facilities["tier"] == "courier_station", "items"]
    assert couriers.str.contains("有休息区|rest_area").mean() > 0.5  # the preset's courier checklist


def test_audit_workspace_counts_the_generated_grades(county, written):
    result = audit_layers(read_workspace(written.workspace))
    assert result.messages == ()
    table = result.grades_by_tier().set_index("tier")
    facilities = county.layers["facilities"]
    profile = county.facility_profile[(facilities["status"] == "existing").to_numpy()]
    expected = pd.crosstab(profile["tier"], profile["grade"]).reindex(list(TIERS), fill_value=0)
    for grade in ("model", "compliant", "noncompliant"):
        got = table.loc[list(TIERS), f"n_{grade}"].to_numpy()
        assert (got == expected[grade].to_numpy()).all(), grade


# ---------------------------------------------------------------------------------------------
# written files
# ---------------------------------------------------------------------------------------------
def test_workspace_reopens_as_synthetic(county, written):
    workspace = read_workspace(written.workspace)
    assert workspace.settings.synthetic is True
    assert workspace.settings.name == county.settings.name
    assert set(workspace.layers) == set(LAYERS)
    for name, frame in county.layers.items():
        back = workspace.layers[name]
        assert list(back["id"]) == list(frame["id"]), name
        assert shapely.equals_exact(back.geometry.values, frame.geometry.values, tolerance=1e-9).all(), name
    facilities = workspace.layers["facilities"]
    assert (
        facilities["floor_area_m2"].to_numpy() == county.layers["facilities"]["floor_area_m2"].to_numpy()
    ).all()
    for name in LAYERS:
        description = pyogrio.read_info(written.workspace, layer=name)["layer_metadata"]["DESCRIPTION"]
        assert "synthetic" in description.lower(), name


def test_osm_file_loads_with_pyosmium(county, written):
    nodes = ways = 0
    tags = set()
    for obj in osmium.FileProcessor(str(written.network)):
        if obj.is_node():
            nodes += 1
        elif obj.is_way():
            ways += 1
            tags.add(obj.tags["highway"])
    assert nodes == written.network_nodes >= 30_000
    assert ways == written.network_ways == len(county.layers["roads"])
    assert tags == set(county.layers["roads"]["highway"])
    box = osmium.io.Reader(str(written.network)).header().box()
    assert (box.bottom_left.lon, box.bottom_left.lat) == pytest.approx(county.bounds[:2], abs=1e-6)


@pytest.mark.slow
def test_osm_file_loads_with_osmnx_as_one_network(written):
    ox = pytest.importorskip("osmnx")
    graph = ox.graph_from_xml(written.network, simplify=False, retain_all=True)
    assert graph.number_of_nodes() == written.network_nodes
    assert nx.number_weakly_connected_components(graph) == 1
    simplified = ox.simplify_graph(graph)
    assert 1_500 <= simplified.number_of_nodes() < 10_000  # intersections and dead ends only
