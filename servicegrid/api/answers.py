"""The nearest answer of one point and of a batch: facilities, distances and the reasons in words.

:func:`nearest_answer` builds the GeoJSON FeatureCollection of ``GET /v1/nearest``: one feature
per facility found (its properties, ``walk_m``, ``walk_min`` at the workspace's walking speed,
``straight_m``, ``within_radius``, and an ``explain`` block: where the point joined the network,
network against straight-line distance, the standard's radius and, beyond it, why), and the
query's own members (``query``, ``snap``, ``status`` and per tier ``tiers``). A point outside the
planning area, off the network or with no facility in reach gets a status and a reason, never
an error. :func:`batch_rows` answers many points at once with the vectorized index.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..coverage.analysis import RADIUS_EPS_M
from ..coverage.labels import beyond_text
from .index import Answer, Search
from .points import CoordSystem, rounded_lonlat
from .serialization import rounded
from .state import State

__all__ = ["batch_rows", "nearest_answer", "reason_text"]

_MAX_NOTE_SNAP_M = 30.0  # a snap farther than this is worth a word in the reason


def reason_text(walk: float, straight: float, radius: float | None, snap_m: float, lang: str) -> str:
    """Why a facility is (or is not) within its tier's radius, in words."""
    zh = lang == "zh"
    if radius is None:
        text = f"步行{walk:,.0f}米" if zh else f"{walk:,.0f} m on foot"
    elif walk <= radius + RADIUS_EPS_M:
        text = (
            f"步行{walk:,.0f}米，在{radius:,.0f}米服务半径内"
            if zh
            else f"{walk:,.0f} m on foot, within the {radius:,.0f} m radius"
        )
    elif straight <= radius:
        ratio = walk / straight if straight > 0 else float("inf")
        far = beyond_text(walk, radius)
        text = (
            f"步行{far}米，直线仅{straight:,.0f}米：{radius:,.0f}米内没有更近的路可走（绕行为直线的{ratio:.1f}倍），超出服务半径"
            if zh
            else f"{far} m on foot against {straight:,.0f} m straight: no shorter way on foot within "
            f"{radius:,.0f} m (a detour of {ratio:.1f} times the straight line), beyond the radius"
        )
    else:
        far = beyond_text(walk, radius)
        text = (
            f"步行{far}米，超出{radius:,.0f}米服务半径；直线距离也有{straight:,.0f}米"
            if zh
            else f"{far} m on foot, beyond the {radius:,.0f} m radius; {straight:,.0f} m even in a straight line"
        )
    if snap_m > _MAX_NOTE_SNAP_M:
        text += (
            f"（起点距最近道路{snap_m:,.0f}米）"
            if zh
            else f" (the point is {snap_m:,.0f} m from the nearest path)"
        )
    return text


def _feature(
    state: State,
    facility: int,
    walk: float,
    tier: str,
    rank: int,
    origin_xy: np.ndarray,
    snap_m: float,
    snapped_lonlat: list[float],
    out: CoordSystem,
    lang: str,
) -> dict[str, Any]:
    table = state.facilities
    radius = state.index.tiers[tier].radius_m
    straight = float(np.hypot(*(table.xy[facility] - origin_xy)))
    within = None if radius is None else bool(walk <= radius + RADIUS_EPS_M)
    speed = state.project.settings.walk_speed_m_per_min
    props = dict(table.props[facility])
    props.update(
        for_tier=tier,
        rank=rank,
        walk_m=rounded(walk),
        walk_min=rounded(walk / speed),
        straight_m=rounded(straight),
        radius_m=radius,
        within_radius=within,
        explain={
            "snapped_to": snapped_lonlat,
            "snap_m": rounded(snap_m),
            "network_m": rounded(walk),
            "straight_m": rounded(straight),
            "detour": rounded(walk / straight, 2) if straight > 0 else None,
            "radius_m": radius,
            "reason": reason_text(walk, straight, radius, snap_m, lang),
        },
    )
    lonlat = state.converter.wgs84_to(table.lonlat[facility], out)[0]
    return {
        "type": "Feature",
        "id": props.get("id"),
        "geometry": {"type": "Point", "coordinates": rounded_lonlat(lonlat)},
        "properties": props,
    }


