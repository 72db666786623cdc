"""Tests for servicegrid.geo.osm: compounds, facilities and admin boundaries from OSM files."""

from __future__ import annotations

import bz2
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from servicegrid.errors import InputError
from servicegrid.geo.osm import osm_layers, read_osm_features, suggest_tier
from tests.conftest import shared_path

HAIDIAN = ("cn-beijing-haidian-xueyuanlu-osm", "map.osm")
NINGHUA = ("cn-fujian-ninghua-county-osm", "map.osm")

# The named closed-way compounds listed in the Haidian PROVENANCE.md.
HAIDIAN_COMPOUNDS = {
    "富润家园",
    "农大小区-北区",
    "清华东路27号院",
    "静淑苑",
    "中建壹品·学府公馆",
    "双泉嘉苑",
    "学士居",
    "大华花园别墅",
    "石科院生活区",
}


# --------------------------------------------------------------------------------------------
# Real files


def test_haidian_compounds_are_polygons_with_their_chinese_names():
    features = read_osm_features(shared_path(*HAIDIAN))
    compounds = features.compounds
    assert set(compounds["name"].dropna()) == HAIDIAN_COMPOUNDS
    assert len(compounds) == 10  # the nine named ways and one unnamed residential area
    assert compounds.crs.to_epsg() == 4326
    assert set(compounds.geom_type) <= {"Polygon", "MultiPolygon"}
    assert compounds.is_valid.all()
    areas = compounds.to_crs(4548).area
    assert (areas > 1_000).all()
    assert (areas < 1_000_000).all()
    assert compounds.loc[compounds["name"] == "富润家园", "osm_id"].tolist() == ["way/594891968"]
    assert features.bounds == pytest.approx((116.34403, 39.99767, 116.35974, 40.00888))


def test_haidian_broken_relations_are_reported_and_skipped():
    features = read_osm_features(shared_path(*HAIDIAN))
    assert features.problems == [
        "relation 14400092 双泉堡甲2号院: 1 of 2 member ways missing; skipped",
        "relation 15972224 矿业大学社区居委会: 1 of 2 member ways missing; skipped",
    ]
    assert "双泉堡甲2号院" not in set(features.compounds["name"].dropna())
    assert len(features.villages) == 0


def test_ninghua_townhalls_with_suggested_tiers_and_the_broken_county_boundary():
    features = read_osm_features(shared_path(*NINGHUA))
    facilities = features.facilities.set_index("name")
    assert facilities.loc["宁化县人民政府", "tier"] == "county_center"
    assert facilities.loc["宁化县城郊乡人民政府", "tier"] == "town_center"
    assert set(facilities["osm_id"]) == {"node/5099830981", "node/5099830982"}
    assert (features.facilities.geom_type == "Point").all()
    assert features.problems == ["relation 3181096 宁化县: 32 of 32 member ways missing; skipped"]


def test_bz2_gives_the_same_features_as_xml(tmp_path):
    src = shared_path(*HAIDIAN)
    packed = tmp_path / "map.osm.bz2"
    packed.write_bytes(bz2.compress(src.read_bytes()))
    a, b = read_osm_features(src), read_osm_features(packed)
    assert a.compounds["name"].tolist() == b.compounds["name"].tolist()
    assert shapely.equals(a.compounds.geometry.to_numpy(), b.compounds.geometry.to_numpy()).all()
    assert a.problems == b.problems


def test_pbf_and_oakland_read():
    layers, notes, _ = osm_layers(shared_path("intl-osmnx-testdata", "aguascalientes.osm.pbf"))
    assert layers == {}
    assert (
        notes[0]
        == "aguascalientes.osm.pbf: 0 compound(s) (0 named), 0 facilities, 0 township(s), 0 village(s)"
    )
    oakland = read_osm_features(shared_path("intl-osmnx-testdata", "West-Oakland.osm.bz2"))
    assert oakland.compounds["name"].tolist() == ["Campbell Village"]


def test_osm_layers_are_conformed_workspace_layers():
    layers, notes, _ = osm_layers(shared_path(*HAIDIAN))
    assert set(layers) == {"compounds", "facilities"}
    compounds = layers["compounds"]
    assert list(compounds.columns[:2]) == ["id", "name"]
    assert compounds["id"].is_unique
    assert str(compounds["name"].dtype) == "string"
    assert notes[0].startswith("map.osm: 10 compound(s) (9 named)")
    assert "relation 15972224 矿业大学社区居委会: 1 of 2 member ways missing; skipped" in notes


# --------------------------------------------------------------------------------------------
# A small hand-made file with every case

