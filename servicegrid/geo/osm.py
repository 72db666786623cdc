"""Reading workspace layers out of OpenStreetMap files: compounds, facilities, admin boundaries.

:func:`read_osm_features` reads an .osm, .osm.bz2, .osm.gz or .osm.pbf file with pyosmium and
returns residential compounds (小区), service facilities (党群服务中心/站, 居委会, 村委会, town
halls, community centres) and the admin boundaries that assemble (townships and villages), in
WGS-84. :func:`osm_layers` returns the same as workspace layers, passed through
:func:`servicegrid.geo.schema.conform`, for ``servicegrid import-osm``.

Polygons are assembled by libosmium's multipolygon assembler (through pyosmium's area
support), the one osm2pgsql and most OSM tools use; it handles inner rings, touching rings and
multi-way outlines correctly. It skips a relation it cannot assemble without saying why, so this
module checks every relation it would have used against the areas that came back and, for each
one missing, counts its member ways present in the file: openstreetmap.org exports routinely cut
relations short ("relation 15972224 矿业大学社区居委会: 1 of 2 member ways missing; skipped").
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from .conform import conform
from .crs import STORAGE_CRS
from .osm_places import community_point_row, match_community_points

__all__ = [
    "ADMIN_LAYERS",
    "ClipMode",
    "OsmFeatures",
    "osm_layers",
    "read_osm_features",
    "suggest_tier",
]

logger = logging.getLogger(__name__)

ClipMode = Literal["intersects", "cut", "none"]
_CLIP_MODES = ("intersects", "cut", "none")

#: Chinese ``admin_level`` values and the workspace layer they fill (6 is the county, which the
#: workspace does not hold as a layer; it is reported in the notes).
ADMIN_LAYERS: dict[str, str] = {"8": "townships", "9": "villages", "10": "villages"}
_ADMIN_LEVELS_USED = ("6", "7", "8", "9", "10")

_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf", ".osm.opl", ".opl")

_FACILITY_AMENITY = frozenset({"townhall", "community_centre", "social_facility", "social_centre"})
_FACILITY_OFFICE = frozenset({"government"})
_FACILITY_NAME = re.compile(
    r"党群服务|便民服务|为民服务|政务服务|居委会|居民委员会|村委会|村民委员会|社区服务|新时代文明实践|人民政府|街道办事处"
)
_COMPOUND_PLACES = frozenset({"neighbourhood"})
_FACILITY_TAG_KEYS = (
    "amenity",
    "office",
    "government",
    "townhall:type",
    "social_facility",
    "social_facility:for",
    "community_centre",
    "building",
    "operator",
    "addr:full",
    "addr:street",
    "addr:housenumber",
)

# Tier from the admin word right before the facility word, e.g. 城郊乡人民政府 -> town_center.
_TIER_PATTERN = re.compile(
    r"(?P<level>小区|社区|街道|县|区|市|镇|乡|村)(?:党委|党工委|党总支|党支部)?"
    r"(?P<kind>党群服务中心|党群服务站|便民服务中心|为民服务中心|政务服务中心|服务中心|服务站|"
    r"人民政府|政府|办事处|居委会|居民委员会|村委会|村民委员会|委员会)"
)
_TIER_OF_LEVEL = {
    "小区": "compound_station",
    "社区": "community_center",
    "村": "village_center",
    "镇": "town_center",
    "乡": "town_center",
    "街道": "town_center",
    "县": "county_center",
    "区": "county_center",
    "市": "county_center",
}
_TIER_OF_KIND = {
    "居委会": "community_center",
    "居民委员会": "community_center",
    "村委会": "village_center",
    "村民委员会": "village_center",
}
_TIER_OF_TOWNHALL_TYPE = {
    "county": "county_center",
    "district": "county_center",
    "city": "county_center",
    "town": "town_center",
    "township": "town_center",
    "subdistrict": "town_center",
    "sub-district": "town_center",
    "village": "village_center",
    "community": "community_center",
}


@dataclass(frozen=True)
class OsmFeatures:
    """What an OpenStreetMap file holds for a workspace, in WGS-84.

    Attributes
    ----------
    compounds : geopandas.GeoDataFrame
        Residential areas (``landuse=residential``, ``place=neighbourhood`` polygons): ``id``,
        ``name``, ``osm_id``, ``residential`` (the OSM sub-tag), polygons.
    facilities : geopandas.GeoDataFrame
        Town halls, community centres, government offices and anything named like a service
        center (党群服务中心, 居委会, 村委会, …): ``id``, ``name``, ``tier`` (suggested from the
        name or ``townhall:type``; blank when unclear), ``tier_source``, ``osm_id``,
        ``osm_tags``, ``opening_hours``; points (areas become their representative point).
    townships, villages : geopandas.GeoDataFrame
        Admin boundaries (``admin_level`` 8, and 9–10) that assemble: ``id``, ``name``, ``kind``,
        ``code``, ``admin_level``, ``osm_id``.
    communities : geopandas.GeoDataFrame
        Community points (``place=quarter``/``neighbourhood`` nodes named …社区): ``name``,
        ``place``, ``osm_id``, ``village_id`` (the village polygon each lies in, if any); see
        :mod:`servicegrid.geo.osm_places`.
    bounds : tuple of float or None
        The file's ``<bounds>`` (min lon, min lat, max lon, max lat), if it has one.
    problems : list of str
        Relations and ways that could not be assembled and were skipped, each with its name and why.
    notes : list of str
        What was done: clipping, repaired geometries, features not imported.
    """

    compounds: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    bounds: tuple[float, float, float, float] | None
    communities: gpd.GeoDataFrame | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def suggest_tier(name: str | None, tags: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The facility tier a name or ``townhall:type`` makes clear, and where it came from.

    Returns ``("", "")`` when neither says. The admin word right before the facility word
    decides, so a township government inside a county seat is a township.

    Examples
    --------
    >>> suggest_tier("宁化县城郊乡人民政府")
    ('town_center', 'name')
    >>> suggest_tier("宁化县人民政府")
    ('county_center', 'name')
    >>> suggest_tier("矿业大学社区居委会")
    ('community_center', 'name')
    >>> suggest_tier("翠江社区卫生服务中心")
    ('', '')
    >>> suggest_tier(None, {"amenity": "townhall", "townhall:type": "village"})
    ('village_center', 'tag')
    """
    if name:
        matches = list(_TIER_PATTERN.finditer(name))
        if matches:
            last = matches[-1]
            if last.end() == len(name) or name[last.end() :].startswith(("(", "（")):
                tier = _TIER_OF_KIND.get(last["kind"]) or _TIER_OF_LEVEL[last["level"]]
                return tier, "name"
        for kind, tier in _TIER_OF_KIND.items():
            if name.endswith(kind):
                return tier, "name"
    if tags:
        tier = _TIER_OF_TOWNHALL_TYPE.get(str(tags.get("townhall:type", "")).lower(), "")
        if tier:
            return tier, "tag"
    return "", ""


