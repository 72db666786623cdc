"""Live updates: ``PUT``/``POST``/``DELETE`` facilities, behind an API key (``X-API-Key``).

Without any key configured the service is read-only and refuses every update (403). The answer
is the coverage diff: per recomputed tier the units and households that gained or lost coverage,
and each unit that changed, with the facility and walk before and after.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Depends, Path
from fastapi.security import APIKeyHeader
from starlette.requests import Request
from starlette.responses import Response

from ...geo.chinacoords import to_wgs84
from ..problems import Problem
from ..schemas import FacilityBody, UpdateAnswer, responses
from ..serialization import json
from ..updates import Change
from ._common import CoordSys
from .collections import facility_feature

router = APIRouter(tags=["updates"])

_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key from the service's settings.")


def require_key(request: Request, key: Annotated[str | None, Depends(_KEY)] = None) -> str:
    """The caller's API key, if it is one of the configured keys."""
    settings = request.app.state.service.settings
    if settings.read_only:
        raise Problem(403, "this service is read-only: no API key is configured (api_keys)", kind="read-only")
    if not key:
        raise Problem(
            401,
            "updates need an API key in the X-API-Key header",
            kind="no-key",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    if not any(hmac.compare_digest(key.encode(), k.encode()) for k in settings.api_keys):
        raise Problem(403, "the API key is not one of the configured keys", kind="wrong-key")
    return key


Key = Annotated[str, Depends(require_key)]
FacilityId = Annotated[str, Path(max_length=200, pattern=r"^[^/\s][^/]*$", description="The facility id.")]
_ERRORS = (401, 403, 404, 409, 422, 500)


def _lonlat(body: FacilityBody, coordsys: str) -> tuple[float, float] | None:
    if body.geometry is None:
        return None
    lon, lat = body.geometry.coordinates[:2]
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Problem(
            422,
            "the geometry is not a longitude and latitude in degrees",
            kind="invalid-body",
            errors=[{"name": "geometry.coordinates", "in": "body", "message": "[lon, lat] in degrees"}],
        )
    w_lon, w_lat = to_wgs84([lon], [lat], coordsys)  # type: ignore[arg-type]
    return float(w_lon[0]), float(w_lat[0])


async def _apply(request: Request, change: Change, status: int = 200) -> Response:
    service = request.app.state.service
    diff = await anyio.to_thread.run_sync(service.change, change)
    state = service.state()
    position = state.facilities.find(change.facility_id)
    body: dict[str, Any] = {"version": diff.pop("version"), "seconds": diff.pop("seconds")}
    body["facility"] = facility_feature(state, position, "wgs84") if position is not None else None
    body.update(diff)
    return json(body, status=status)


@router.put(
    "/v1/facilities/{facility_id}",
    summary="Create a facility, or change the fields given of one",
    response_class=Response,
    responses=responses(UpdateAnswer, errors=_ERRORS),
)
async def put_facility(
    request: Request,
    facility_id: FacilityId,
    _key: Key,
    body: Annotated[FacilityBody, Body()],
    coordsys: CoordSys = "wgs84",
) -> Response:
    """Fields not given keep their values; ``null`` blanks one. A new facility needs a geometry."""
    change = Change(facility_id, "replace", dict(body.properties), _lonlat(body, coordsys))
    return await _apply(request, change)


@router.post(
    "/v1/facilities",
    summary="Add a facility",
    response_class=Response,
    status_code=201,
    responses=responses(UpdateAnswer, status=201, errors=_ERRORS),
)
async def post_facility(
    request: Request, _key: Key, body: Annotated[FacilityBody, Body()], coordsys: CoordSys = "wgs84"
) -> Response:
    """The id is the feature's ``id`` or ``properties.id``; 409 when it exists."""
    fid = body.id or body.properties.get("id")
    if fid is None or not str(fid).strip() or "/" in str(fid):
        raise Problem(
            422,
            "give the new facility an id (the feature's id or properties.id), without '/'",
            kind="invalid-body",
            errors=[{"name": "id", "in": "body", "message": "required"}],
        )
    change = Change(str(fid).strip(), "create", dict(body.properties), _lonlat(body, coordsys))
    return await _apply(request, change, status=201)


@router.delete(
    "/v1/facilities/{facility_id}",
    summary="Close a facility (status closed; the record stays)",
    response_class=Response,
    responses=responses(UpdateAnswer, errors=_ERRORS),
)
async def delete_facility(request: Request, facility_id: FacilityId, _key: Key) -> Response:
    return await _apply(request, Change(facility_id, "close"))
