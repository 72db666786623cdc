"""``GET /v1/nearest``: the nearest service centers of a point on foot, the hot path."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from ..answers import nearest_answer
from ..points import parse_position
from ..schemas import GEOJSON, NearestCollection, responses
from ..serialization import geojson
from ._common import Coords, check_tiers, query_parameters, read_query

router = APIRouter(tags=["nearest"])

MAX_K = 10


class NearestQuery(BaseModel):
    """The query parameters of ``GET /v1/nearest`` (documented and validated from here)."""

    lon: float | None = Field(None, description="Longitude in degrees, -180…180 (east positive).")
    lat: float | None = Field(None, description="Latitude in degrees, -90…90.")
    location: str | None = Field(
        None,
        description="The position as 'lng,lat', longitude first (the form Amap callers write); instead of lon and lat.",
        max_length=64,
        pattern=r"^\s*-?\d+(\.\d+)?\s*[,，]\s*-?\d+(\.\d+)?\s*$",
    )
    coordsys: Coords = Field(
        "wgs84",
        description="Coordinate system of the position given: wgs84 (GPS), cgcs2000, gcj02 (Amap, Tencent), bd09 (Baidu).",
    )
    out_coordsys: Coords | None = Field(
        None, description="Coordinate system of the answer's positions (default: the one given in coordsys)."
    )
    tier: list[str] | None = Field(
        None,
        description="Tier id(s), repeated or comma-separated (default: the tiers that serve a point there).",
    )
    k: int = Field(1, ge=1, le=MAX_K, description="How many facilities per tier, nearest first.")
    max_m: float | None = Field(
        None, gt=0, le=100_000, description="Only facilities within this walk (metres)."
    )
    route: bool = Field(False, description="Add the walking path as a LineString (properties.route).")


@router.get(
    "/v1/nearest",
    summary="Nearest service centers on foot",
    response_class=Response,
    responses=responses(NearestCollection, media=GEOJSON),
    openapi_extra={"parameters": query_parameters(NearestQuery)},
)
async def nearest(request: Request) -> Response:
    """Which service center of each tier is nearest to the point, and how far on foot.

    A GeoJSON FeatureCollection, one feature per facility found: its id, name, tier, grade,
    address and opening hours when the register has them, `walk_m`, `walk_min`, `straight_m`,
    whether it is within the tier's radius and an `explain` block. `status` says `ok`, or why
    there is no answer: `outside_area`, `off_network` (beyond the snap limit), or per tier in
    `tiers` `no_facility`, `unreachable` (no facility on the point's piece of the network),
    `beyond_max`.
    """
    q = read_query(request, NearestQuery)
    service = request.app.state.service
    state = service.state()
    x, y = parse_position(q.lon, q.lat, q.location)
    answer = nearest_answer(
        state,
        x,
        y,
        coordsys=q.coordsys,
        out=q.out_coordsys or q.coordsys,
        tiers=check_tiers(state, q.tier),
        k=q.k,
        max_m=q.max_m,
        route=q.route,
        search_limit_m=service.settings.search_limit_m,
        lang=service.settings.lang,
    )
    return geojson(answer)
