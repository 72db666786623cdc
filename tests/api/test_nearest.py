"""GET /v1/nearest on the hand-built county: known distances, tiers, k, routes, coordinate systems."""

from __future__ import annotations

import numpy as np
import pytest

from servicegrid.geo.chinacoords import from_wgs84, to_wgs84
from tests.api.conftest import P, lonlat, metres, route_length

LON, LAT = lonlat(*P)


def nearest(client, **params):
    r = client.get("/v1/nearest", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/geo+json"
    return r.json()


def test_the_default_tier_of_a_village_point_is_the_village_center_at_its_walking_distance(client):
    body = nearest(client, lon=LON, lat=LAT)
    assert body["status"] == "ok"
    assert body["query"]["tiers"] == ["village_center"]
    (feature,) = body["features"]
    props = feature["properties"]
    assert props["id"] == "F2"  # F5 is nearer but planned
    assert props["walk_m"] == pytest.approx(340, abs=0.2)
    assert props["walk_min"] == pytest.approx(340 / 60, abs=0.05)
    assert props["straight_m"] == pytest.approx(np.hypot(300, 40), abs=0.2)
    assert props["within_radius"] is True
    assert props["tier"] == "village_center"  # 村级党群服务中心 in the register, conformed by the preset
    assert props["grade"] in ("model", "compliant", "noncompliant")
    explain = props["explain"]
    assert explain["snap_m"] == pytest.approx(30, abs=0.1)
    assert metres(*explain["snapped_to"]) == pytest.approx((800, 1000), abs=0.05)
    assert explain["radius_m"] == 1000
    assert "within the 1,000 m radius" in explain["reason"]


def test_k_lists_the_nearest_in_order_and_max_m_cuts_them(client):
    body = nearest(client, lon=LON, lat=LAT, k=3, tier="village_center")
    walks = [(f["properties"]["id"], f["properties"]["walk_m"]) for f in body["features"]]
    assert [w[0] for w in walks] == ["F2", "F1"]  # two village centers exist
    assert [w[1] for w in walks] == pytest.approx([340, 640], abs=0.2)
    assert [f["properties"]["rank"] for f in body["features"]] == [1, 2]
    cut = nearest(client, lon=LON, lat=LAT, k=3, tier="village_center", max_m=500)
    assert [f["properties"]["id"] for f in cut["features"]] == ["F2"]
    none = nearest(client, lon=LON, lat=LAT, tier="village_center", max_m=300)
    assert none["features"] == []
    assert none["status"] == "beyond_max"
    assert "none within 300 m" in none["tiers"][0]["reason"]
    assert "340 m" in none["tiers"][0]["reason"]


def test_stand_in_tiers_answer_for_a_lower_tier_and_the_tier_filter_is_kept(client):
    body = nearest(client, lon=LON, lat=LAT, tier="compound_station", k=4)
    got = [
        (f["properties"]["id"], f["properties"]["tier"], round(f["properties"]["walk_m"]))
        for f in body["features"]
    ]
    assert got == [
        ("F2", "village_center", 340),
        ("F1", "village_center", 640),
        ("F4", "compound_station", 1135),
        ("F3", "community_center", 1735),
    ]
    assert {f["properties"]["for_tier"] for f in body["features"]} == {"compound_station"}
    assert body["features"][0]["properties"]["within_radius"] is False  # 340 m against 300 m
    community = nearest(client, location=f"{LON},{LAT}", tier="community_center")
    (only,) = community["features"]
    assert only["properties"]["id"] == "F3"
    assert only["properties"]["address"] == "新华路1号"
    reason = only["properties"]["explain"]["reason"]
    assert "1,735 m on foot" in reason
    assert "beyond the 1,000 m radius" in reason


def test_two_tiers_at_once(client):
    body = nearest(client, lon=LON, lat=LAT, tier="village_center,compound_station")
    assert [(f["properties"]["for_tier"], f["properties"]["id"]) for f in body["features"]] == [
        ("village_center", "F2"),
        ("compound_station", "F2"),
    ]


@pytest.mark.parametrize("k", [1, 3])
def test_the_route_is_exactly_as_long_as_the_walk(client, k):
    body = nearest(client, lon=LON, lat=LAT, tier="compound_station", k=k, route="true")
    assert len(body["features"]) == k
    for feature in body["features"]:
        props = feature["properties"]
        route = props["route"]
        assert route["type"] == "LineString"
        assert route_length(route["coordinates"]) == pytest.approx(props["walk_m"], abs=0.3)
        assert metres(*route["coordinates"][0]) == pytest.approx(P, abs=0.05)
        assert route["coordinates"][-1] == pytest.approx(feature["geometry"]["coordinates"], abs=1e-7)


def test_a_route_along_the_shared_edge(client):
    x, y = 1090.0, 1003.0  # on the edge F2 snaps to, 10 m west of it
    body = nearest(
        client, **dict(zip(("lon", "lat"), lonlat(x, y), strict=True)), tier="village_center", route="true"
    )
    props = body["features"][0]["properties"]
    assert props["id"] == "F2"
    assert props["walk_m"] == pytest.approx(3 + 10 + 10, abs=0.1)
    assert route_length(props["route"]["coordinates"]) == pytest.approx(props["walk_m"], abs=0.2)


@pytest.mark.parametrize("system", ["wgs84", "cgcs2000", "gcj02", "bd09"])
def test_every_coordinate_system_round_trips_within_a_metre(client, system):
    lon, lat = from_wgs84(np.array([LON]), np.array([LAT]), system)
    body = nearest(client, lon=float(lon[0]), lat=float(lat[0]), coordsys=system)
    assert body["query"]["coordsys"] == system
    assert body["query"]["out_coordsys"] == system
    props = body["features"][0]["properties"]
    assert props["walk_m"] == pytest.approx(340, abs=1.0)
    back = to_wgs84(*(np.array([c]) for c in body["features"][0]["geometry"]["coordinates"]), system)
    assert metres(float(back[0][0]), float(back[1][0])) == pytest.approx((1100, 990), abs=1.0)
    snapped = to_wgs84(*(np.array([c]) for c in props["explain"]["snapped_to"]), system)
    assert metres(float(snapped[0][0]), float(snapped[1][0])) == pytest.approx((800, 1000), abs=1.0)


def test_answers_in_another_system_when_asked(client):
    lon, lat = from_wgs84(np.array([LON]), np.array([LAT]), "gcj02")
    body = nearest(client, lon=float(lon[0]), lat=float(lat[0]), coordsys="gcj02", out_coordsys="wgs84")
    assert metres(*body["features"][0]["geometry"]["coordinates"]) == pytest.approx((1100, 990), abs=1.0)


def test_location_is_lng_comma_lat(client):
    a = nearest(client, location=f"{LON},{LAT}")
    b = nearest(client, lon=LON, lat=LAT)
    assert a["features"] == b["features"]


def test_a_swapped_pair_is_a_422_problem_with_a_hint(client):
    r = client.get("/v1/nearest", params={"lon": LAT, "lat": LON})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"].endswith("swapped-coordinates")
    assert problem["status"] == 422
    assert {e["name"] for e in problem["errors"]} == {"lon", "lat"}
    assert f"lon={LON:g}&lat={LAT:g}" in problem["hint"]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"lon": 113.6}, "lat"),
        ({"location": "abc"}, "location"),
        ({"lon": 200, "lat": 10}, "lon"),
        ({"lon": 113.6, "lat": 37.7, "k": 11}, "k"),
    ],
)
def test_bad_parameters_are_422_problems_naming_them(client, params, name):
    r = client.get("/v1/nearest", params=params)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert name in {e["name"] for e in r.json()["errors"]}