# lon/lat grid: x in 116.300 .. 116.310, y in 39.990 .. 40.000; bounds cover x 116.300-116.306
NODES = {
    # township square (two ways), 116.300-116.304 x 39.990-39.994
    1: (116.300, 39.990),
    2: (116.304, 39.990),
    3: (116.304, 39.994),
    4: (116.300, 39.994),
    # compound with a hole: outer 116.301-116.303 x 39.991-39.993, inner 116.3015-116.3025
    10: (116.301, 39.991),
    11: (116.303, 39.991),
    12: (116.303, 39.993),
    13: (116.301, 39.993),
    14: (116.3015, 39.9915),
    15: (116.3025, 39.9915),
    16: (116.3025, 39.9925),
    17: (116.3015, 39.9925),
    # compound far outside the bounds
    20: (116.309, 39.998),
    21: (116.3095, 39.998),
    22: (116.3095, 39.9985),
    # compound across the east edge of the bounds (116.305-116.307)
    30: (116.305, 39.991),
    31: (116.307, 39.991),
    32: (116.307, 39.992),
    33: (116.305, 39.992),
    # community centre building
    40: (116.3001, 39.9901),
    41: (116.3003, 39.9901),
    42: (116.3003, 39.9903),
    43: (116.3001, 39.9903),
    # an open L-shaped outline for a broken village relation
    50: (116.3005, 39.9935),
    51: (116.3008, 39.9935),
    52: (116.3008, 39.9938),
}


