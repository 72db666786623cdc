"""``/v1/status``, ``/healthz`` and ``/readyz``: what is served, and whether it can answer yet."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ... import __version__
from ..problems import Problem
from ..schemas import Health, StatusAnswer, responses
from ..serialization import json
from ..state import counts, unsnapped

router = APIRouter(tags=["status"])

_HEALTHZ = b'{"status":"ok"}'


@router.get(
    "/healthz", summary="The process answers", response_class=Response, responses=responses(Health, errors=())
)
async def healthz() -> Response:
    return Response(_HEALTHZ, media_type="application/json")


@router.get(
    "/readyz",
    summary="The network and labels are loaded: the service answers",
    response_class=Response,
    responses=responses(Health, errors=(503,)),
)
async def readyz(request: Request) -> Response:
    service = request.app.state.service
    if not service.ready.is_set():
        detail = (
            f"cannot start: {service.failed}" if service.failed else "loading the workspace and its network"
        )
        raise Problem(503, detail, kind="not-ready", headers={"Retry-After": "1"})
    return json({"status": "ready", "load_seconds": service.load_seconds})


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).isoformat(timespec="seconds")


@router.get(
    "/v1/status",
    summary="What the service serves",
    response_class=Response,
    responses=responses(StatusAnswer, errors=()),
)
async def status(request: Request) -> Response:
    service = request.app.state.service
    state = service.state()
    project = state.project
    path = project.path
    maps_dir = path.parent / "maps" if path is not None else None
    maps = (
        [
            {"href": f"/maps/{p.name}", "rel": "alternate", "type": "text/html", "title": p.stem}
            for p in sorted(maps_dir.glob("*.html"))
        ]
        if maps_dir is not None and maps_dir.is_dir()
        else []
    )
    stamp = service.stamp()
    data_date = _iso(path.stat().st_mtime) if path is not None and path.exists() else None
    return json(
        {
            "workspace": path.name if path is not None else "",
            "name": project.settings.name,
            "data_date": data_date,
            "network": {
                "source": state.network_source,
                "hash": state.network_hash,
                "nodes": state.network.n_nodes,
                "edges": state.network.n_edges,
                "crs": state.network.crs.to_string(),
                "summary": state.network.summary(),
                "unreachable_facilities": unsnapped(state),
            },
            "preset": {"id": project.preset.id, "name": project.preset.zh, "name_en": project.preset.en},
            "tiers": {
                t: {"radius_m": ti.radius_m, "providers": list(ti.providers)}
                for t, ti in state.index.tiers.items()
            },
            "counts": counts(state),
            "servicegrid": __version__,
            "version": state.version,
            "last_update": stamp.get("updated_at") or _iso(state.updated_at),
            "loaded_at": _iso(state.loaded_at),
            "read_only": service.settings.read_only,
            "walk_speed_m_per_min": project.settings.walk_speed_m_per_min,
            "snap_limit_m": project.settings.snap_limit_m,
            "synthetic": project.settings.synthetic,
            "maps": maps,
        }
    )