def test_an_unknown_tier_names_the_known_ones(client):
    r = client.get("/v1/nearest", params={"lon": LON, "lat": LAT, "tier": "palace"})
    assert r.status_code == 422
    assert "village_center" in r.json()["errors"][0]["message"]


def test_off_network_outside_and_unreachable_points_get_answers_not_errors(client):
    off = nearest(client, **dict(zip(("lon", "lat"), lonlat(1500, 1500), strict=True)))
    assert off["status"] == "off_network"
    assert "500 m from the nearest path" in off["reason"]
    assert off["snap"]["on_network"] is False
    assert off["snap"]["snap_m"] == pytest.approx(500, abs=0.5)
    outside = nearest(client, **dict(zip(("lon", "lat"), lonlat(5000, 1000), strict=True)))
    assert outside["status"] == "outside_area"
    assert outside["features"] == []
    far = nearest(client, lon=10.0, lat=10.0)
    assert far["status"] == "outside_area"
    cut_off = nearest(client, **dict(zip(("lon", "lat"), lonlat(3500, 510), strict=True)))
    assert cut_off["query"]["tiers"] == ["community_center"]
    assert cut_off["status"] == "unreachable"
    assert "not connected" in cut_off["tiers"][0]["reason"]


def test_a_tier_without_facilities_says_so(client):
    body = nearest(client, lon=LON, lat=LAT, tier="courier_station")
    assert body["status"] == "no_facility"
    assert body["features"] == []