def _tier_status(state: State, tier: str, nearest: Answer, max_m: float | None, lang: str) -> dict[str, Any]:
    """Why a tier has no answer for the point."""
    zh = lang == "zh"
    ti = state.index.tiers[tier]
    if ti.members.size == 0:
        status = "no_facility"
        reason = (
            "没有该层级（或可替代层级）的在用阵地"
            if zh
            else "no existing facility of this tier (or of a tier standing in for it)"
        )
    elif not np.isfinite(nearest.walk_m[0]):
        status = "unreachable"
        reason = (
            "不连通：该点所在的步行路网片区没有该层级的阵地"
            if zh
            else "not connected: no facility of this tier on the piece of the walking network the point is on"
        )
    else:
        status = "beyond_max"
        nearest_m = float(nearest.walk_m[0])
        reason = (
            f"{max_m:,.0f}米内没有（最近的步行{nearest_m:,.0f}米）"
            if zh
            else f"none within {max_m:,.0f} m on foot (the nearest is {nearest_m:,.0f} m)"
        )
    return {"tier": tier, "status": status, "found": 0, "reason": reason}


def nearest_answer(
    state: State,
    lon: float,
    lat: float,
    *,
    coordsys: CoordSystem,
    out: CoordSystem,
    tiers: list[str] | None,
    k: int,
    max_m: float | None,
    route: bool,
    search_limit_m: float,
    lang: str,
) -> dict[str, Any]:
    """The answer of ``GET /v1/nearest`` for one point."""
    zh = lang == "zh"
    xy = state.converter.to_metric(np.array([lon]), np.array([lat]), coordsys)
    query = {
        "lon": lon,
        "lat": lat,
        "coordsys": coordsys,
        "out_coordsys": out,
        "tiers": tiers,
        "k": k,
        "max_m": max_m,
        "route": route,
    }
    answer: dict[str, Any] = {"type": "FeatureCollection", "features": [], "query": query}
    located = state.areas.locate(xy)
    if not bool(located.inside[0]):
        answer.update(
            status="outside_area",
            reason="该点不在规划范围（各乡镇）内"
            if zh
            else "the point is outside the planning area (every township)",
            snap=None,
            tiers=[],
            numberReturned=0,
        )
        return answer
    snap = state.index.snap(xy)
    snap_m = float(snap.offset[0]) if np.isfinite(snap.offset[0]) else None
    if not bool(snap.ok[0]):
        limit = state.index.snap_limit_m
        answer.update(
            status="off_network",
            reason=f"{snap.reason[0]} (the snap limit is {limit:,.0f} m)",
            snap={"snapped_to": None, "snap_m": rounded(snap_m), "on_network": False},
            tiers=[],
            numberReturned=0,
        )
        return answer
    chosen = tiers or state.areas.serving_tiers(located, 0, state.walk_tiers)
    query["tiers"] = chosen
    snapped = rounded_lonlat(state.converter.to_lonlat(snap.xy[:1], out))[0]
    answer["snap"] = {"snapped_to": snapped, "snap_m": rounded(snap_m), "on_network": True}
    limit = max_m if max_m is not None else np.inf
    first = {tier: state.index.nearest(tier, snap) for tier in chosen}
    search: Search | None = None
    if k > 1 or route:
        reach = [float(a.walk_m[0]) for a in first.values() if np.isfinite(a.walk_m[0])]
        bound = max_m if max_m is not None else max([search_limit_m, *(r + 1.0 for r in reach)])
        search = state.index.search(snap, bound)
    statuses, features = [], []
    for tier in chosen:
        if search is None:
            a = first[tier]
            walk0 = float(a.walk_m[0])
            found = [(int(a.facility[0]), walk0, 0, 0)] if np.isfinite(walk0) and walk0 <= limit else []
        else:
            fac, walk, leave, arrive = state.index.k_nearest(search, tier, k, limit)
            found = list(zip(fac.tolist(), walk.tolist(), leave.tolist(), arrive.tolist(), strict=True))
        if not found:
            statuses.append(_tier_status(state, tier, first[tier], max_m, lang))
            continue
        statuses.append({"tier": tier, "status": "ok", "found": len(found), "reason": None})
        for rank, (facility, walk, leave, arrive) in enumerate(found, start=1):
            feature = _feature(state, facility, walk, tier, rank, xy[0], snap_m or 0.0, snapped, out, lang)
            if route and search is not None:
                coords = state.index.route(search, xy[0], facility, leave, arrive)
                feature["properties"]["route"] = {
                    "type": "LineString",
                    "coordinates": rounded_lonlat(state.converter.to_lonlat(coords, out)),
                }
            features.append(feature)
    ok = any(s["status"] == "ok" for s in statuses)
    answer.update(
        features=features,
        status="ok" if ok else (statuses[0]["status"] if statuses else "no_tier"),
        reason=None if ok else (statuses[0]["reason"] if statuses else "no tier serves this point"),
        tiers=statuses,
        numberReturned=len(features),
    )
    return answer