def _name(tags: Mapping[str, str]) -> str | None:
    return tags.get("name") or tags.get("name:zh") or tags.get("name:zh-Hans") or None


def _is_compound(tags: Mapping[str, str]) -> bool:
    return tags.get("landuse") == "residential" or tags.get("place") in _COMPOUND_PLACES


def _is_admin(tags: Mapping[str, str]) -> bool:
    return tags.get("boundary") == "administrative" and tags.get("admin_level") in _ADMIN_LEVELS_USED


def _is_facility(tags: Mapping[str, str]) -> bool:
    if tags.get("amenity") in _FACILITY_AMENITY or tags.get("office") in _FACILITY_OFFICE:
        return True
    name = _name(tags)
    return bool(name and _FACILITY_NAME.search(name)) and not _is_compound(tags) and "boundary" not in tags


@dataclass
class _Collected:
    """Rows gathered during the pyosmium pass (plain Python lists; turned into frames after)."""

    compounds: list[dict[str, Any]] = field(default_factory=list)
    compound_wkb: list[bytes] = field(default_factory=list)
    facilities: list[dict[str, Any]] = field(default_factory=list)
    facility_wkb: list[bytes] = field(default_factory=list)
    facility_is_area: list[bool] = field(default_factory=list)
    admin: list[dict[str, Any]] = field(default_factory=list)
    admin_wkb: list[bytes] = field(default_factory=list)
    relations: dict[int, tuple[str, list[int]]] = field(default_factory=dict)
    assembled: set[int] = field(default_factory=set)
    invalid_ways: list[str] = field(default_factory=list)
    unassembled_ways: list[str] = field(default_factory=list)
    community_points: list[dict[str, Any]] = field(default_factory=list)


