"""The demo's maps in a real browser (Debian chromium through Playwright), opened from file://.

Every request that is not ``file:`` or ``data:`` is blocked and counted. The screenshots are
saved under test-artifacts/maps/ for a person to look at.
"""

from __future__ import annotations

import json

import pytest

from tests.maps.conftest import ARTIFACTS, open_map

FIRST_RENDER_BOUND_MS = 4_000  # a loose bound for a shared CI machine; the figure is reported


@pytest.fixture
def county(browser, demo_maps):
    opened = open_map(browser, demo_maps.county)
    yield opened
    opened.page.close()


def _counts(page) -> dict[str, int]:
    return page.evaluate(
        "Object.fromEntries(Object.entries(window.servicegrid.layers).map(([k, v]) => [k, v.group.getLayers().length]))"
    )


def test_the_county_map_opens_offline_with_no_request_and_no_error(county, record_property):
    assert county.external == []
    assert county.errors == []
    record_property("first_render_ms", round(county.first_render_ms))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    county.page.screenshot(path=str(ARTIFACTS / "county.png"))
    (ARTIFACTS / "county-first-render.json").write_text(
        json.dumps({"first_render_ms": county.first_render_ms})
    )
    assert county.first_render_ms < FIRST_RENDER_BOUND_MS
    title = county.page.locator(".sg-title").inner_text()
    assert "示范县" in title
    assert "合成示例数据" in title
    assert "数据日期" in title


def test_every_layer_draws_its_features(county, demo_maps):
    counts = _counts(county.page)
    ws = demo_maps.project.workspace
    for name in ("townships", "villages", "grids", "microgrids", "compounds", "settlements"):
        assert counts[name] == len(ws.layer(name)), name
    assert counts["facilities"] == len(demo_maps.audit) == 256
    assert counts["proposed"] == len(demo_maps.plan["proposed_sites"])
    gaps = demo_maps.coverage["coverage_gaps"]
    for gap, tier, unit_layer in (
        ("last_hundred_meters", "compound_station", "compounds"),
        ("last_kilometer", "village_center", "settlements"),
    ):
        mine = gaps[(gaps["gap"] == gap) & (gaps["unit_layer"] == unit_layer)]
        assert counts[f"gap_{gap}_{tier}"] == len(mine) > 0
    areas = demo_maps.coverage["service_areas"]
    for tier, n in areas.groupby("tier").size().items():
        assert counts[f"service_areas_{tier}"] == n
    assert counts["paths"] == 1  # the walking paths, merged into one drawing
    # drawn on one canvas: the county has thousands of visible features
    assert county.page.locator(".leaflet-overlay-pane canvas").count() == 1


def test_the_layer_control_names_the_layers_in_chinese_finer_ones_unchecked(county):
    labels = county.page.locator(".leaflet-control-layers-overlays label")
    shown = {
        labels.nth(i).inner_text().strip(): labels.nth(i).locator("input").is_checked()
        for i in range(labels.count())
    }
    expected = {
        "乡镇（街道）界（9）": True,
        "村（社区）界（102）": True,
        "网格（889）": False,
        "微网格（2,469）": False,
        "小区（按步行距离）（241）": True,
        "自然村（按步行距离）（853）": True,
        "党群服务阵地（按评级）（256）": True,
        "村（社区）户覆盖率：小区党群服务站（步行 300 米）": True,
        "网格户覆盖率：小区党群服务站（步行 300 米）": False,
        "步行服务范围：小区党群服务站（步行 300 米）（198）": False,
    }
    for name, checked in expected.items():
        assert name in shown, f"{name} not in {sorted(shown)}"
        assert shown[name] is checked, name
    assert any(n.startswith("最后一百米：小区党群服务站") and on for n, on in shown.items())


def _screen_point(page, layer: str, index: int, zoom: int = 17) -> dict:
    """Centre the map on feature ``index`` of ``layer`` and return its position on screen."""
    return page.evaluate(
        """async ([key, index, zoom]) => {
            const sg = window.servicegrid, f = sg.layers[key].group.getLayers()[index];
            const at = f.getLatLng ? f.getLatLng() : f.getBounds().getCenter();
            sg.map.setView(at, zoom, {animate: false});
            for (let i = 0; i < 2; i++) await new Promise(r => requestAnimationFrame(r));  // redrawn
            const p = sg.map.latLngToContainerPoint(at), box = sg.map.getContainer().getBoundingClientRect();
            return {x: box.left + p.x, y: box.top + p.y, name: f.sgRow[0]};
        }""",
        [layer, index, zoom],
    )


