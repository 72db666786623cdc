"""Tests for the size knob of the demo county: ``build_demo_county(scale=N)``, ``write_demo_county``,
``run_demo`` and ``servicegrid demo --scale``.

A county N times the demo's size must be one county (one outline tiled by its townships, one
connected walking network), hold about N times the features of every layer, keep its ids unique,
stay labelled synthetic and be the same for the same seed; scale 1 is the demo county itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import sparse
from typer.testing import CliRunner

from servicegrid.cli import app
from servicegrid.coverage.sources import network_from_osm
from servicegrid.demo import build_demo_county, write_demo_county
from servicegrid.demo.attributes import DEMO_PRESET
from servicegrid.errors import InputError
from servicegrid.geo.conform import conform
from servicegrid.geo.osmxml import write_osm_xml
from servicegrid.geo.schema import LAYERS
from servicegrid.geo.workspace import read_workspace
from servicegrid.pipeline import run_demo
from servicegrid.standards.loader import load_preset
from tests.demo.test_demo import _assert_tiles, _audit_existing, _layers_equal

SCALE = 4


@pytest.fixture(scope="module")
def base():
    return build_demo_county(seed=0)


@pytest.fixture(scope="module")
def big():
    return build_demo_county(seed=0, scale=SCALE)


@pytest.fixture(scope="module")
def big_metric(big):
    return {name: frame.to_crs(big.metric_crs) for name, frame in big.layers.items()}


@pytest.fixture(scope="module")
def big_written(tmp_path_factory):
    return write_demo_county(tmp_path_factory.mktemp("scaled"), seed=0, scale=SCALE)


# ---------------------------------------------------------------------------------------------
# scale 1 is the demo county
# ---------------------------------------------------------------------------------------------
def test_scale_one_is_the_demo_county(base, tmp_path):
    """Seed 0 at scale 1 is the county the README describes, feature for feature."""
    _layers_equal(base, build_demo_county(seed=0, scale=1))
    counts = {name: len(frame) for name, frame in base.layers.items()}
    assert counts == {
        "townships": 9,
        "villages": 102,
        "grids": 889,
        "microgrids": 2469,
        "compounds": 241,
        "settlements": 853,
        "facilities": 256,
        "gates": 593,
        "roads": 2378,
        "candidates": 125,
    }
    villages = base.layers["villages"]
    assert (int(villages["households"].sum()), int(villages["population"].sum())) == (206_553, 587_915)
    assert base.layers["townships"]["id"].tolist() == [
        "990101001", "990101002", "990101003", "990101101", "990101102", "990101103", "990101104",
        "990101105", "990101106",
    ]  # fmt: skip
    assert base.layers["townships"]["name"].tolist()[:4] == ["城关街道", "北城街道", "河东街道", "清泉镇"]
    assert base.scale == 1
    assert base.settings.name == "示范县（合成示例数据）"
    assert "×" not in base.description
    osm = write_osm_xml(base.layers["roads"], tmp_path / "walk.osm", bounds=base.bounds)
    assert osm.nodes == 40_809


# ---------------------------------------------------------------------------------------------
# N times the size, one county
# ---------------------------------------------------------------------------------------------
def test_every_layer_has_about_n_times_the_features(base, big):
    for name in LAYERS:
        ratio = len(big.layers[name]) / len(base.layers[name])
        # micro-grids cover whole pilot townships, whose sizes vary: a wider band
        low, high = (0.6, 1.5) if name == "microgrids" else (0.85, 1.15)
        assert low * SCALE <= ratio <= high * SCALE, (name, ratio)
    households = big.layers["villages"]["households"].sum() / base.layers["villages"]["households"].sum()
    assert 0.85 * SCALE <= households <= 1.15 * SCALE
    kinds = big.layers["townships"]["kind"].value_counts()
    assert kinds["town"] == 6 * SCALE
    assert kinds["street"] == 3 * SCALE


def test_the_county_is_one_county_sqrt_n_times_as_wide(base, big, big_metric):
    """One outline, tiled by its townships, without holes: not copies side by side."""
    townships = big_metric["townships"]
    union = shapely.union_all(townships.geometry.values)
    assert union.geom_type == "Polygon"
    assert sum(shapely.Polygon(ring).area for ring in union.interiors) < 1.0  # m²: float noise only
    assert townships.area.sum() == pytest.approx(union.area, rel=1e-3)
    base_area = shapely.union_all(base.layers["townships"].to_crs(base.metric_crs).geometry.values).area
    assert 0.9 * SCALE <= union.area / base_area <= 1.1 * SCALE
    # √N times as wide and as tall (the outline's wobble differs from county to county)
    size = np.diff(big.layers["townships"].total_bounds.reshape(2, 2), axis=0)[0]
    base_size = np.diff(base.layers["townships"].total_bounds.reshape(2, 2), axis=0)[0]
    assert (0.8 * np.sqrt(SCALE) <= size / base_size).all()
    assert (size / base_size <= 1.25 * np.sqrt(SCALE)).all()


def test_the_walking_network_from_the_osm_file_is_one_component(base, big, big_written):
    network = network_from_osm(big_written.network)
    assert network.component_sizes[0] == network.n_nodes  # every node in the one large piece
    assert big_written.network_ways == len(big.layers["roads"])
    base_nodes = len(
        np.unique(np.round(shapely.get_coordinates(base.layers["roads"].geometry.values) * 1e7), axis=0)
    )
    assert 0.85 * SCALE <= big_written.network_nodes / base_nodes <= 1.15 * SCALE


def test_the_roads_layer_is_one_component(big):
    coords, line = shapely.get_coordinates(big.layers["roads"].geometry.values, return_index=True)
    _, node = np.unique(np.round(coords * 1e7).astype(np.int64), axis=0, return_inverse=True)
    same_line = line[1:] == line[:-1]
    a, b = node[:-1][same_line], node[1:][same_line]
    n = int(node.max()) + 1
    count, _ = sparse.csgraph.connected_components(
        sparse.coo_array((np.ones(len(a)), (a, b)), shape=(n, n)), directed=False
    )
    assert count == 1


def test_villages_and_grids_tile_their_parents(big_metric):
    _assert_tiles(big_metric["villages"], big_metric["townships"], "township_id")
    _assert_tiles(big_metric["grids"], big_metric["villages"], "village_id")


# ---------------------------------------------------------------------------------------------
# ids, names, labels
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(LAYERS))
def test_layers_follow_the_schema_with_unique_ids(big, name):
    frame = big.layers[name]
    assert list(frame.columns) == [*LAYERS[name].column_names, "geometry"]
    assert frame["id"].notna().all()
    assert frame["id"].is_unique
    assert frame["id"].str.len().nunique() == 1  # zero-padded to one width
    assert frame.geometry.is_valid.all()
    assert not frame.geometry.is_empty.any()
    pd.testing.assert_frame_equal(conform(frame, name), frame)


def test_parent_ids_exist(big):
    layers = big.layers
    assert set(layers["villages"]["township_id"]) == set(layers["townships"]["id"])
    for name in ("grids", "compounds", "settlements"):
        assert set(layers[name]["village_id"]) <= set(layers["villages"]["id"]), name
    assert set(layers["microgrids"]["grid_id"]) <= set(layers["grids"]["id"])
    assert set(layers["gates"]["compound_id"]) == set(layers["compounds"]["id"])
    town = layers["facilities"].query("tier == 'town_center'")
    assert sorted(town["township_id"]) == sorted(layers["townships"]["id"])  # one centre each


def test_townships_have_plausible_unique_names_and_codes(big):
    townships = big.layers["townships"]
    assert townships["name"].is_unique
    assert townships["id"].str.fullmatch(r"9901\d{5}").all()  # province 99 does not exist
    assert townships["code"].str.fullmatch(r"9901\d{8}").all()
    serial = townships["id"].str[-3:].astype(int)
    street = townships["kind"] == "street"
    assert townships.loc[street, "name"].str.endswith("街道").all()
    assert serial[street].between(1, 99).all()
    xiang = townships["name"].str.endswith("乡")
    assert (townships.loc[~street, "name"].str.endswith("镇") | xiang[~street]).all()
    assert serial[~street & ~xiang].between(101, 199).all()
    assert serial[xiang].between(201, 299).all()
    assert xiang.sum() >= 2
    villages = big.layers["villages"]
    assert (villages["code"].str[:9] == villages["township_id"]).all()


def test_labelled_synthetic_with_its_scale(big, big_written):
    assert big.settings.synthetic is True
    assert big.scale == SCALE
    assert big.settings.name == f"示范县（合成示例数据，{SCALE}倍规模）"
    assert "SYNTHETIC" in big.description
    assert f"{SCALE}×" in big.description
    assert f"scale {SCALE}" in big_written.network.read_text(encoding="utf-8")[:400]


def test_audit_grades_every_facility_as_generated(big):
    audited = _audit_existing(big, load_preset(DEMO_PRESET))
    assert (audited["grade"] == audited["grade_intended"]).all()


# ---------------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------------
def test_same_seed_and_scale_give_identical_layers(big):
    _layers_equal(big, build_demo_county(seed=0, scale=SCALE))


def test_another_seed_gives_another_county_of_the_same_size(big):
    other = build_demo_county(seed=1, scale=SCALE)
    with pytest.raises(AssertionError):
        _layers_equal(big, other)
    for name in ("villages", "compounds", "settlements"):
        assert len(other.layers[name]) == pytest.approx(len(big.layers[name]), rel=0.15), name


@pytest.mark.parametrize("scale", [2, 3])
def test_sizes_that_are_not_perfect_squares(base, scale):
    county = build_demo_county(seed=2, scale=scale)
    for name in ("villages", "compounds", "settlements", "grids", "facilities", "roads"):
        ratio = len(county.layers[name]) / len(base.layers[name])
        assert 0.8 * scale <= ratio <= 1.2 * scale, (name, ratio)
    for name in LAYERS:
        assert county.layers[name]["id"].is_unique, name


# ---------------------------------------------------------------------------------------------
# bad sizes are refused before anything is written
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [0, -1, 1.5, True, "4", 10_000])
def test_a_bad_scale_is_refused_with_the_option_named(scale, tmp_path):
    with pytest.raises(InputError, match=r"^--scale \(scale\) .*must be a whole number from 1"):
        build_demo_county(seed=0, scale=scale)
    out = tmp_path / "demo"
    with pytest.raises(InputError, match="--scale"):
        write_demo_county(out, scale=scale)
    with pytest.raises(InputError, match="--scale"):
        run_demo(out, scale=scale)
    assert not out.exists()


@pytest.mark.parametrize("value", ["0", "-2"])
def test_the_command_refuses_a_bad_scale_in_one_line(value, tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--scale", value, "--out", str(out)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"error: --scale (scale) {value}: must be a whole number from 1")
    assert not out.exists()


@pytest.mark.slow
def test_the_command_runs_every_stage_on_a_larger_county(base, tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--scale", "2", "--out", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "validate: 0 error(s)" in result.output
    workspace = read_workspace(out / "demo-county.gpkg")
    assert workspace.settings.synthetic
    assert workspace.settings.name == "示范县（合成示例数据，2倍规模）"
    ratio = len(workspace.layers["compounds"]) / len(base.layers["compounds"])
    assert 1.7 <= ratio <= 2.3
    assert (out / "coverage.gpkg").exists()
    assert (out / "plan.gpkg").exists()
