"""What the routes share: the current state of the request's service, parameters, tier checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import Query
from starlette.requests import Request

from ..problems import Problem

if TYPE_CHECKING:
    from ..service import Service
    from ..state import State

__all__ = ["CoordSys", "OutCoordSys", "check_tiers", "service", "state"]

Coords = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
CoordSys = Annotated[
    Coords,
    Query(
        description="Coordinate system of the position given: wgs84 (GPS), cgcs2000, gcj02 (Amap, Tencent), bd09 (Baidu)."
    ),
]
OutCoordSys = Annotated[
    Coords | None,
    Query(description="Coordinate system of the answer's positions (default: the one given in coordsys)."),
]


def service(request: Request) -> Service:
    """The service the request is answered by."""
    return request.app.state.service


def state(request: Request) -> State:
    """The current state of the request's service (503 while loading)."""
    return request.app.state.service.state()


def check_tiers(state: State, tiers: list[str] | None, name: str = "tier") -> list[str] | None:
    """``tiers`` if every one is a tier of the preset, else a 422 naming the known ones."""
    if not tiers:
        return None
    wanted = [t.strip() for value in tiers for t in value.split(",") if t.strip()]
    known = state.index.tiers
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise Problem(
            422,
            f"unknown tier(s): {', '.join(unknown)}",
            kind="invalid-parameters",
            errors=[
                {
                    "name": name,
                    "in": "query",
                    "message": f"'{t}' is not a tier; tiers are: {', '.join(known)}",
                }
                for t in unknown
            ],
        )
    return list(dict.fromkeys(wanted)) or None
