"""Collections in the shape of OGC API – Features: facilities and townships, and the township workbook.

Pages have ``numberMatched``, ``numberReturned`` and ``links`` (``self``, ``next``, ``prev``);
``limit`` defaults to 100 (at most 1,000) and ``offset`` to 0; ``bbox=minlon,minlat,maxlon,maxlat``
is in the system of ``coordsys`` (WGS-84 by default). Every facility carries its audit result and
what it lacks; every township its facilities by grade and its coverage per tier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Path, Query
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from ...geo.chinacoords import from_wgs84, to_wgs84
from ..problems import Problem
from ..schemas import GEOJSON, Collection, Feature, responses
from ..serialization import geojson, records
from ._common import CoordSys, OutCoordSys, check_tiers

router = APIRouter(tags=["collections"])

Limit = Annotated[int, Query(ge=1, le=1000, description="Features per page (at most 1,000).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Features to skip.")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def geometry_json(geometry: Any, state: Any, out: str) -> dict[str, Any] | None:
    """A WGS-84 shapely geometry as GeoJSON in ``out``."""
    if geometry is None or shapely.is_empty(geometry):
        return None
    if out != "wgs84":
        geometry = shapely.transform(
            geometry,
            lambda xy: np.column_stack(from_wgs84(xy[:, 0], xy[:, 1], out)),
            include_z=False,  # type: ignore[arg-type]
        )
    geometry = shapely.set_precision(geometry, 1e-7) if out == "wgs84" else geometry
    return shapely.geometry.mapping(geometry)  # type: ignore[attr-defined]


def page(
    request: Request, frame: Any, limit: int, offset: int, build: Callable[[Any], list[dict[str, Any]]]
) -> dict[str, Any]:
    """One OGC page of ``frame``: its features, counts and links."""
    matched = len(frame)
    part = frame.iloc[offset : offset + limit] if matched else frame
    features = build(part) if len(part) else []
    base = str(request.url.remove_query_params(["offset", "limit"]))
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")]

    def href(at: int) -> str:
        query = urlencode([*params, ("limit", str(limit)), ("offset", str(at))])
        return f"{base.split('?')[0]}?{query}"

    links = [{"href": href(offset), "rel": "self", "type": GEOJSON}]
    if offset + limit < matched:
        links.append({"href": href(offset + limit), "rel": "next", "type": GEOJSON})
    if offset > 0:
        links.append({"href": href(max(0, offset - limit)), "rel": "prev", "type": GEOJSON})
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
        "links": links,
    }


def _facility_features(part: pd.DataFrame, state: Any, out: str) -> list[dict[str, Any]]:
    columns = [c for c in part.columns if c != part.geometry.name]
    props = records(pd.DataFrame(part.drop(columns=part.geometry.name)), columns)
    geoms = part.geometry.to_numpy()
    return [
        {"type": "Feature", "id": p.get("id"), "geometry": geometry_json(g, state, out), "properties": p}
        for g, p in zip(geoms, props, strict=True)
    ]


def _bbox(text: str | None, coordsys: str) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or values[0] > values[2] or values[1] > values[3]:
        raise Problem(
            422,
            f"bbox={text!r} is not 'minlon,minlat,maxlon,maxlat'",
            kind="invalid-parameters",
            errors=[{"name": "bbox", "in": "query", "message": "four numbers, west,south,east,north"}],
        )
    lon, lat = to_wgs84(np.array(values[0::2]), np.array(values[1::2]), coordsys)  # type: ignore[arg-type]
    return float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])


@router.get(
    "/v1/facilities",
    summary="Facilities with their audit results",
    response_class=Response,
    responses=responses(Collection, media=GEOJSON),
)
def facilities(
    request: Request,
    tier: Annotated[list[str] | None, Query(description="Tier id(s).")] = None,
    grade: Annotated[list[str] | None, Query(description="Grade(s): model, compliant, noncompliant.")] = None,
    status: Annotated[
        list[str] | None, Query(description="Status(es): existing, planned, suspended, closed.")
    ] = None,
    township: Annotated[str | None, Query(max_length=200, description="A township id.")] = None,
    bbox: Annotated[
        str | None, Query(max_length=200, description="minlon,minlat,maxlon,maxlat in coordsys.")
    ] = None,
    coordsys: CoordSys = "wgs84",
    out_coordsys: OutCoordSys = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    state = request.app.state.service.state()
    frame = state.facilities.frame
    keep = np.ones(len(frame), dtype=bool)
    tiers = check_tiers(state, tier)
    for column, wanted in (("tier", tiers), ("grade", grade), ("status", status)):
        if wanted:
            values = [v.strip() for w in wanted for v in w.split(",")]
            keep &= (
                frame[column].astype("string").isin(values).fillna(False).to_numpy()
                if column in frame
                else False
            )
    if township is not None:
        keep &= (frame["township_id"].astype("string") == township).fillna(False).to_numpy()
    box = _bbox(bbox, coordsys)
    if box is not None:
        lonlat = state.facilities.lonlat
        with np.errstate(invalid="ignore"):
            keep &= (
                (lonlat[:, 0] >= box[0])
                & (lonlat[:, 0] <= box[2])
                & (lonlat[:, 1] >= box[1])
                & (lonlat[:, 1] <= box[3])
            )
    out = out_coordsys or coordsys
    body = page(request, frame[keep], limit, offset, lambda part: _facility_features(part, state, out))
    return geojson(body)


@router.get(
    "/v1/facilities/{facility_id}",
    summary="One facility with its audit result",
    response_class=Response,
    responses=responses(Feature, media=GEOJSON, errors=(404, 422)),
)
def facility(
    request: Request,
    facility_id: Annotated[str, Path(max_length=200)],
    out_coordsys: OutCoordSys = None,
) -> Response:
    state = request.app.state.service.state()
    position = state.facilities.find(facility_id)
    if position is None:
        raise Problem(404, f"no facility '{facility_id}'", kind="not-found")
    return geojson(facility_feature(state, position, out_coordsys or "wgs84"))


def facility_feature(state: Any, position: int, out: str) -> dict[str, Any]:
    """The feature of the facility at ``position``."""
    frame = state.facilities.frame
    return _facility_features(frame.iloc[position : position + 1], state, out)[0]


def _township_summary(state: Any, township_id: str) -> dict[str, Any]:
    frame = state.facilities.frame
    mine = frame[(frame["township_id"].astype("string") == township_id).fillna(False).to_numpy()]
    existing = mine[mine["status"] == "existing"]
    grades = (
        existing["grade"].astype("string").fillna("unknown").value_counts()
        if "grade" in existing
        else pd.Series(dtype=int)
    )
    tiers = existing["tier"].astype("string").value_counts()
    units = state.units
    hh = units.units["households"].astype("Float64").fillna(0).to_numpy(dtype=float)
    in_town = (units.units["township_id"].astype("string") == township_id).fillna(False).to_numpy()
    coverage = []
    for spec in state.walk_tiers:
        served = units.served[spec.tier]
        local = in_town[served]
        covered = units.covered(spec.tier)
        total = float(hh[served][local].sum())
        done = float(hh[served][local & covered].sum())
        coverage.append(
            {
                "tier": spec.tier,
                "units": int(local.sum()),
                "units_covered": int((local & covered).sum()),
                "households": int(total),
                "households_covered": int(done),
                "household_rate": round(done / total, 4) if total else None,
            }
        )
    return {
        "facilities": len(mine),
        "existing": len(existing),
        "by_grade": {str(k): int(v) for k, v in grades.items()},
        "by_tier": {str(k): int(v) for k, v in tiers.items()},
        "coverage": coverage,
    }


def _townships_frame(state: Any) -> Any:
    frame = state.project.workspace.layer("townships")
    return frame.reset_index(drop=True)


def _township_features(part: Any, state: Any, out: str, *, summary: bool) -> list[dict[str, Any]]:
    keep = [c for c in ("id", "name", "kind", "code") if c in part.columns]
    props = records(pd.DataFrame(part[keep]), keep)
    features = []
    for geometry, p in zip(part.geometry.to_numpy(), props, strict=True):
        if summary:
            p["summary"] = _township_summary(state, str(p["id"]))
        links = [
            {
                "href": f"/v1/townships/{p['id']}/audit.xlsx",
                "rel": "alternate",
                "type": XLSX,
                "title": "audit workbook",
            }
        ]
        for name in _maps(state, p):
            links.append({"href": f"/maps/{name}", "rel": "alternate", "type": "text/html", "title": "map"})
        features.append(
            {
                "type": "Feature",
                "id": p.get("id"),
                "geometry": geometry_json(geometry, state, out),
                "properties": p,
                "links": links,
            }
        )
    return features


def _maps(state: Any, township: dict[str, Any]) -> list[str]:
    folder = state.project.path.parent / "maps" if state.project.path is not None else None
    if folder is None or not folder.is_dir():
        return []
    keys = [str(township.get(k)) for k in ("id", "code", "name") if township.get(k)]
    return sorted(p.name for p in folder.glob("*.html") if any(key in p.stem for key in keys))


@router.get(
    "/v1/townships",
    summary="Townships and streets with their summaries",
    response_class=Response,
    responses=responses(Collection, media=GEOJSON),
)
def townships(
    request: Request, out_coordsys: OutCoordSys = None, limit: Limit = 100, offset: Offset = 0
) -> Response:
    state = request.app.state.service.state()
    frame = _townships_frame(state)
    out = out_coordsys or "wgs84"
    return geojson(
        page(request, frame, limit, offset, lambda part: _township_features(part, state, out, summary=True))
    )


def _township_position(state: Any, township_id: str) -> int:
    frame = _townships_frame(state)
    where = (
        np.flatnonzero((frame["id"].astype("string") == township_id).fillna(False).to_numpy())
        if len(frame)
        else []
    )
    if not len(where):
        raise Problem(404, f"no township '{township_id}'", kind="not-found")
    return int(where[0])


@router.get(
    "/v1/townships/{township_id}",
    summary="One township with its summary",
    response_class=Response,
    responses=responses(Feature, media=GEOJSON, errors=(404, 422)),
)
def township(
    request: Request, township_id: Annotated[str, Path(max_length=200)], out_coordsys: OutCoordSys = None
) -> Response:
    state = request.app.state.service.state()
    at = _township_position(state, township_id)
    frame = _townships_frame(state)
    return geojson(
        _township_features(frame.iloc[at : at + 1], state, out_coordsys or "wgs84", summary=True)[0]
    )


@router.get(
    "/v1/townships/{township_id}/audit.xlsx",
    summary="The township's audit workbook (the one `servicegrid audit` writes)",
    response_class=Response,
    responses={
        200: {
            "description": "The workbook",
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
        },
        **{k: v for k, v in responses(None, errors=(404, 422)).items() if k != 200},
    },
)
def township_workbook(request: Request, township_id: Annotated[str, Path(max_length=200)]) -> Response:
    from ...standards.workbook import township_file_name

    service = request.app.state.service
    state = service.state()
    at = _township_position(state, township_id)
    row = _townships_frame(state).iloc[at]
    folder = state.lazy["audit_dir"].get()
    code = row.get("code")
    name = township_file_name(
        None if pd.isna(code) else str(code),
        None if pd.isna(row.get("name")) else str(row.get("name")),
        township_id,
        lang=service.settings.lang,
    )
    path = folder / "townships" / name
    if not path.is_file():
        raise Problem(
            404, f"township '{township_id}' has no facilities to audit, so no workbook", kind="not-found"
        )
    return FileResponse(path, media_type=XLSX, filename=f"{township_id}_audit.xlsx")
