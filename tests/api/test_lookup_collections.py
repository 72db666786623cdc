"""Lookups, coverage results, OGC-shaped collections and the township workbook."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pytest

from servicegrid.pipeline import load_network, measure_coverage, open_workspace
from tests.api.conftest import P, lonlat

LON, LAT = lonlat(*P)


def test_lookup_names_the_units_and_their_coverage(client):
    r = client.get("/v1/lookup", params={"lon": LON, "lat": LAT})
    assert r.status_code == 200
    body = r.json()
    assert body["inside"] is True
    assert body["township"] == {"id": "T1", "name": "青山镇"}
    assert body["village"]["id"] == "V1"
    assert body["village"]["kind"] == "village"
    assert body["compound"] is None
    village = {c["tier"]: c for c in body["coverage"]}["village_center"]
    assert village["unit"]["id"] == "V1"
    assert village["radius_m"] == 1000
    assert village["point"]["facility_id"] == "F2"
    assert village["point"]["walk_m"] == pytest.approx(340, abs=0.2)


def test_lookup_in_a_compound(client):
    body = client.get(
        "/v1/lookup", params={"lon": lonlat(2500, 1200)[0], "lat": lonlat(2500, 1200)[1]}
    ).json()
    assert body["compound"]["id"] == "C1"
    assert body["village"]["kind"] == "community"
    station = {c["tier"]: c for c in body["coverage"]}["compound_station"]
    assert station["unit"] == {"layer": "compounds", "id": "C1", "name": "幸福小区"}
    # from the gate (2450, 1100): 100 m to the street, 50 m along it, 5 m to F3 (a stand-in)
    assert station["facility_id"] == "F3"
    assert station["walk_m"] == pytest.approx(155, abs=0.2)
    assert station["covered"] is True


def test_lookup_outside_the_area(client):
    body = client.get("/v1/lookup", params={"lon": 10, "lat": 10}).json()
    assert body["inside"] is False
    assert body["coverage"] == []
    assert body["township"] is None


def test_the_service_keeps_the_coverage_stage_s_answer_unit_for_unit(app, county_file):
    state = app.state.service.state()
    project = open_workspace(county_file)
    result = measure_coverage(project, network=load_network(project))
    units = state.units
    for spec in state.walk_tiers:
        rows = result.units[result.units["tier"] == spec.tier]
        served = units.units.iloc[units.served[spec.tier]]
        assert list(served["unit_id"]) == list(rows["unit_id"])
        fac = units.facility[spec.tier]
        ids = [None if f < 0 else state.facilities.ids[f] for f in fac]
        assert ids == [
            None if v is None or v is np.nan else v
            for v in rows["facility_id"].astype(object).where(rows["facility_id"].notna(), None)
        ]
        np.testing.assert_allclose(
            np.nan_to_num(units.walk_m[spec.tier], posinf=-1),
            np.nan_to_num(rows["walk_m"].to_numpy(float), nan=-1),
            atol=0.01,
        )
        assert list(units.covered(spec.tier)) == list(rows["covered"])


def test_coverage_summary_areas_and_gaps(client):
    summary = client.get("/v1/coverage/summary").json()
    assert summary["method"] == "network"
    levels = {r["level"] for r in summary["rows"]}
    assert levels == {"county", "township"}
    town = client.get("/v1/coverage/summary", params={"township": "T1", "tier": "village_center"}).json()
    assert {r["area_id"] for r in town["rows"]} <= {"T1", "V1", "V2"}
    assert town["rows"]
    assert client.get("/v1/coverage/summary", params={"township": "T9"}).status_code == 404
    areas = client.get("/v1/coverage/areas", params={"tier": "village_center"}).json()
    assert {f["properties"]["facility_id"] for f in areas["features"]} == {"F1", "F2"}
    assert areas["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    gaps = client.get("/v1/coverage/gaps", params={"tier": "village_center", "township": "T1"}).json()
    assert {f["properties"]["unit_id"] for f in gaps["features"]} == {"S2"}  # 245 m to the path + 800 + 10


def test_facilities_paginate_with_ogc_counts_and_links(client):
    seen, url, pages = [], "/v1/facilities?limit=2", 0
    while url:
        page = client.get(url).json()
        assert page["numberMatched"] == 5
        assert page["numberReturned"] == len(page["features"]) <= 2
        seen += [f["id"] for f in page["features"]]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        url = nxt[0].replace("http://testserver", "") if nxt else None
        pages += 1
    assert pages == 3
    assert seen == ["F1", "F2", "F3", "F4", "F5"]
    assert any(
        link["rel"] == "prev" for link in client.get("/v1/facilities?limit=2&offset=2").json()["links"]
    )


def test_facility_filters_and_audit_fields(client):
    planned = client.get("/v1/facilities", params={"status": "planned"}).json()
    assert [f["id"] for f in planned["features"]] == ["F5"]
    villages = client.get("/v1/facilities", params={"tier": "village_center", "township": "T1"}).json()
    assert [f["id"] for f in villages["features"]] == ["F1", "F2", "F5"]
    one = client.get("/v1/facilities/F1").json()
    assert one["properties"]["grade"] in ("model", "compliant", "noncompliant")
    assert "missing_items_label" in one["properties"]
    assert one["properties"]["township_id"] == "T1"
    west, south = lonlat(0, 900)
    east, north = lonlat(1000, 1100)
    boxed = client.get("/v1/facilities", params={"bbox": f"{west},{south},{east},{north}"}).json()
    assert [f["id"] for f in boxed["features"]] == ["F1", "F5"]
    assert client.get("/v1/facilities/NOPE").status_code == 404
    assert client.get("/v1/facilities", params={"bbox": "1,2,3"}).status_code == 422


def test_townships_with_summaries_and_the_workbook(client):
    towns = client.get("/v1/townships").json()
    assert [f["id"] for f in towns["features"]] == ["T1", "T2"]
    t1 = client.get("/v1/townships/T1").json()
    summary = t1["properties"]["summary"]
    assert summary["facilities"] == 4
    assert summary["existing"] == 3
    village = {c["tier"]: c for c in summary["coverage"]}["village_center"]
    assert village["households"] == 300 + 250 + 60 + 80
    assert village["households_covered"] == 300 + 250 + 60
    r = client.get("/v1/townships/T1/audit.xlsx")
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    cells = {
        str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None
    }
    assert {"F1", "F2"} <= cells
    assert "F3" not in cells
    assert client.get("/v1/townships/T9/audit.xlsx").status_code == 404
