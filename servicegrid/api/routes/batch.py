"""``POST /v1/nearest:batch``: the nearest facilities of many points, from GeoJSON or a CSV upload.

The body is a GeoJSON FeatureCollection of points (``application/geo+json`` or
``application/json``), or a CSV table with id, lon and lat columns (``text/csv``, or a
``multipart/form-data`` upload in the field ``file``) in UTF-8 with or without a byte-order mark,
GBK or GB18030 (detected as the register readers detect them). Every row is answered in input
order; a row that cannot be read gets its own error and the others are still answered. More rows
than ``batch_max_rows`` is a 413 that states the limit. ``format=csv`` or ``Accept: text/csv``
answers a CSV table, one line per row and tier.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

import numpy as np
import orjson
from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InputError
from ...geo.chinacoords import to_wgs84
from ...geo.encoding import detect_text_encoding
from ..answers import batch_rows
from ..points import rounded_lonlat, swapped
from ..problems import Problem
from ..schemas import CSV, GEOJSON, BatchCollection, responses
from ..serialization import csv_response, geojson
from ._common import CoordSys, OutCoordSys, check_tiers

router = APIRouter(tags=["nearest"])

_LON = ("lon", "lng", "longitude", "long", "x", "经度", "东经")
_LAT = ("lat", "latitude", "y", "纬度", "北纬")
_ID = ("id", "编号", "序号", "name", "名称")
_CSV_COLUMNS = [
    "row",
    "id",
    "lon",
    "lat",
    "status",
    "error",
    "tier",
    "facility_id",
    "facility_name",
    "walk_m",
    "walk_min",
    "straight_m",
    "within_radius",
]

_BODY = {
    "required": True,
    "content": {
        GEOJSON: {
            "schema": {
                "type": "object",
                "properties": {"type": {"const": "FeatureCollection"}, "features": {"type": "array"}},
                "required": ["type", "features"],
            }
        },
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"type": {"const": "FeatureCollection"}, "features": {"type": "array"}},
                "required": ["type", "features"],
            }
        },
        CSV: {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


class _Rows:
    def __init__(self, n: int) -> None:
        self.ids: list[str | None] = [None] * n
        self.lon = np.full(n, np.nan)
        self.lat = np.full(n, np.nan)
        self.error: list[str | None] = [None] * n


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _check(rows: _Rows) -> np.ndarray:
    """Mark rows without a readable position, out of range, or swapped; the valid mask."""
    finite = np.isfinite(rows.lon) & np.isfinite(rows.lat)
    turned = finite & swapped(np.nan_to_num(rows.lon), np.nan_to_num(rows.lat))
    in_range = finite & ~turned & (np.abs(rows.lon) <= 180) & (np.abs(rows.lat) <= 90)
    for i in np.flatnonzero(~in_range & ~turned).tolist():
        rows.error[i] = rows.error[i] or "no longitude and latitude in degrees"
    for i in np.flatnonzero(turned).tolist():
        rows.error[i] = f"lon={rows.lon[i]:g} and lat={rows.lat[i]:g} look swapped (longitude first)"
    return in_range


def _from_geojson(body: bytes) -> _Rows:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, f"the body is not JSON ({exc})", kind="unreadable-body") from None
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "FeatureCollection"
        or not isinstance(doc.get("features"), list)
    ):
        raise Problem(
            422,
            "the body must be a GeoJSON FeatureCollection of points",
            kind="invalid-body",
            errors=[
                {
                    "name": "type",
                    "in": "body",
                    "message": "expected 'FeatureCollection' with a 'features' list",
                }
            ],
        )
    features = doc["features"]
    rows = _Rows(len(features))
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            rows.error[i] = "not a GeoJSON Feature"
            continue
        props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        fid = feature.get("id", props.get("id"))
        rows.ids[i] = None if fid is None else str(fid)
        geometry = feature.get("geometry")
        coords = (
            geometry.get("coordinates")
            if isinstance(geometry, dict) and geometry.get("type") == "Point"
            else None
        )
        if not isinstance(coords, list) or len(coords) < 2:
            rows.error[i] = "no Point geometry"
            continue
        lon, lat = _number(coords[0]), _number(coords[1])
        if lon is None or lat is None:
            rows.error[i] = "the coordinates are not numbers"
            continue
        rows.lon[i], rows.lat[i] = lon, lat
    return rows


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    keys = [h.strip().lower().lstrip("\ufeff") for h in header]
    for name in names:
        if name in keys:
            return keys.index(name)
    return None


def _cell(row: list[str], at: int | None) -> str:
    return row[at].strip() if at is not None and at < len(row) else ""


def _from_csv(data: bytes) -> _Rows:
    try:
        text = data.decode(detect_text_encoding(data, source="the uploaded table").encoding)
    except InputError as exc:
        raise Problem(422, str(exc), kind="unreadable-table") from None
    table = [
        row
        for row in csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
        if any(c.strip() for c in row)
    ]
    if not table:
        raise Problem(422, "the table is empty", kind="invalid-body")
    header = table[0]
    lon_at, lat_at, id_at = _column(header, _LON), _column(header, _LAT), _column(header, _ID)
    if lon_at is None or lat_at is None:
        raise Problem(
            422,
            f"the table needs lon and lat columns (headers found: {', '.join(header)})",
            kind="invalid-body",
            errors=[{"name": "lon/lat", "in": "body", "message": "columns named lon/lng/经度 and lat/纬度"}],
        )
    body = table[1:]
    rows = _Rows(len(body))
    for i, row in enumerate(body):
        rows.ids[i] = _cell(row, id_at) or None
        lon_text, lat_text = _cell(row, lon_at), _cell(row, lat_at)
        lon, lat = _number(lon_text), _number(lat_text)
        if lon is None or lat is None:
            rows.error[i] = f"lon {lon_text!r} / lat {lat_text!r} are not numbers"
            continue
        rows.lon[i], rows.lat[i] = lon, lat
    return rows


async def _read(request: Request) -> _Rows:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Problem(
                422,
                "upload the table in the form field 'file'",
                kind="invalid-body",
                errors=[{"name": "file", "in": "body", "message": "required"}],
            )
        return _from_csv(await upload.read())
    body = await request.body()
    if media in ("text/csv", "text/plain", "application/csv"):
        return _from_csv(body)
    if media in ("application/json", "application/geo+json", ""):
        return _from_geojson(body)
    raise Problem(415, f"the body must be GeoJSON or CSV, not {media}", kind="unsupported-media-type")


@router.post(
    "/v1/nearest:batch",
    summary="Nearest service centers of many points",
    response_class=Response,
    openapi_extra={"requestBody": _BODY},
    responses=responses(BatchCollection, media=GEOJSON, errors=(400, 413, 415, 422), also={CSV: None}),
)
async def nearest_batch(
    request: Request,
    coordsys: CoordSys = "wgs84",
    out_coordsys: OutCoordSys = None,
    tier: Annotated[
        list[str] | None, Query(description="Tier id(s) (default: the tiers that serve each point).")
    ] = None,
    max_m: Annotated[
        float | None, Query(gt=0, le=100_000, description="Only facilities within this walk (metres).")
    ] = None,
    format: Annotated[
        Literal["geojson", "csv"] | None, Query(description="Answer format (default by Accept).")
    ] = None,
) -> Response:
    """The nearest facility of each tier for every point, in input order, with per-row errors."""
    service = request.app.state.service
    state = service.state()
    tiers = check_tiers(state, tier)
    rows = await _read(request)
    limit = service.settings.batch_max_rows
    if len(rows.ids) > limit:
        raise Problem(
            413,
            f"the batch has {len(rows.ids):,} rows; the limit is {limit:,} rows per request (batch_max_rows)",
            kind="too-many-rows",
        )
    valid = _check(rows)
    answers = batch_rows(
        state,
        rows.lon,
        rows.lat,
        valid,
        coordsys=coordsys,
        tiers=tiers,
        max_m=max_m,
        lang=service.settings.lang,
    )
    out = out_coordsys or coordsys
    want_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    if want_csv:
        lines = []
        for i, answer in enumerate(answers):
            base = {
                "row": i + 1,
                "id": rows.ids[i],
                "lon": rows.lon[i] if valid[i] else None,
                "lat": rows.lat[i] if valid[i] else None,
                "status": answer["status"],
                "error": rows.error[i] or answer.get("error"),
            }
            lines.extend([{**base, **n} for n in answer["nearest"]] or [base])
        return csv_response(lines, _CSV_COLUMNS, filename="nearest.csv")
    positions = np.full((len(rows.ids), 2), np.nan)
    if valid.any():
        positions[valid] = np.column_stack([rows.lon[valid], rows.lat[valid]])
        if out != coordsys:
            w_lon, w_lat = to_wgs84(rows.lon[valid], rows.lat[valid], coordsys)
            positions[valid] = state.converter.wgs84_to(np.column_stack([w_lon, w_lat]), out)
    lonlat = rounded_lonlat(positions)
    features = []
    for i, answer in enumerate(answers):
        props = {"id": rows.ids[i], "row": i + 1, **answer}
        if rows.error[i]:
            props["error"] = rows.error[i]
        features.append(
            {
                "type": "Feature",
                "id": rows.ids[i],
                "geometry": {"type": "Point", "coordinates": lonlat[i]} if valid[i] else None,
                "properties": props,
            }
        )
    errors = sum(1 for a in answers if a["status"] == "error")
    return geojson(
        {
            "type": "FeatureCollection",
            "features": features,
            "numberReturned": len(features),
            "errors": errors,
            "query": {"coordsys": coordsys, "out_coordsys": out, "tiers": tiers, "max_m": max_m},
        }
    )