def _osm_ref(kind: str, ident: int) -> tuple[str, str]:
    letter = kind[0]
    return f"{letter}{ident}", f"{kind}/{ident}"


def _collect(path: Path) -> _Collected:
    import osmium

    factory = osmium.geom.WKBFactory()
    out = _Collected()
    processor = osmium.FileProcessor(str(path)).with_areas().with_filter(osmium.filter.EmptyTagFilter())
    for obj in processor:
        if obj.is_area():
            tags = obj.tags
            kind = "way" if obj.from_way() else "relation"
            compound, admin, facility = _is_compound(tags), _is_admin(tags), _is_facility(tags)
            if not (compound or admin or facility):
                continue
            ident, osm_id = _osm_ref(kind, obj.orig_id())
            try:
                wkb = bytes.fromhex(factory.create_multipolygon(obj))
            except RuntimeError:
                # libosmium hands over an area without rings when the outline does not close.
                if kind == "way":
                    out.invalid_ways.append(f"way {obj.orig_id()} {_name(tags) or '(no name)'}")
                continue
            if kind == "relation":
                out.assembled.add(obj.orig_id())
            if compound:
                out.compounds.append(
                    {
                        "id": ident,
                        "name": _name(tags),
                        "osm_id": osm_id,
                        "residential": tags.get("residential"),
                    }
                )
                out.compound_wkb.append(wkb)
            elif admin:
                out.admin.append(
                    {
                        "id": ident,
                        "name": _name(tags),
                        "admin_level": tags.get("admin_level"),
                        "code": tags.get("ref") if str(tags.get("ref", "")).isdigit() else None,
                        "osm_id": osm_id,
                    }
                )
                out.admin_wkb.append(wkb)
            else:
                out.facilities.append(_facility_row(ident, osm_id, tags))
                out.facility_wkb.append(wkb)
                out.facility_is_area.append(True)
        elif obj.is_way():
            problem = _way_problem(obj)
            if problem:
                out.unassembled_ways.append(problem)
        elif obj.is_node():
            tags = obj.tags
            place = (
                community_point_row(tags, obj.id, obj.location.lon, obj.location.lat)
                if obj.location.valid()
                else None
            )
            if place is not None:
                out.community_points.append(place)
            if _is_facility(tags) and obj.location.valid():
                ident, osm_id = _osm_ref("node", obj.id)
                out.facilities.append(_facility_row(ident, osm_id, tags))
                out.facility_wkb.append(shapely.to_wkb(shapely.Point(obj.location.lon, obj.location.lat)))
                out.facility_is_area.append(False)
        elif obj.is_relation():
            tags = obj.tags
            if tags.get("type") in ("multipolygon", "boundary") and (
                _is_compound(tags) or _is_admin(tags) or _is_facility(tags)
            ):
                members = [m.ref for m in obj.members if m.type == "w"]
                out.relations[obj.id] = (_name(tags) or "(no name)", members)
    return out


