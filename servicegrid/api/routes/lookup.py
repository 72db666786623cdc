"""``GET /v1/lookup`` (where a point is and how each tier covers it) and the coverage results.

``/v1/coverage/summary``, ``/v1/coverage/areas`` and ``/v1/coverage/gaps`` answer from the
coverage stage's own result (:func:`servicegrid.pipeline.measure_coverage`), computed on first
use and again after an update; the lookup reads the per-unit coverage the service keeps current.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from ..points import parse_position, rounded_lonlat
from ..schemas import GEOJSON, Collection, LookupAnswer, SummaryAnswer, responses
from ..serialization import geojson, json, records, rounded
from ._common import CoordSys, OutCoordSys, check_tiers
from .collections import Limit, Offset, geometry_json, page

router = APIRouter(tags=["lookup and coverage"])

_UNIT_ORDER = ("compounds", "settlements", "villages", "grids")


def _area(state: Any, layer: str, position: int) -> dict[str, Any] | None:
    if position < 0:
        return None
    row = state.areas.frames[layer].iloc[position]
    out = {"id": str(row["id"]), "name": None if pd.isna(row.get("name")) else str(row.get("name"))}
    if layer == "villages" and state.areas.village_kind is not None:
        out["kind"] = str(state.areas.village_kind[position])
    return out


@router.get(
    "/v1/lookup",
    summary="Which township, village, grid and compound a point is in, and its coverage per tier",
    response_class=Response,
    responses=responses(LookupAnswer),
)
async def lookup(
    request: Request,
    lon: Annotated[float | None, Query(description="Longitude in degrees, -180…180.")] = None,
    lat: Annotated[float | None, Query(description="Latitude in degrees, -90…90.")] = None,
    location: Annotated[
        str | None,
        Query(
            max_length=64, pattern=r"^\s*-?\d+(\.\d+)?\s*[,，]\s*-?\d+(\.\d+)?\s*$", description="'lng,lat'"
        ),
    ] = None,
    coordsys: CoordSys = "wgs84",
) -> Response:
    """The units the point lies in and, per walk-based tier, whether the unit it belongs to is covered,
    by which facility and how far — and how far the point itself walks to that tier's nearest."""
    service = request.app.state.service
    state = service.state()
    x, y = parse_position(lon, lat, location)
    xy = state.converter.to_metric(np.array([x]), np.array([y]), coordsys)
    located = state.areas.locate(xy)
    at = {layer: int(pos[0]) for layer, pos in located.at.items()}
    answer: dict[str, Any] = {
        "query": {"lon": x, "lat": y, "coordsys": coordsys},
        "inside": bool(located.inside[0]),
        **{
            name: _area(state, f"{name}s", at.get(f"{name}s", -1))
            for name in ("township", "village", "grid", "compound", "settlement")
        },
        "coverage": [],
    }
    if not answer["inside"]:
        return json(answer)
    units = state.units
    key = units_key(units)
    snap = state.index.snap(xy)
    table = state.facilities
    for spec in state.walk_tiers:
        served = units.served[spec.tier]
        entry: dict[str, Any] = {"tier": spec.tier, "radius_m": spec.radius_m, "unit": None}
        for layer in _UNIT_ORDER:
            area = answer.get(layer[:-1] if layer != "villages" else "village")
            if area is None:
                continue
            pos = key.get((layer, area["id"]))
            if pos is None:
                continue
            i = int(np.searchsorted(served, pos))
            if i < served.size and served[i] == pos:
                fac = int(units.facility[spec.tier][i])
                walk = float(units.walk_m[spec.tier][i])
                entry.update(
                    unit={"layer": layer, "id": area["id"], "name": area["name"]},
                    covered=bool(units.covered(spec.tier)[i]),
                    facility_id=None if fac < 0 else str(table.ids[fac]),
                    facility_name=None if fac < 0 else table.props[fac].get("name"),
                    walk_m=rounded(walk),
                )
                break
        mine = state.index.nearest(spec.tier, snap)
        fac = int(mine.facility[0])
        entry["point"] = {
            "facility_id": None if fac < 0 else str(table.ids[fac]),
            "walk_m": rounded(float(mine.walk_m[0])),
        }
        answer["coverage"].append(entry)
    return json(answer)


