"""POST /v1/nearest:batch: GeoJSON and CSV in UTF-8, UTF-8 with BOM and GB18030; order, bad rows, limits."""

from __future__ import annotations

import csv
import io

import pytest

from servicegrid.api import create_app
from tests.api.conftest import P, lonlat

LON, LAT = lonlat(*P)
OFF = lonlat(1500, 1500)


def _collection(points):
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": fid,
                "geometry": None if xy is None else {"type": "Point", "coordinates": list(xy)},
                "properties": {},
            }
            for fid, xy in points
        ],
    }


def test_geojson_rows_are_answered_in_order_with_their_own_errors(client):
    body = _collection([("a", (LON, LAT)), ("b", OFF), ("c", None), ("d", (LAT, LON)), ("e", (LON, LAT))])
    r = client.post("/v1/nearest:batch", json=body)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    out = r.json()
    props = [f["properties"] for f in out["features"]]
    assert [p["id"] for p in props] == ["a", "b", "c", "d", "e"]
    assert [p["row"] for p in props] == [1, 2, 3, 4, 5]
    assert [p["status"] for p in props] == ["ok", "off_network", "error", "error", "ok"]
    assert props[0]["nearest"][0]["facility_id"] == "F2"
    assert props[0]["nearest"][0]["walk_m"] == pytest.approx(340, abs=0.2)
    assert props[4]["nearest"] == props[0]["nearest"]
    assert "no Point geometry" in props[2]["error"]
    assert "look swapped" in props[3]["error"]
    assert out["errors"] == 2
    assert out["numberReturned"] == 5


def test_the_batch_answer_matches_single_requests(client):
    points = [
        lonlat(x, y)
        for x, y in [(100, 1020), (700, 1100), (1300, 980), (1900, 1010), (2200, 1010), (2900, 1030)]
    ]
    r = client.post("/v1/nearest:batch", json=_collection([(str(i), p) for i, p in enumerate(points)]))
    batch = [f["properties"]["nearest"] for f in r.json()["features"]]
    for p, answer in zip(points, batch, strict=True):
        single = client.get("/v1/nearest", params={"lon": p[0], "lat": p[1]}).json()
        expect = [
            (f["properties"]["for_tier"], f["properties"]["id"], f["properties"]["walk_m"])
            for f in single["features"]
        ]
        assert [(a["tier"], a["facility_id"], a["walk_m"]) for a in answer] == expect


def _csv_bytes(encoding: str, name: str = "张家") -> bytes:
    rows = [
        ["编号", "经度", "纬度"],
        [f"{name}1", f"{LON:.8f}", f"{LAT:.8f}"],
        [f"{name}2", "abc", "37.7"],
        [f"{name}3", f"{OFF[0]:.8f}", f"{OFF[1]:.8f}"],
    ]
    text = "\r\n".join(",".join(r) for r in rows) + "\r\n"
    return text.encode(encoding)


@pytest.mark.parametrize(
    ("encoding", "name"),
    [
        ("utf-8", "张家"),
        ("utf-8-sig", "张家"),
        ("gb18030", "𠀀家"),
    ],  # 𠀀 (U+20000) exists only in GB18030, not GBK
)
def test_csv_uploads_in_every_register_encoding(client, encoding, name):
    data = _csv_bytes(encoding, name)
    for kwargs in (
        {"content": data, "headers": {"content-type": "text/csv"}},
        {"files": {"file": ("points.csv", data, "text/csv")}},
    ):
        r = client.post("/v1/nearest:batch", **kwargs)
        assert r.status_code == 200, r.text
        props = [f["properties"] for f in r.json()["features"]]
        assert [p["id"] for p in props] == [f"{name}1", f"{name}2", f"{name}3"]
        assert [p["status"] for p in props] == ["ok", "error", "off_network"]
        assert "not numbers" in props[1]["error"]


def test_csv_back_when_asked(client):
    r = client.post(
        "/v1/nearest:batch",
        content=_csv_bytes("utf-8"),
        headers={"content-type": "text/csv", "accept": "text/csv"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["row"] for row in rows] == ["1", "2", "3"]
    assert rows[0]["facility_id"] == "F2"
    assert float(rows[0]["walk_m"]) == pytest.approx(340, abs=0.2)
    assert rows[1]["status"] == "error"
    assert rows[1]["error"]
    same = client.post(
        "/v1/nearest:batch?format=csv", content=_csv_bytes("utf-8"), headers={"content-type": "text/csv"}
    )
    assert same.content == r.content


def test_too_many_rows_is_413_stating_the_limit(county_file):
    from fastapi.testclient import TestClient

    with TestClient(create_app(county_file, batch_max_rows=2)) as small:
        r = small.post("/v1/nearest:batch", json=_collection([(str(i), (LON, LAT)) for i in range(3)]))
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"
        assert "3 rows" in r.json()["detail"]
        assert "limit is 2 rows" in r.json()["detail"]
        assert small.post("/v1/nearest:batch", json=_collection([("a", (LON, LAT))] * 2)).status_code == 200


@pytest.mark.parametrize(
    ("content", "media", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"type": "Feature"}', "application/json", 422),
        (b"a,b\n1,2\n", "text/csv", 422),
        (b"\x00", "image/png", 415),
    ],
)
def test_unreadable_bodies_are_problems(client, content, media, status):
    r = client.post("/v1/nearest:batch", content=content, headers={"content-type": media})
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
