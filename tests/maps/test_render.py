"""Tests for the rendered map HTML: offline, UTF-8, compact, the right features, basemaps lining up."""

from __future__ import annotations

import re

import numpy as np
import pytest
import shapely

from servicegrid.errors import InputError
from servicegrid.geo.chinacoords import wgs84_to_gcj02
from servicegrid.maps import render_map
from servicegrid.maps.assets import external_references
from servicegrid.maps.encode import simplify_to_budget, vertex_count
from servicegrid.maps.layers import PROPERTY_KEYS
from tests.maps.conftest import page_data

TOWNSHIP = "990101001"  # 城关街道, a street of the demo county with compounds and a plan


@pytest.fixture(scope="module")
def county_html(demo_maps) -> str:
    return demo_maps.county.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def township_maps(demo_data):
    return {
        basemap: render_map(demo_data, township=TOWNSHIP, basemap=basemap, tianditu_key="k")
        for basemap in ("none", "amap", "tianditu")
    }


def _html(rendered) -> str:
    return rendered.map.get_root().render()


def test_the_county_map_links_nothing_outside_the_file(county_html):
    assert external_references(county_html) == []
    assert "cdn.jsdelivr" not in county_html
    assert "bootstrap" not in county_html.lower()
    # the check itself sees a CDN link
    assert external_references('<script src="https://cdn.example/x.js"></script><a href="//x.org">') == [
        "<script src=https://cdn.example/x.js>",
        "<a href=//x.org>",
    ]


def test_the_page_declares_utf8_once_and_writes_chinese_literally(county_html):
    head = county_html[: county_html.index("<style>")]
    assert '<meta charset="utf-8">' in head
    assert county_html.count("charset") == 1
    for text in ("示范县", "城关街道", "乡镇（街道）界", "党群服务阵地（按评级）", "最后一百米", "不达标"):
        assert text in county_html, text
    # no character escaped but the second of "{{", "{%" and "{#" (which Jinja would read as a tag);
    # an escape is a backslash after an even run of them (a polyline may hold an escaped backslash)
    script = county_html.split("</style>", 1)[1].split("SG.init", 1)[1]
    escapes = re.findall(r"(.)(?<!\\)(?:\\\\)*\\u([0-9a-fA-F]{4})", script)
    assert {code for _, code in escapes} == {"007b"}
    assert {before for before, _ in escapes} == {"{"}


def test_no_coordinate_has_more_than_6_decimals(county_html):
    sources, _layers = page_data(county_html)
    assert {"townships", "villages", "grids", "microgrids", "compounds", "settlements", "facilities"} <= set(
        sources
    )
    text = "".join(repr(data) for _, data, _ in sources.values())
    decimals = [len(m) for m in re.findall(r"\d\.(\d+)", text)]
    assert decimals
    assert max(decimals) <= 6
    polygons = sources["villages"][1]
    assert all(isinstance(ring, str) for feature in polygons for polygon in feature for ring in polygon)
    # steps of 1e-6 degree, but the walking paths (simplified by 2 m, a drawing aid) in 1e-5
    assert {key: decimals for key, (_, _, decimals) in sources.items()} == {
        key: 5 if key == "paths" else 6 for key in sources
    }


def test_layers_carry_only_the_properties_their_popups_show(county_html):
    _, layers = page_data(county_html)
    assert len(layers) >= 18
    for key, spec in layers.items():
        assert tuple(spec["keys"]) == PROPERTY_KEYS[spec["kind"]], key
        assert all(len(row) == len(spec["keys"]) for row in spec["rows"]), key
    assert '"bbox"' not in county_html.split("SG.init", 1)[1]  # no per-feature bounding boxes