def _facility_index(page, predicate: str) -> int:
    return page.evaluate(
        f"""() => {{
            const spec = window.servicegrid.layers.facilities.group.getLayers().map(l => l.sgRow);
            return spec.findIndex(r => {predicate});
        }}"""
    )


def test_hovering_a_facility_shows_its_name(county):
    page = county.page
    index = _facility_index(page, "r[3] === 'model' && r[4] >= 7")  # a large green centre
    point = _screen_point(page, "facilities", index)
    page.mouse.move(point["x"] + 40, point["y"] + 40)
    page.wait_for_timeout(100)  # Leaflet's canvas looks at the pointer at most every 32 ms
    page.mouse.move(point["x"], point["y"])
    tooltip = page.locator(".leaflet-tooltip.sg-tip", has_text=point["name"])
    tooltip.wait_for(timeout=5_000)
    assert point["name"] in tooltip.inner_text()


def test_clicking_a_noncompliant_facility_shows_its_grade_and_what_it_lacks(county, demo_maps):
    page = county.page
    audit = demo_maps.audit
    lacking = audit[(audit["grade"] == "noncompliant") & audit["missing_items_label"].fillna("").ne("")]
    name = lacking.iloc[0]["name"]
    index = _facility_index(page, f"r[0] === {json.dumps(name)}")
    point = _screen_point(page, "facilities", index, zoom=18)
    page.mouse.click(point["x"], point["y"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    text = popup.inner_text()
    assert name in text
    assert "不达标" in text
    for item in lacking.iloc[0]["missing_items_label"].split("、"):
        assert item in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)  # the popup fades in
    page.screenshot(path=str(ARTIFACTS / "county-popup.png"))


def test_toggling_the_gap_layer_hides_and_shows_it(county):
    page = county.page
    key = "gap_last_hundred_meters_compound_station"
    label = page.locator(".leaflet-control-layers-overlays label", has_text="最后一百米")
    on_map = f"window.servicegrid.map.hasLayer(window.servicegrid.layers['{key}'].group)"
    assert page.evaluate(on_map)
    label.locator("input").click()
    assert not page.evaluate(on_map)
    assert not label.locator("input").is_checked()
    legend = page.locator(f'.sg-legend [data-layers="{key}"]')
    assert legend.is_hidden()  # the legend follows the visible layers
    label.locator("input").click()
    assert page.evaluate(on_map)
    assert legend.is_visible()


def test_the_search_box_finds_a_compound_and_opens_it(county, demo_maps):
    page = county.page
    name = demo_maps.project.workspace.layer("compounds")["name"].iloc[5]
    page.locator(".sg-search input").fill(name)
    hit = page.locator(".sg-results li", has_text=name).first
    hit.click()
    page.locator(".leaflet-tooltip", has_text=name).first.wait_for(timeout=5_000)
    assert page.evaluate("window.servicegrid.map.getZoom()") >= 15
    page.locator(".sg-search input").fill("没有这个名字")
    assert "没有找到" in page.locator(".sg-results").inner_text()


def test_the_measuring_tool_adds_up_the_distance(county):
    page = county.page
    page.evaluate("() => { window.servicegrid.map.setZoom(15, {animate: false}); }")
    box = page.locator("#" + page.evaluate("window.servicegrid.map.getContainer().id")).bounding_box()
    page.locator(".sg-measure a").click()
    a, b = (box["x"] + 500, box["y"] + 500), (box["x"] + 800, box["y"] + 500)
    page.mouse.click(*a)
    page.mouse.click(*b)
    expected = page.evaluate(
        """([a, b]) => { const m = window.servicegrid.map;
            return m.distance(m.containerPointToLatLng(a), m.containerPointToLatLng(b)); }""",
        [[500, 500], [800, 500]],
    )
    label = page.locator(".sg-measure-label").last.inner_text()
    shown = float(label.split()[0]) * (1000 if "公里" in label else 1)
    assert shown == pytest.approx(expected, rel=0.02, abs=2)
    page.locator(".sg-measure a").click()  # finished
    assert page.locator(".sg-measuring").count() == 0


def test_a_township_map_opens_offline_too(browser, demo_maps):
    path = next((demo_maps.out / "maps" / "townships").glob("*城关街道.html"))
    opened = open_map(browser, path)
    try:
        assert opened.external == []
        assert opened.errors == []
        counts = _counts(opened.page)
        assert counts["townships"] == 1
        assert 0 < counts["facilities"] < 256
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        opened.page.screenshot(path=str(ARTIFACTS / "township.png"))
    finally:
        opened.page.close()