def build_file(path: Path) -> Path:
    nodes = "\n".join(f'<node id="{i}" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in NODES.items())
    body = f"""
    {nodes}
    <node id="60" lat="39.9925" lon="116.3002"><tag k="office" v="government"/><tag k="name" v="某某镇人民政府"/></node>
    <node id="61" lat="39.9926" lon="116.3003"><tag k="amenity" v="cafe"/><tag k="name" v="咖啡馆"/></node>
    <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/></way>
    <way id="101"><nd ref="3"/><nd ref="4"/><nd ref="1"/></way>
    <way id="110"><nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="10"/></way>
    <way id="111"><nd ref="14"/><nd ref="15"/><nd ref="16"/><nd ref="17"/><nd ref="14"/></way>
    <way id="120"><nd ref="20"/><nd ref="21"/><nd ref="22"/><nd ref="20"/>
      <tag k="landuse" v="residential"/><tag k="name" v="远方小区"/></way>
    <way id="130"><nd ref="30"/><nd ref="31"/><nd ref="32"/><nd ref="33"/><nd ref="30"/>
      <tag k="landuse" v="residential"/><tag k="name" v="边界花园"/></way>
    <way id="140"><nd ref="40"/><nd ref="41"/><nd ref="42"/><nd ref="43"/><nd ref="40"/>
      <tag k="building" v="yes"/><tag k="name" v="学院社区党群服务中心"/><tag k="opening_hours" v="Mo-Fr 08:30-17:30"/></way>
    <way id="150"><nd ref="50"/><nd ref="51"/><nd ref="52"/></way>
    <relation id="200"><member type="way" ref="100" role="outer"/><member type="way" ref="101" role="outer"/>
      <tag k="type" v="boundary"/><tag k="boundary" v="administrative"/><tag k="admin_level" v="8"/>
      <tag k="name" v="学院路街道"/></relation>
    <relation id="210"><member type="way" ref="110" role="outer"/><member type="way" ref="111" role="inner"/>
      <tag k="type" v="multipolygon"/><tag k="landuse" v="residential"/><tag k="name" v="回字苑"/></relation>
    <relation id="220"><member type="way" ref="150" role="outer"/>
      <tag k="type" v="boundary"/><tag k="boundary" v="administrative"/><tag k="admin_level" v="10"/>
      <tag k="name" v="断线社区居委会"/></relation>
    <relation id="230"><member type="way" ref="999" role="outer"/><member type="way" ref="110" role="outer"/>
      <tag k="type" v="multipolygon"/><tag k="landuse" v="residential"/><tag k="name" v="缺边小区"/></relation>
    <relation id="240"><member type="way" ref="100" role="outer"/><member type="way" ref="101" role="outer"/>
      <tag k="type" v="boundary"/><tag k="boundary" v="administrative"/><tag k="admin_level" v="10"/>
      <tag k="name" v="学院社区居委会"/></relation>
    """
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
        '<bounds minlat="39.989" minlon="116.299" maxlat="39.995" maxlon="116.306"/>\n'
        + textwrap.dedent(body)
        + "\n</osm>\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def made(tmp_path) -> Path:
    return build_file(tmp_path / "made.osm")


def test_multipolygon_with_a_hole_is_assembled(made):
    compounds = read_osm_features(made).compounds.set_index("name")
    hole = compounds.loc["回字苑"]
    assert hole["osm_id"] == "relation/210"
    metric = gpd.GeoSeries([hole.geometry], crs=4326).to_crs(4548)
    outer = gpd.GeoSeries([shapely.box(116.301, 39.991, 116.303, 39.993)], crs=4326).to_crs(4548)
    inner = gpd.GeoSeries([shapely.box(116.3015, 39.9915, 116.3025, 39.9925)], crs=4326).to_crs(4548)
    assert metric.area.iloc[0] == pytest.approx(outer.area.iloc[0] - inner.area.iloc[0], rel=1e-6)


def test_admin_boundaries_fill_townships_and_villages(made):
    features = read_osm_features(made)
    assert features.townships[["id", "name", "kind", "admin_level"]].values.tolist() == [
        ["r200", "学院路街道", "street", "8"]
    ]
    assert features.villages[["id", "name", "kind"]].values.tolist() == [
        ["r240", "学院社区居委会", "community"]
    ]
    square = gpd.GeoSeries(features.townships.geometry, crs=4326).to_crs(4548).area.iloc[0]
    expected = gpd.GeoSeries([shapely.box(116.300, 39.990, 116.304, 39.994)], crs=4326).to_crs(4548).area
    assert square == pytest.approx(expected.iloc[0], rel=1e-6)


def test_broken_relations_say_why(made):
    problems = read_osm_features(made).problems
    assert problems == [
        "relation 220 断线社区居委会: its member ways do not form closed rings; skipped",
        "relation 230 缺边小区: 1 of 2 member ways missing; skipped",
    ]


def test_facilities_from_nodes_and_buildings_with_tiers(made):
    facilities = read_osm_features(made).facilities.set_index("name")
    assert set(facilities.index) == {"某某镇人民政府", "学院社区党群服务中心"}
    assert facilities.loc["某某镇人民政府", "tier"] == "town_center"
    centre = facilities.loc["学院社区党群服务中心"]
    assert centre["tier"] == "community_center"
    assert centre["tier_source"] == "name"
    assert centre["osm_id"] == "way/140"
    assert centre["opening_hours"] == "Mo-Fr 08:30-17:30"
    assert shapely.contains(shapely.box(116.3001, 39.9901, 116.3003, 39.9903), centre.geometry)


def test_clipping_to_bounds(made):
    keep = read_osm_features(made).compounds.set_index("name")
    assert "远方小区" not in keep.index
    assert keep.loc["边界花园"].geometry.bounds[2] == pytest.approx(116.307)  # kept whole
    assert any(
        "1 compound(s) outside the file's <bounds> left out" in n for n in read_osm_features(made).notes
    )

    cut = read_osm_features(made, clip="cut")
    assert cut.compounds.set_index("name").loc["边界花园"].geometry.bounds[2] == pytest.approx(116.306)
    assert any("cut at the file's <bounds>" in n for n in cut.notes)

    everything = read_osm_features(made, clip="none").compounds
    assert "远方小区" in set(everything["name"])
    with pytest.raises(ValueError, match="clip must be one of"):
        read_osm_features(made, clip="inside")  # type: ignore[arg-type]


def test_osm_layers_of_the_made_file(made):
    layers, notes, _ = osm_layers(made)
    assert set(layers) == {"compounds", "facilities", "townships", "villages"}
    assert layers["facilities"]["tier"].tolist() == ["town_center", "community_center"]
    assert notes[0] == (
        "made.osm: 2 compound(s) (2 named), 2 facilities, 1 township(s), 1 village(s); "
        "2 feature(s) could not be assembled and were skipped (listed below)"
    )
    for frame in layers.values():
        assert frame.crs.to_epsg() == 4326
        assert frame["id"].is_unique


# --------------------------------------------------------------------------------------------
# Tiers and bad input


@pytest.mark.parametrize(
    ("name", "tier"),
    [
        ("宁化县人民政府", "county_center"),
        ("宁化县城郊乡人民政府", "town_center"),
        ("学院路街道办事处", "town_center"),
        ("学院路街道党群服务中心", "town_center"),
        ("矿业大学社区居委会", "community_center"),
        ("双泉社区党群服务中心", "community_center"),
        ("石板房村村民委员会", "village_center"),
        ("石板房村委会", "village_center"),
        ("富润家园小区党群服务站", "compound_station"),
        ("海淀区党群服务中心", "county_center"),
        ("翠江社区卫生服务中心", ""),
        ("多用厅", ""),
    ],
)
def test_suggest_tier_from_names(name, tier):
    assert suggest_tier(name)[0] == tier


def test_empty_truncated_and_wrong_files_name_the_file(tmp_path):
    empty = tmp_path / "empty.osm"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.osm: the file is empty"):
        read_osm_features(empty)
    cut = tmp_path / "cut.osm"
    cut.write_bytes(shared_path(*NINGHUA).read_bytes()[:4000])
    with pytest.raises(InputError, match=r"cut\.osm: cannot read as OpenStreetMap data .*XML parsing error"):
        read_osm_features(cut)
    with pytest.raises(InputError, match=r"roads\.shp: not an OpenStreetMap file name"):
        read_osm_features(tmp_path / "roads.shp")
    with pytest.raises(InputError, match="no such file"):
        read_osm_features(tmp_path / "gone.osm.pbf")


def test_no_bounds_means_no_clipping(tmp_path):
    made = build_file(tmp_path / "made.osm")
    text = made.read_text(encoding="utf-8")
    start = text.index("<bounds")
    unbounded = tmp_path / "nobounds.osm"
    unbounded.write_text(text[:start] + text[text.index("/>", start) + 2 :], encoding="utf-8")
    features = read_osm_features(unbounded)
    assert features.bounds is None
    assert "远方小区" in set(features.compounds["name"])
    assert features.notes[0] == "nobounds.osm has no <bounds>; nothing was clipped"
    assert np.isfinite(features.compounds.total_bounds).all()


# --------------------------------------------------------------------------------------------
# Features that do not assemble, and community points (issue 10, item 14)


def test_ways_that_do_not_assemble_are_counted_and_named(tmp_path):
    path = tmp_path / "cut.osm"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
        '<node id="1" lat="39.990" lon="116.300"/><node id="2" lat="39.990" lon="116.302"/>\n'
        '<node id="3" lat="39.992" lon="116.302"/><node id="4" lat="39.992" lon="116.300"/>\n'
        # node 9 is outside the exported box: the compound and the centre's building lose a corner
        '<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="9"/><nd ref="1"/>'
        '<tag k="landuse" v="residential"/><tag k="name" v="缺角小区"/></way>\n'
        '<way id="11"><nd ref="2"/><nd ref="3"/><nd ref="9"/><nd ref="2"/>'
        '<tag k="building" v="yes"/><tag k="name" v="东街社区党群服务中心"/></way>\n'
        '<way id="12"><nd ref="1"/><nd ref="2"/><nd ref="3"/>'
        '<tag k="landuse" v="residential"/><tag k="name" v="开口小区"/></way>\n'
        '<way id="13"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>'
        '<tag k="landuse" v="residential"/><tag k="name" v="完整小区"/></way>\n</osm>\n',
        encoding="utf-8",
    )
    features = read_osm_features(path)
    assert features.compounds["name"].tolist() == ["完整小区"]
    assert features.problems == [
        "way 10 缺角小区: 1 of 4 nodes missing from the file; skipped",
        "way 11 东街社区党群服务中心: 1 of 4 nodes missing from the file; skipped",
        "way 12 开口小区: its outline does not close; skipped",
    ]
    _layers, notes, _ = osm_layers(path)
    assert notes[0].endswith("; 3 feature(s) could not be assembled and were skipped (listed below)")
    assert notes[1:4] == features.problems