def units_key(units: Any) -> dict[tuple[str, str], int]:
    """(unit layer, unit id) → position in the units frame (kept with the units)."""
    cached = getattr(units, "_key", None)
    if cached is None:
        frame = units.units
        cached = {
            (str(a), str(b)): i
            for i, (a, b) in enumerate(zip(frame["unit_layer"], frame["unit_id"], strict=True))
        }
        object.__setattr__(units, "_key", cached)
    return cached


@router.get(
    "/v1/coverage/summary",
    summary="Coverage rates per tier: the county and its townships, or one township and its villages",
    response_class=Response,
    responses=responses(SummaryAnswer, errors=(404, 422)),
)
def coverage_summary(
    request: Request,
    township: Annotated[
        str | None, Query(max_length=200, description="A township id: it and its villages.")
    ] = None,
    tier: Annotated[
        list[str] | None, Query(description="Tier id(s) (default: every walk-based tier).")
    ] = None,
) -> Response:
    state = request.app.state.service.state()
    tiers = check_tiers(state, tier)
    result = state.coverage
    rows = result.summary
    if township is None:
        rows = rows[rows["level"].isin(["county", "township"])]
    else:
        villages = state.project.workspace.layer("villages")
        mine = (
            set(villages.loc[villages["township_id"].astype("string") == township, "id"].astype(str))
            if len(villages)
            else set()
        )
        if township not in set(state.project.workspace.layer("townships")["id"].astype(str)) and not mine:
            from ..problems import Problem

            raise Problem(404, f"no township '{township}'", kind="not-found")
        rows = rows[
            ((rows["level"] == "township") & (rows["area_id"] == township))
            | ((rows["level"] == "village") & rows["area_id"].isin(mine))
        ]
    if tiers:
        rows = rows[rows["tier"].isin(tiers)]
    return json({"method": result.method, "township": township, "rows": records(rows)})


def _features(frame: Any, state: Any, out: str, columns: list[str]) -> list[dict[str, Any]]:
    geoms = frame.geometry.to_crs(4326).to_numpy()
    props = records(pd.DataFrame(frame.drop(columns=frame.geometry.name)), columns)
    return [
        {"type": "Feature", "id": None, "geometry": geometry_json(g, state, out), "properties": p}
        for g, p in zip(geoms, props, strict=True)
    ]


@router.get(
    "/v1/coverage/areas",
    summary="Service areas: each facility's catchment within its tier's radius",
    response_class=Response,
    responses=responses(Collection, media=GEOJSON),
)
def coverage_areas(
    request: Request,
    tier: Annotated[list[str] | None, Query(description="Tier id(s).")] = None,
    out_coordsys: OutCoordSys = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    state = request.app.state.service.state()
    tiers = check_tiers(state, tier)
    areas = state.coverage.service_areas
    if tiers and len(areas):
        areas = areas[areas["tier"].isin(tiers)]
    columns = [c for c in areas.columns if c != areas.geometry.name] if len(areas) else []
    return geojson(
        page(
            request,
            areas,
            limit,
            offset,
            lambda part: _features(part, state, out_coordsys or "wgs84", columns),
        )
    )


@router.get(
    "/v1/coverage/gaps",
    summary="Units beyond their tier's radius: the last hundred metres, the last kilometre",
    response_class=Response,
    responses=responses(Collection, media=GEOJSON),
)
def coverage_gaps(
    request: Request,
    tier: Annotated[list[str] | None, Query(description="Tier id(s).")] = None,
    township: Annotated[str | None, Query(max_length=200, description="A township id.")] = None,
    out_coordsys: OutCoordSys = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    state = request.app.state.service.state()
    tiers = check_tiers(state, tier)
    gaps = state.coverage.gaps
    if len(gaps):
        if tiers:
            gaps = gaps[gaps["tier"].isin(tiers)]
        if township is not None:
            gaps = gaps[(gaps["township_id"].astype("string") == township).fillna(False).to_numpy()]
    columns = [c for c in gaps.columns if c != gaps.geometry.name] if len(gaps) else []
    return geojson(
        page(
            request,
            gaps,
            limit,
            offset,
            lambda part: _features(part, state, out_coordsys or "wgs84", columns),
        )
    )


__all__ = ["rounded_lonlat", "router", "units_key"]