def batch_rows(
    state: State,
    lon: np.ndarray,
    lat: np.ndarray,
    valid: np.ndarray,
    *,
    coordsys: CoordSystem,
    tiers: list[str] | None,
    max_m: float | None,
    lang: str,
) -> list[dict[str, Any]]:
    """The nearest facility per tier of every valid point (one dict per point; invalid rows empty)."""
    n = len(lon)
    rows: list[dict[str, Any]] = [{"status": "error", "nearest": []} for _ in range(n)]
    where = np.flatnonzero(valid)
    if not where.size:
        return rows
    xy = state.converter.to_metric(lon[where], lat[where], coordsys)
    located = state.areas.locate(xy)
    snap = state.index.snap(xy)
    chosen = [tiers or state.areas.serving_tiers(located, i, state.walk_tiers) for i in range(len(where))]
    wanted = sorted({t for c in chosen for t in c})
    answers = {tier: state.index.nearest(tier, snap) for tier in wanted}
    table = state.facilities
    speed = state.project.settings.walk_speed_m_per_min
    limit = np.inf if max_m is None else max_m
    straight = {tier: np.hypot(*(table.xy[np.maximum(a.facility, 0)] - xy).T) for tier, a in answers.items()}
    inside, ok = located.inside, snap.ok
    for i, row in enumerate(where.tolist()):
        if not inside[i]:
            rows[row] = {"status": "outside_area", "nearest": []}
            continue
        if not ok[i]:
            rows[row] = {"status": "off_network", "error": str(snap.reason[i]), "nearest": []}
            continue
        found = []
        for tier in chosen[i]:
            a = answers[tier]
            walk = float(a.walk_m[i])
            if not (np.isfinite(walk) and walk <= limit):
                found.append({"tier": tier, "facility_id": None, "walk_m": None})
                continue
            fac = int(a.facility[i])
            radius = state.index.tiers[tier].radius_m
            found.append(
                {
                    "tier": tier,
                    "facility_id": table.props[fac].get("id"),
                    "facility_name": table.props[fac].get("name"),
                    "walk_m": round(walk, 1),
                    "walk_min": round(walk / speed, 1),
                    "straight_m": round(float(straight[tier][i]), 1),
                    "within_radius": None if radius is None else bool(walk <= radius + RADIUS_EPS_M),
                }
            )
        rows[row] = {"status": "ok", "snap_m": round(float(snap.offset[i]), 1), "nearest": found}
    return rows