def _way_problem(way: Any) -> str | None:
    """Why a way a layer would use yields no feature: nodes missing from the file (as in every
    website export cut at a box) or an outline that does not close; None when it is fine."""
    tags = way.tags
    if not (_is_compound(tags) or _is_admin(tags) or _is_facility(tags)):
        return None
    name = _name(tags) or "(no name)"
    missing = sum(1 for node in way.nodes if not node.location.valid())
    if missing:
        return f"way {way.id} {name}: {missing} of {len(way.nodes)} nodes missing from the file; skipped"
    if not way.is_closed() and (_is_compound(tags) or (_is_facility(tags) and "building" in tags)):
        return f"way {way.id} {name}: its outline does not close; skipped"
    return None


def _facility_row(ident: str, osm_id: str, tags: Any) -> dict[str, Any]:
    name = _name(tags)
    plain = {key: tags.get(key) for key in _FACILITY_TAG_KEYS if tags.get(key)}
    tier, tier_source = suggest_tier(name, plain)
    return {
        "id": ident,
        "name": name,
        "tier": tier or None,
        "tier_source": tier_source or None,
        "osm_id": osm_id,
        "osm_tags": json.dumps(plain, ensure_ascii=False) if plain else None,
        "opening_hours": tags.get("opening_hours"),
    }


def _explain_broken(path: Path, broken: dict[int, tuple[str, list[int]]]) -> list[str]:
    """Why each relation in ``broken`` did not assemble: missing member ways or open rings."""
    import osmium

    wanted = sorted({ref for _, members in broken.values() for ref in members})
    present: set[int] = set()
    incomplete: set[int] = set()
    if wanted:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.IdFilter(wanted).enable_for(osmium.osm.WAY))
        )
        for way in processor:
            present.add(way.id)
            if not all(node.location.valid() for node in way.nodes):
                incomplete.add(way.id)
    problems = []
    for rid, (name, members) in sorted(broken.items()):
        missing = sum(1 for m in members if m not in present)
        if not members:
            why = "no member ways in the relation"
        elif missing:
            why = f"{missing} of {len(members)} member ways missing"
        elif any(m in incomplete for m in members):
            why = "member ways have nodes missing from the file"
        else:
            why = "its member ways do not form closed rings"
        problems.append(f"relation {rid} {name}: {why}; skipped")
    return problems


def _frame(rows: list[dict[str, Any]], wkb: list[bytes], columns: list[str]) -> gpd.GeoDataFrame:
    data = pd.DataFrame(rows, columns=columns)
    for column in columns:
        data[column] = data[column].astype("string")
    geometry = shapely.from_wkb(np.asarray(wkb, dtype=object)) if wkb else np.array([], dtype=object)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=STORAGE_CRS)


def _repair(frame: gpd.GeoDataFrame, what: str, notes: list[str]) -> gpd.GeoDataFrame:
    values = frame.geometry.to_numpy()
    invalid = ~shapely.is_valid(values)
    if invalid.any():
        values = values.copy()
        values[invalid] = shapely.make_valid(values[invalid])
        notes.append(f"{int(invalid.sum())} {what} polygon(s) were invalid and repaired with make_valid")
        frame = frame.set_geometry(values, crs=frame.crs)
    return frame


def _clip(
    frame: gpd.GeoDataFrame,
    box: tuple[float, float, float, float] | None,
    mode: ClipMode,
    what: str,
    notes: list[str],
) -> gpd.GeoDataFrame:
    if box is None or mode == "none" or len(frame) == 0:
        return frame
    rect = shapely.box(*box)
    values = frame.geometry.to_numpy()
    inside = shapely.intersects(values, rect)
    dropped = int((~inside).sum())
    frame = frame[inside]
    if mode == "cut":
        cut = shapely.clip_by_rect(frame.geometry.to_numpy(), *box)
        changed = int((~shapely.equals(cut, frame.geometry.to_numpy())).sum())
        frame = frame.set_geometry(cut, crs=frame.crs)
        frame = frame[~shapely.is_empty(frame.geometry.to_numpy())]
        if changed:
            notes.append(f"{changed} {what} cut at the file's <bounds>")
    if dropped:
        notes.append(f"{dropped} {what} outside the file's <bounds> left out")
    return frame.reset_index(drop=True)