def test_each_layer_draws_the_expected_features(county_html, demo_maps):
    _, layers = page_data(county_html)
    ws = demo_maps.project.workspace
    for name in ("townships", "villages", "grids", "microgrids", "compounds", "settlements"):
        assert len(layers[name]["rows"]) == len(ws.layer(name)), name
    assert len(layers["facilities"]["rows"]) == len(demo_maps.audit)
    assert len(layers["proposed"]["rows"]) == len(demo_maps.plan["proposed_sites"])
    gaps = demo_maps.coverage["coverage_gaps"]
    hundred = gaps[(gaps["gap"] == "last_hundred_meters") & (gaps["unit_layer"] == "compounds")]
    assert len(layers["gap_last_hundred_meters_compound_station"]["rows"]) == len(hundred)
    areas = demo_maps.coverage["service_areas"]
    assert len(layers["service_areas_compound_station"]["rows"]) == int(
        (areas["tier"] == "compound_station").sum()
    )
    shown = {key for key, spec in layers.items() if key in ("grids", "microgrids")}
    assert shown == {"grids", "microgrids"}


def test_a_noncompliant_facility_carries_its_grade_and_missing_items(county_html, demo_maps):
    _, layers = page_data(county_html)
    spec = layers["facilities"]
    rows = [dict(zip(spec["keys"], row, strict=True)) for row in spec["rows"]]
    audit = demo_maps.audit
    lacking = audit[(audit["grade"] == "noncompliant") & audit["missing_items_label"].fillna("").ne("")]
    one = lacking.iloc[0]
    row = next(r for r in rows if r["name"] == one["name"])
    assert row["grade"] == "不达标"
    assert row["cls"] == "noncompliant"
    assert row["missing"] == one["missing_items_label"]


def _facility_points(rendered) -> dict[str, tuple[float, float]]:
    sources, layers = page_data(_html(rendered))
    spec = layers["facilities"]
    names = [row[0] for row in spec["rows"]]
    return dict(zip(names, (tuple(p) for p in sources["facilities"][1]), strict=True))


def test_with_amap_every_overlay_is_converted_to_gcj02(township_maps, demo_data):
    facilities = demo_data.township(TOWNSHIP).frame("facilities")
    one = facilities.iloc[0]
    lon, lat = one.geometry.x, one.geometry.y
    glon, glat = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    lat_amap, lon_amap = _facility_points(township_maps["amap"])[one["name"]]
    assert lat_amap == pytest.approx(glat[0], abs=1e-6)
    assert lon_amap == pytest.approx(glon[0], abs=1e-6)
    assert abs(lon_amap - lon) > 1e-3  # hundreds of metres: the conversion really happened
    for basemap in ("none", "tianditu"):
        lat_same, lon_same = _facility_points(township_maps[basemap])[one["name"]]
        assert (lat_same, lon_same) == pytest.approx((lat, lon), abs=1e-6)
    note = 'class=\\"sg-note\\">底图为高德（GCJ-02）'  # the legend says so
    assert note in _html(township_maps["amap"])
    assert note not in _html(township_maps["none"])


def test_basemaps_carry_their_tiles_and_attribution(township_maps):
    amap, tianditu = _html(township_maps["amap"]), _html(township_maps["tianditu"])
    assert "autonavi.com" in amap
    assert "Gaode" in amap
    assert "tianditu.gov.cn" in tianditu
    assert "tk=k" in tianditu
    assert "天地图 Tianditu".encode("ascii", "backslashreplace").decode() in tianditu  # its attribution
    assert 'SG.source("paths"' not in amap  # with tiles, the paths are not drawn
    assert 'SG.source("paths"' in _html(township_maps["none"])


def test_a_township_map_holds_only_that_townships_features(township_maps, demo_data):
    sources, layers = page_data(_html(township_maps["none"]))
    mine = demo_data.township(TOWNSHIP)
    assert [row[0] for row in layers["townships"]["rows"]] == ["城关街道"]
    for name in ("villages", "compounds", "facilities", "proposed"):
        assert len(layers[name]["rows"]) == len(mine.frame(name)), name
    assert len(layers["facilities"]["rows"]) < len(demo_data.frame("facilities"))
    boundary = shapely.buffer(mine.frame("townships").geometry.iloc[0], 1e-4)
    points = np.array(sources["facilities"][1])
    assert shapely.contains_xy(boundary, points[:, 1], points[:, 0]).all()
    assert "settlements" not in layers  # a street has none