def test_community_points_name_their_village_polygon_or_are_listed(made, tmp_path):
    text = made.read_text(encoding="utf-8")
    points = (
        # inside 学院路街道's square, which relation 240 (学院社区居委会) also outlines
        '<node id="70" lat="39.9930" lon="116.3035"><tag k="place" v="neighbourhood"/><tag k="name" v="学院社区"/></node>\n'
        '<node id="71" lat="39.9890" lon="116.3050"><tag k="place" v="quarter"/><tag k="name" v="南郊社区"/></node>\n'
        '<node id="72" lat="39.9931" lon="116.3036"><tag k="place" v="neighbourhood"/><tag k="name" v="某某苑"/></node>\n'
    )
    path = tmp_path / "places.osm"
    path.write_text(text.replace("</osm>", points + "</osm>"), encoding="utf-8")
    features = read_osm_features(path)
    communities = features.communities
    assert communities[["name", "osm_id", "village_id"]].fillna("").values.tolist() == [
        ["学院社区", "node/70", "r240"],
        ["南郊社区", "node/71", ""],
    ]
    assert (
        "1 community point(s) lie in a village polygon of another name (kept): 学院社区 in 学院社区居委会"
        in features.notes
    )
    assert any(
        n.startswith(
            "1 community point(s) (place=quarter/neighbourhood named …社区) lie in no village boundary of the file: 南郊社区;"
        )
        for n in features.notes
    )


def test_a_community_point_names_an_unnamed_village_polygon(made, tmp_path):
    text = made.read_text(encoding="utf-8").replace('<tag k="name" v="学院社区居委会"/>', "")
    point = '<node id="70" lat="39.9930" lon="116.3035"><tag k="place" v="neighbourhood"/><tag k="name" v="学院社区"/></node>\n'
    path = tmp_path / "unnamed.osm"
    path.write_text(text.replace("</osm>", point + "</osm>"), encoding="utf-8")
    features = read_osm_features(path)
    assert features.villages[["name", "kind"]].values.tolist() == [["学院社区", "community"]]
    assert "1 unnamed village polygon(s) named after the community point inside: 学院社区" in features.notes