def _check_path(path: Path) -> None:
    if not any(path.name.lower().endswith(s) for s in _SUFFIXES):
        msg = f"not an OpenStreetMap file name; expected one of {', '.join(_SUFFIXES)}"
        raise InputError(msg, source=path)
    if not path.is_file():
        msg = "no such file"
        raise InputError(msg, source=path)
    if path.stat().st_size == 0:
        msg = "the file is empty; export the area again from openstreetmap.org"
        raise InputError(msg, source=path)


def read_osm_features(path: str | os.PathLike[str], *, clip: ClipMode = "intersects") -> OsmFeatures:
    """Compounds, facilities and admin boundaries of an OpenStreetMap file.

    Parameters
    ----------
    path : str or os.PathLike
        An .osm, .osm.bz2, .osm.gz or .osm.pbf file.
    clip : {"intersects", "cut", "none"}
        What to do with the file's ``<bounds>`` (openstreetmap.org exports include whole ways and
        relations reaching far outside the box): ``"intersects"`` (default) keeps the features
        that touch the box, whole, so a compound on the edge keeps its full outline and its
        households; ``"cut"`` also cuts polygons at the box; ``"none"`` keeps everything. Files
        without ``<bounds>`` are never clipped.

    Returns
    -------
    OsmFeatures
        The layers in WGS-84, the bounds, the broken relations (``problems``) and ``notes``.

    Raises
    ------
    InputError
        The file is missing, empty, corrupt or not OpenStreetMap data (naming the file).
    """
    import osmium

    if clip not in _CLIP_MODES:
        msg = f"clip must be one of {', '.join(_CLIP_MODES)}, not {clip!r}"
        raise ValueError(msg)
    path = Path(path)
    _check_path(path)
    try:
        box_obj = osmium.io.Reader(str(path), osmium.osm.NOTHING).header().box()
        box = (
            (box_obj.bottom_left.lon, box_obj.bottom_left.lat, box_obj.top_right.lon, box_obj.top_right.lat)
            if box_obj.valid()
            else None
        )
        collected = _collect(path)
        broken = {rid: rel for rid, rel in collected.relations.items() if rid not in collected.assembled}
        problems = _explain_broken(path, broken)
        problems += [f"{way}: its outline is not a valid ring; skipped" for way in collected.invalid_ways]
        problems += collected.unassembled_ways
    except RuntimeError as exc:
        msg = f"cannot read as OpenStreetMap data ({exc}); the file may be truncated or not OSM"
        raise InputError(msg, source=path) from exc
    notes: list[str] = []
    if box is None:
        notes.append(f"{path.name} has no <bounds>; nothing was clipped")

    compounds = _frame(collected.compounds, collected.compound_wkb, ["id", "name", "osm_id", "residential"])
    compounds = _clip(_repair(compounds, "compound", notes), box, clip, "compound(s)", notes)

    facilities = _frame(
        collected.facilities,
        collected.facility_wkb,
        ["id", "name", "tier", "tier_source", "osm_id", "osm_tags", "opening_hours"],
    )
    if len(facilities):
        values = facilities.geometry.to_numpy()
        is_area = np.asarray(collected.facility_is_area, dtype=bool)
        values[is_area] = shapely.point_on_surface(shapely.make_valid(values[is_area]))
        facilities = facilities.set_geometry(values, crs=STORAGE_CRS)
    facilities = _clip(facilities, box, "intersects" if clip != "none" else "none", "facilities", notes)

    admin = _frame(collected.admin, collected.admin_wkb, ["id", "name", "admin_level", "code", "osm_id"])
    admin = _clip(_repair(admin, "admin boundary", notes), box, clip, "admin boundaries", notes)
    layer = admin["admin_level"].map(ADMIN_LAYERS)
    for level, name in admin.loc[layer.isna(), ["admin_level", "name"]].itertuples(index=False):
        notes.append(
            f"admin boundary {name} (admin_level {level}) not imported: the workspace holds "
            "townships (8) and villages (9, 10) only"
        )
    names = admin["name"].fillna("")
    townships = admin[layer == "townships"].assign(
        kind=lambda f: np.where(
            names[f.index].str.endswith("街道"),
            "street",
            np.where(names[f.index].str.contains("镇|乡", regex=True), "town", None),
        )
    )
    villages = admin[layer == "villages"].assign(
        kind=lambda f: np.where(
            names[f.index].str.contains("社区|居委会|居民委员会", regex=True),
            "community",
            np.where(names[f.index].str.contains("村", regex=False), "village", None),
        ),
        township_id=pd.NA,
    )
    for frame in (townships, villages):
        frame["kind"] = frame["kind"].astype("string")
    communities, villages = match_community_points(
        collected.community_points, villages.reset_index(drop=True), notes
    )
    for problem in problems:
        logger.info("%s: %s", path.name, problem)  # returned to the caller too
    return OsmFeatures(
        compounds=compounds,
        facilities=facilities.reset_index(drop=True),
        townships=townships.reset_index(drop=True),
        villages=villages.reset_index(drop=True),
        communities=communities,
        bounds=box,
        problems=problems,
        notes=notes,
    )