def test_a_walk_just_beyond_the_radius_never_reads_as_the_radius():
    from servicegrid.api.answers import reason_text

    assert reason_text(1000.21, 1200.0, 1000.0, 0.0, "en").startswith("1,000.2 m on foot, beyond the 1,000 m")
    assert reason_text(1000.21, 1200.0, 1000.0, 0.0, "zh").startswith("步行1,000.2米，超出1,000米服务半径")
    assert reason_text(1000.0, 900.0, 1000.0, 0.0, "en") == "1,000 m on foot, within the 1,000 m radius"


def test_one_point_alone_is_answered_as_in_a_batch(client):
    # A request converts, locates and answers one point on Python numbers (the hot path); it must
    # give what the vectorized path gives the same point in a batch: its metric position, the
    # polygons it lies in, the nearest facility of every tier and the walk, facilities on the
    # point's own edge included.
    state = client.app.state.service.state()
    grid = [(x, y) for x in range(-100, 4101, 150) for y in range(-100, 2101, 125)]
    on_edges = [(1100.0, 1000.0), (2500.0, 1004.0), (500.0, 1795.0), (3500.0, 500.0), (900.0, 1000.0)]
    lonlats = np.array([lonlat(x, y) for x, y in grid + on_edges])
    xy = state.converter.to_metric(*lonlats.T, "wgs84")
    for i, (lon, lat) in enumerate(lonlats):  # pyproj's scalar call for one point, as for many
        np.testing.assert_allclose(state.converter.to_metric(lon, lat, "wgs84"), xy[i : i + 1], atol=1e-9)
        np.testing.assert_allclose(state.converter.to_lonlat(xy[i], "wgs84"), lonlats[i : i + 1], atol=1e-12)
    located = state.areas.locate(xy)
    snapped = state.index.snap(xy)
    for tier in state.index.tiers:
        batch = state.index.nearest(tier, snapped)
        for i in range(len(xy)):
            alone = state.index.nearest(tier, state.index.snap(xy[i : i + 1]))
            assert alone.facility.tolist() == [batch.facility[i]], (tier, i)
            np.testing.assert_allclose(alone.walk_m, batch.walk_m[i : i + 1], atol=1e-9)
    assert (located.inside.sum(), (~located.inside).sum()) > (0, 0)
    for i in range(len(xy)):
        one = state.areas.locate(xy[i : i + 1])
        assert {k: v.tolist() for k, v in one.at.items()} == {k: [v[i]] for k, v in located.at.items()}
        assert one.inside.tolist() == [located.inside[i]]
