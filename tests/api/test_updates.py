"""Live updates: keys, the next answer changed, the coverage diff, two writers, a crash mid-write."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import pytest
from fastapi.testclient import TestClient

from servicegrid.api import create_app
from servicegrid.geo.workspace import read_workspace
from tests.api.conftest import KEY, P, lonlat

LON, LAT = lonlat(*P)
AUTH = {"X-API-Key": KEY}


def _point(x, y):
    return {"type": "Point", "coordinates": list(lonlat(x, y))}


@pytest.fixture
def writable(county_copy):
    with TestClient(create_app(county_copy, api_keys=[KEY], lang="en")) as c:
        yield c


def test_a_read_only_service_refuses_updates(client):
    r = client.put("/v1/facilities/F1", json={"properties": {"name": "x"}}, headers=AUTH)
    assert r.status_code == 403
    assert "read-only" in r.json()["detail"]


def test_updates_need_the_right_key(writable):
    assert writable.put("/v1/facilities/F1", json={"properties": {"name": "x"}}).status_code == 401
    wrong = writable.put(
        "/v1/facilities/F1", json={"properties": {"name": "x"}}, headers={"X-API-Key": "not-the-key-000"}
    )
    assert wrong.status_code == 403
    assert wrong.headers["content-type"] == "application/problem+json"


def test_a_new_facility_changes_the_next_answer_and_returns_the_diff(writable, county_copy):
    q = dict(zip(("lon", "lat"), lonlat(1900, 1030), strict=True))
    before = writable.get("/v1/nearest", params=q).json()["features"][0]["properties"]
    assert (before["id"], before["walk_m"]) == ("F2", pytest.approx(30 + 800 + 10, abs=0.2))
    body = {
        "id": "F9",
        "geometry": _point(1950, 1010),
        "properties": {"名称": "李家庄服务站", "层级": "village_center", "面积": "150平方米"},
    }
    r = writable.post("/v1/facilities", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["version"] == 1
    assert out["facility"]["properties"]["name"] == "李家庄服务站"
    assert out["facility"]["properties"]["floor_area_m2"] == 150
    assert out["facility"]["properties"]["township_id"] == "T1"  # filled by spatial join
    assert "village_center" in out["tiers_recomputed"]
    assert "community_center" not in out["tiers_recomputed"]
    village = {t["tier"]: t for t in out["tiers"]}["village_center"]
    assert village["units_gained"] == 1
    assert village["households_gained"] == 80
    assert village["units_lost"] == 0
    (unit,) = [u for u in out["units"] if u["tier"] == "village_center"]
    assert unit["unit_id"] == "S2"
    assert unit["change"] == "gained"
    assert unit["households"] == 80
    assert unit["before"]["facility_id"] == "F2"
    assert unit["after"] == {
        "facility_id": "F9",
        "walk_m": pytest.approx(255, abs=0.5),
    }
    after = writable.get("/v1/nearest", params=q).json()["features"][0]["properties"]
    assert (after["id"], after["walk_m"]) == ("F9", pytest.approx(30 + 50 + 10, abs=0.2))
    stored = read_workspace(county_copy).layer("facilities")
    assert "F9" in set(stored["id"])
    assert writable.post("/v1/facilities", json=body, headers=AUTH).status_code == 409
    # the coverage results follow
    gaps = writable.get("/v1/coverage/gaps", params={"tier": "village_center"}).json()
    assert "S2" not in {f["properties"]["unit_id"] for f in gaps["features"]}


def test_closing_a_facility_loses_coverage(writable, county_copy):
    # F2 stands inside V2: V2 is served at 0 m. Closed, V2 is served from F1 across its boundary
    # at x = 1000 (800 m along the street + 10 m): still covered, only reassigned.
    r = writable.delete("/v1/facilities/F2", headers=AUTH)
    assert r.status_code == 200, r.text
    village = {t["tier"]: t for t in r.json()["tiers"]}["village_center"]
    assert (village["units_lost"], village["units_reassigned"]) == (0, 2)
    props = writable.get("/v1/nearest", params={"lon": LON, "lat": LAT}).json()["features"][0]["properties"]
    assert (props["id"], props["walk_m"]) == ("F1", pytest.approx(640, abs=0.2))
    assert writable.get("/v1/facilities/F2").json()["properties"]["status"] == "closed"
    assert read_workspace(county_copy).layer("facilities").set_index("id").loc["F2", "status"] == "closed"
    # Closing F1 too leaves the villages of T1 without a village center: V1 and V2 are lost.
    r = writable.delete("/v1/facilities/F1", headers=AUTH)
    lost = {
        u["unit_id"] for u in r.json()["units"] if u["tier"] == "village_center" and u["change"] == "lost"
    }
    assert {"V1", "V2"} <= lost
    village = {t["tier"]: t for t in r.json()["tiers"]}["village_center"]
    assert village["households_lost"] >= 550
    assert writable.delete("/v1/facilities/NOPE", headers=AUTH).status_code == 404


def test_a_bad_record_is_refused_and_nothing_is_written(writable, county_copy):
    before = county_copy.read_bytes()
    r = writable.put(
        "/v1/facilities/F1", json={"properties": {"tier": "palace", "面积": "abc"}}, headers=AUTH
    )
    assert r.status_code == 422
    fields = {e["name"] for e in r.json()["errors"]}
    assert {"tier", "floor_area_m2"} <= fields
    assert county_copy.read_bytes() == before
    new = writable.put("/v1/facilities/F8", json={"properties": {"tier": "village_center"}}, headers=AUTH)
    assert new.status_code == 422
    assert new.json()["errors"][0]["name"] == "geometry"


def test_moving_a_facility_in_gcj02(writable):
    from servicegrid.geo.chinacoords import from_wgs84

    lon, lat = lonlat(790, 1010)
    g_lon, g_lat = from_wgs84([lon], [lat], "gcj02")
    body = {"geometry": {"type": "Point", "coordinates": [float(g_lon[0]), float(g_lat[0])]}}
    assert writable.put("/v1/facilities/F1?coordsys=gcj02", json=body, headers=AUTH).status_code == 200
    props = writable.get("/v1/nearest", params={"lon": LON, "lat": LAT}).json()["features"][0]["properties"]
    assert props["id"] == "F1"
    assert props["walk_m"] == pytest.approx(30 + 10 + 10, abs=1.0)


def test_two_workers_see_each_other_and_concurrent_updates_both_survive(county_copy):
    a = TestClient(create_app(county_copy, api_keys=[KEY]))
    b = TestClient(create_app(county_copy, api_keys=[KEY]))
    results = {}

    def put(client, fid, name):
        results[fid] = client.put(
            f"/v1/facilities/{fid}", json={"properties": {"name": name}}, headers=AUTH
        ).status_code

    threads = [
        threading.Thread(target=put, args=(a, "F1", "甲")),
        threading.Thread(target=put, args=(b, "F3", "乙")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"F1": 200, "F3": 200}
    stored = read_workspace(county_copy).layer("facilities").set_index("id")
    assert stored.loc["F1", "name"] == "甲"
    assert stored.loc["F3", "name"] == "乙"
    for client in (a, b):
        assert client.get("/v1/facilities/F1").json()["properties"]["name"] == "甲"
        assert client.get("/v1/facilities/F3").json()["properties"]["name"] == "乙"
        assert client.get("/v1/status").json()["version"] == 2
    # a worker that did not write catches up for the next nearest answer too
    a.delete("/v1/facilities/F2", headers=AUTH)
    assert (
        b.get("/v1/nearest", params={"lon": LON, "lat": LAT}).json()["features"][0]["properties"]["id"]
        == "F1"
    )


def test_a_crash_during_the_write_leaves_the_previous_workspace(county_copy):
    script = textwrap.dedent(
        f"""
        import os, pyogrio
        from fastapi.testclient import TestClient
        from servicegrid.api import create_app
        app = create_app({str(county_copy)!r}, api_keys=[{KEY!r}])
        real = pyogrio.write_dataframe
        def crash(*args, **kwargs):
            real(*args, **kwargs)   # the layer is half-way into the temporary copy
            os._exit(17)            # the process dies before the copy replaces the workspace
        import servicegrid.geo.workspace as ws
        ws.pyogrio.write_dataframe = crash
        TestClient(app).put("/v1/facilities/F1", json={{"properties": {{"name": "never"}}}}, headers={{"X-API-Key": {KEY!r}}})
        """
    )
    before = county_copy.read_bytes()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 17, done.stderr
    assert county_copy.read_bytes() == before
    assert (
        read_workspace(county_copy).layer("facilities").set_index("id").loc["F1", "name"]
        == "东村党群服务中心"
    )
    with TestClient(create_app(county_copy)) as c:
        assert c.get("/v1/facilities/F1").json()["properties"]["name"] == "东村党群服务中心"
        assert c.get("/v1/status").json()["version"] == 0


def test_a_write_that_fails_answers_500_and_keeps_serving_the_old_state(county_copy, monkeypatch):
    import servicegrid.geo.workspace as ws

    with TestClient(create_app(county_copy, api_keys=[KEY])) as c:

        def fail(*args, **kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(ws.pyogrio, "write_dataframe", fail)
        r = c.put("/v1/facilities/F1", json={"properties": {"name": "never"}}, headers=AUTH)
        assert r.status_code == 500
        assert "nothing was changed" in r.json()["detail"]
        assert c.get("/v1/facilities/F1").json()["properties"]["name"] == "东村党群服务中心"
        stamp = county_copy.parent / ".servicegrid-cache" / f"{county_copy.name}.version.json"
        assert not stamp.exists() or json.loads(stamp.read_text())["version"] == 0
