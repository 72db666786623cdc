"""``GET /v1/nearest``: the nearest service centers of a point on foot, the hot path."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from ..answers import nearest_answer
from ..points import parse_position
from ..schemas import GEOJSON, NearestCollection, responses
from ..serialization import geojson
from ._common import CoordSys, OutCoordSys, check_tiers

router = APIRouter(tags=["nearest"])

MAX_K = 10


@router.get(
    "/v1/nearest",
    summary="Nearest service centers on foot",
    response_class=Response,
    responses=responses(NearestCollection, media=GEOJSON),
)
async def nearest(
    request: Request,
    lon: Annotated[float | None, Query(description="Longitude in degrees, -180…180 (east positive).")] = None,
    lat: Annotated[float | None, Query(description="Latitude in degrees, -90…90.")] = None,
    location: Annotated[
        str | None,
        Query(
            description="The position as 'lng,lat', longitude first (the form Amap callers write); instead of lon and lat.",
            max_length=64,
            pattern=r"^\s*-?\d+(\.\d+)?\s*[,，]\s*-?\d+(\.\d+)?\s*$",
        ),
    ] = None,
    coordsys: CoordSys = "wgs84",
    out_coordsys: OutCoordSys = None,
    tier: Annotated[
        list[str] | None,
        Query(
            description="Tier id(s), repeated or comma-separated (default: the tiers that serve a point there)."
        ),
    ] = None,
    k: Annotated[int, Query(ge=1, le=MAX_K, description="How many facilities per tier, nearest first.")] = 1,
    max_m: Annotated[
        float | None, Query(gt=0, le=100_000, description="Only facilities within this walk (metres).")
    ] = None,
    route: Annotated[
        bool, Query(description="Add the walking path as a LineString (properties.route).")
    ] = False,
) -> Response:
    """Which service center of each tier is nearest to the point, and how far on foot.

    A GeoJSON FeatureCollection, one feature per facility found: its id, name, tier, grade,
    address and opening hours when the register has them, `walk_m`, `walk_min`, `straight_m`,
    whether it is within the tier's radius and an `explain` block. `status` says `ok`, or why
    there is no answer: `outside_area`, `off_network` (beyond the snap limit), or per tier in
    `tiers` `no_facility`, `unreachable` (no facility on the point's piece of the network),
    `beyond_max`.
    """
    service = request.app.state.service
    state = service.state()
    x, y = parse_position(lon, lat, location)
    answer = nearest_answer(
        state,
        x,
        y,
        coordsys=coordsys,
        out=out_coordsys or coordsys,
        tiers=check_tiers(state, tier),
        k=k,
        max_m=max_m,
        route=route,
        search_limit_m=service.settings.search_limit_m,
        lang=service.settings.lang,
    )
    return geojson(answer)