def osm_layers(
    path: str | os.PathLike[str], *, clip: ClipMode = "intersects"
) -> tuple[dict[str, gpd.GeoDataFrame], list[str], gpd.GeoDataFrame]:
    """The workspace layers an OpenStreetMap file provides, and notes for the user.

    Only non-empty layers are returned (an import never replaces a layer with nothing). Each is
    passed through :func:`servicegrid.geo.schema.conform`. Facility tiers are suggestions from
    names and tags; rows whose tier is blank need one before auditing.

    Returns
    -------
    layers : dict[str, geopandas.GeoDataFrame]
        Among ``compounds``, ``facilities``, ``townships``, ``villages``.
    notes : list[str]
        A summary line, then the skipped relations, then other notes.
    communities : geopandas.GeoDataFrame
        The community points (``place=quarter``/``neighbourhood`` named …社区), each with the
        id of the file's village polygon it lies in (see :mod:`servicegrid.geo.osm_places`).
    """
    features = read_osm_features(path, clip=clip)
    source = Path(path).name
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name in ("compounds", "facilities", "townships", "villages"):
        frame = getattr(features, name)
        if len(frame):
            layers[name] = conform(frame, name, source=source)
    named = int(features.compounds["name"].notna().sum()) if len(features.compounds) else 0
    unsure = int(features.facilities["tier"].isna().sum()) if len(features.facilities) else 0
    summary = (
        f"{source}: {len(features.compounds)} compound(s) ({named} named), "
        f"{len(features.facilities)} facilit{'y' if len(features.facilities) == 1 else 'ies'}"
        f"{f' ({unsure} without a clear tier: set it before auditing)' if unsure else ''}, "
        f"{len(features.townships)} township(s), {len(features.villages)} village(s)"
    )
    if features.problems:
        summary += (
            f"; {len(features.problems)} feature(s) could not be assembled and were skipped (listed below)"
        )
    points = features.communities
    if points is not None and len(points):
        summary += f"; {len(points)} community point(s), {int(points['village_id'].notna().sum())} in a village polygon"
    return layers, [summary, *features.problems, *features.notes], points