def test_a_small_budget_simplifies_and_says_so(demo_data):
    rendered = render_map(demo_data, township=TOWNSHIP, vertex_budget=2_000)
    assert rendered.notes
    assert "over the budget of 2,000" in rendered.notes[0]
    assert "grids" in {layer.key for layer in rendered.layers}  # a township map keeps its grids
    assert "left to the township maps" not in rendered.notes[0]
    normal = render_map(demo_data, township=TOWNSHIP)
    assert rendered.vertices < normal.vertices
    assert not normal.notes


def test_bad_choices_are_one_line_errors(demo_data):
    with pytest.raises(InputError, match="needs a key"):
        render_map(demo_data, basemap="tianditu")
    with pytest.raises(InputError, match="unknown basemap 'google'"):
        render_map(demo_data, basemap="google")
    with pytest.raises(InputError, match="no township with id 'T404'"):
        render_map(demo_data, township="T404")
    with pytest.raises(InputError, match="tier 'county_center' was not measured"):
        render_map(demo_data, tier="county_center")


def test_english_labels(demo_data):
    html = _html(render_map(demo_data, township=TOWNSHIP, lang="en"))
    _, layers = page_data(html)
    assert layers["facilities"]["name"].startswith("Service facilities by grade")
    assert "Last hundred metres" in html
    assert '"households":"households"' in html


def test_names_that_look_like_template_tags_are_drawn_as_written(demo_data):
    # Folium passes each script through Jinja once more: "{{" in a name must not open a tag
    import dataclasses

    facilities = demo_data.frame("facilities").copy()
    facilities["name"] = facilities["name"].astype(object)
    facilities.iloc[0, facilities.columns.get_loc("name")] = "{{ 城关 }}{%站%}{#"
    data = dataclasses.replace(demo_data, frames={**demo_data.frames, "facilities": facilities})
    rendered = render_map(data, township=facilities["township_id"].iloc[0])
    _, layers = page_data(_html(rendered))
    assert "{{ 城关 }}{%站%}{#" in [row[0] for row in layers["facilities"]["rows"]]


def test_a_county_over_its_budget_at_the_largest_step_leaves_its_grids_to_the_township_maps(demo_data):
    whole = render_map(demo_data)
    fine = sum(r.vertices for r in whole.layers if r.key in ("grids", "microgrids"))
    rest = whole.vertices - fine
    rendered = render_map(demo_data, vertex_budget=rest // 3)  # not met even at 20 m with the grids
    keys = {layer.key for layer in rendered.layers}
    assert not keys & {"grids", "microgrids", "choropleth_grid_compound_station"}
    assert {"villages", "compounds", "settlements"} <= keys
    assert set(rendered.sources) == set(whole.sources) - {"grids", "microgrids"}
    assert rendered.notes[0].endswith("the micro-grids and grids are left to the township maps")
    # a budget the county meets at the largest step without its micro-grids: only they go
    grids_at_20m, _, _ = simplify_to_budget(
        {"grids": demo_data.frame("grids").geometry},
        budget=0,
        metric_crs=demo_data.metric_crs,
        coverages=["grids"],
    )
    budget = rendered.vertices + vertex_count(grids_at_20m["grids"].to_numpy()) + 1
    only_micro = render_map(demo_data, vertex_budget=budget)
    keys = {layer.key for layer in only_micro.layers}
    assert "microgrids" not in keys
    assert {"grids", "choropleth_grid_compound_station"} <= keys
    assert only_micro.notes[0].endswith("the micro-grids are left to the township maps")
