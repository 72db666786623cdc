"""Where features lie: the validation checks that need geometry in the metric CRS.

Children inside their parents (nesting), siblings that overlap, point compounds inside other
compounds, parents their children leave uncovered, facilities outside the planning area, and
point layers offset from the roads as GCJ-02 data are. Each returns a findings frame; the
caller (:func:`servicegrid.geo.validate.validate_layers`) gives them the metric layers of the
features :func:`placeable` keeps.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .crs import in_china
from .findings import findings as _findings
from .findings import no_findings as _no_findings
from .hierarchy import PARENT_LINKS
from .schema import LAYERS
from .workspace import Workspace

__all__ = [
    "OUTSIDE_AREA_M",
    "check_gcj_offset",
    "check_nesting",
    "check_outside_area",
    "check_overlaps",
    "check_point_compounds",
    "check_uncovered",
    "feature_ids",
    "gcj_offset_findings",
    "placeable",
]

# Tolerances: digitised boundaries rarely match to the centimetre.
STICK_OUT_SHARE = 0.02  # a child may lie outside its parent by 2 % of its area …
STICK_OUT_MIN_M2 = 50.0  # … and by at least this much before it is reported
OVERLAP_SHARE = 0.01
OVERLAP_MIN_M2 = 10.0
UNCOVERED_SHARE = 0.02
UNCOVERED_MIN_M2 = 500.0
OUTSIDE_AREA_M = 10.0
GCJ_MIN_OFFSET_M = 50.0  # median distance to the roads below which data are taken as aligned
GCJ_SAMPLE = 500  # points of a layer the GCJ-02 check measures at the most (a median needs no more)


def feature_ids(frame: gpd.GeoDataFrame) -> pd.Series:
    if "id" in frame.columns:
        return frame["id"].astype("string").reset_index(drop=True)
    return pd.Series(pd.NA, index=range(len(frame)), dtype="string")


def placeable(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Features with a real WGS-84 position that does not look swapped (the metric checks need them)."""
    geom = frame.geometry.array
    present = ~(shapely.is_missing(geom) | shapely.is_empty(geom))
    bounds = shapely.bounds(geom)
    with np.errstate(invalid="ignore"):
        inside = (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180) & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90)
    x, y = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    return present & inside & ~(in_china(y, x) & ~in_china(x, y))


def _parent_geometry(
    child: gpd.GeoDataFrame, parent: gpd.GeoDataFrame, column: str
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of children whose parent id resolves, and the parent geometry of each."""
    lookup = pd.Series(np.arange(len(parent)), index=parent["id"].astype("string"))
    lookup = lookup[~lookup.index.duplicated()]
    pos = child[column].astype("string").map(lookup)
    has = pos.notna().to_numpy()
    return np.flatnonzero(has), parent.geometry.array[pos[has].astype(int).to_numpy()]


def check_nesting(metric: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Polygons that stick out of the parent they name, beyond a tolerance."""
    out = []
    for link in PARENT_LINKS:
        child, parent = metric.get(link.layer), metric.get(link.parent)
        if child is None or parent is None or link.column not in child or "id" not in parent:
            continue
        if LAYERS[link.layer].geometry == "point":
            continue
        pos, parent_geom = _parent_geometry(child, parent, link.column)
        geom = child.geometry.array[pos]
        polygonal = np.isin(shapely.get_type_id(geom), (3, 6))
        pos, geom, parent_geom = pos[polygonal], geom[polygonal], parent_geom[polygonal]
        if len(pos) == 0:
            continue
        outside = shapely.area(shapely.difference(geom, parent_geom))
        share = outside / np.maximum(shapely.area(geom), 1e-9)
        bad = (share > STICK_OUT_SHARE) & (outside > STICK_OUT_MIN_M2)
        if bad.any():
            out.append(
                _findings(
                    "warning",
                    link.layer,
                    "sticks_out_of_parent",
                    [
                        f"{a:,.0f} m² ({s:.0%}) lies outside its {link.parent[:-1]} '{p}'"
                        for a, s, p in zip(
                            outside[bad], share[bad], child[link.column].to_numpy()[pos[bad]], strict=True
                        )
                    ],
                    ids=feature_ids(child)[pos[bad]],
                    rows=pos[bad] + 1,
                    field=link.column,
                )
            )
    return pd.concat(out, ignore_index=True) if out else _no_findings()


def check_overlaps(name: str, frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Siblings (same parent) whose polygons overlap beyond a tolerance."""
    geom = frame.geometry.array
    left, right = frame.sindex.query(geom, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    spec = LAYERS[name]
    if spec.parent_column and spec.parent_column in frame.columns:
        parent = frame[spec.parent_column].astype("string").to_numpy()
        same = pd.Series(parent[left]).eq(pd.Series(parent[right])).fillna(False).to_numpy()
        left, right = left[same], right[same]
    # Neighbours that only touch (every pair of adjacent grids) cannot overlap by an area: a
    # DE-9IM test of the interiors rules them out at a third of the cost of intersecting them.
    inner = shapely.relate_pattern(geom[left], geom[right], "T********")
    left, right = left[inner], right[inner]
    if len(left) == 0:
        return _no_findings()
    area = shapely.area(shapely.intersection(geom[left], geom[right]))
    smaller = np.minimum(shapely.area(geom[left]), shapely.area(geom[right]))
    bad = (area > OVERLAP_MIN_M2) & (area > OVERLAP_SHARE * smaller)
    if not bad.any():
        return _no_findings()
    ids = feature_ids(frame).to_numpy()
    return _findings(
        "warning",
        name,
        "overlapping_siblings",
        [
            f"overlaps '{ids[r]}' by {a:,.0f} m²; siblings should not overlap"
            for r, a in zip(right[bad], area[bad], strict=True)
        ],
        ids=ids[left[bad]],
        rows=left[bad] + 1,
    )


def check_point_compounds(compounds: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Point compounds (a register's one coordinate) lying inside a compound drawn as a polygon."""
    if compounds is None or len(compounds) == 0:
        return _no_findings()
    geom = compounds.geometry.array
    kind = shapely.get_type_id(geom)
    points, polygons = np.flatnonzero(kind == 0), np.flatnonzero(np.isin(kind, (3, 6)))
    if len(points) == 0 or len(polygons) == 0:
        return _no_findings()
    inside, host = shapely.STRtree(geom[polygons]).query(geom[points], predicate="within")
    first = np.unique(inside, return_index=True)[1]
    inside, host = points[inside[first]], polygons[host[first]]
    if len(inside) == 0:
        return _no_findings()
    ids = feature_ids(compounds).fillna("").to_numpy()
    names = compounds["name"].astype("string").fillna("").to_numpy() if "name" in compounds else ids
    return _findings(
        "warning",
        "compounds",
        "point_inside_compound",
        [
            f"this point compound lies inside compound '{ids[h]}' ({names[h]}); if it is the same compound "
            "or a part of it, its households are counted twice: delete one row or draw it as its own polygon"
            for h in host
        ],
        ids=feature_ids(compounds)[inside],
        rows=inside + 1,
    )


def check_uncovered(metric: dict[str, gpd.GeoDataFrame], *, parent: str, child: str) -> pd.DataFrame:
    """Parts of a parent polygon (that has children) covered by none of its children."""
    parents, children = metric.get(parent), metric.get(child)
    column = LAYERS[child].parent_column
    if parents is None or children is None or column not in children or "id" not in parents:
        return _no_findings()
    # Children are meant to tile their parent without overlaps (overlaps are reported apart), so
    # the uncovered area is the parent's area less the areas its children cover inside it.
    pos, parent_geom = _parent_geometry(children, parents, column)
    if len(pos) == 0:
        return _no_findings()
    inside = shapely.area(shapely.intersection(children.geometry.array[pos], parent_geom))
    pid = parents["id"].astype("string")
    covered = pd.Series(inside).groupby(children[column].astype("string").to_numpy()[pos]).sum()
    has = pid.isin(covered.index).to_numpy()
    geom = parents.geometry.array[has]
    gaps = np.maximum(shapely.area(geom) - covered.loc[pid[has]].to_numpy(), 0.0)
    share = gaps / np.maximum(shapely.area(geom), 1e-9)
    bad = (share > UNCOVERED_SHARE) & (gaps > UNCOVERED_MIN_M2)
    if not bad.any():
        return _no_findings()
    return _findings(
        "warning",
        parent,
        f"not_covered_by_{child}",
        [
            f"{a:,.0f} m² ({s:.0%}) is covered by no {child[:-1]}; draw the missing {child}"
            for a, s in zip(gaps[bad], share[bad], strict=True)
        ],
        ids=pid[has][bad],
        rows=np.flatnonzero(has)[bad] + 1,
    )


def check_outside_area(metric: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Facilities outside the planning area (the townships, else the villages)."""
    area_layer = next((n for n in ("townships", "villages") if n in metric), None)
    facilities = metric.get("facilities")
    if area_layer is None or facilities is None:
        return _no_findings()
    area = shapely.union_all(metric[area_layer].geometry.array)
    shapely.prepare(area)
    pts = facilities.geometry.array
    present = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    outside = present & ~shapely.dwithin(pts, area, OUTSIDE_AREA_M)
    if not outside.any():
        return _no_findings()
    dist = shapely.distance(pts[outside], area)
    return _findings(
        "warning",
        "facilities",
        "outside_planning_area",
        [f"lies {d:,.0f} m outside the planning area ({area_layer}); check its coordinates" for d in dist],
        ids=feature_ids(facilities)[outside],
        rows=np.flatnonzero(outside) + 1,
    )


def gcj_offset_findings(workspace: Workspace, paths: gpd.GeoSeries) -> pd.DataFrame:
    """Point layers of ``workspace`` that sit a systematic GCJ-02 offset away from ``paths``."""
    placed = {name: frame[placeable(frame)] for name, frame in workspace.layers.items() if len(frame)}
    placed = {name: frame for name, frame in placed.items() if len(frame)}
    if not placed:
        return _no_findings()
    return check_gcj_offset(placed, paths, crs=Workspace(None, placed).metric_crs)


def check_gcj_offset(
    layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoSeries, *, crs: object
) -> pd.DataFrame:
    """Point layers that sit a systematic GCJ-02 offset away from the roads or paths."""
    if len(roads) == 0:
        return _no_findings()
    from .chinacoords import gcj02_to_wgs84

    road_geom = roads.to_crs(crs).array
    tree = shapely.STRtree(road_geom)
    out = []
    for name in ("facilities", "gates", "candidates"):
        frame = layers.get(name)
        if frame is None or len(frame) < 3:
            continue
        pts = frame.geometry.array
        pts = pts[~(shapely.is_missing(pts) | shapely.is_empty(pts))]
        lon, lat = shapely.get_x(pts), shapely.get_y(pts)
        if not in_china(lon, lat).all():
            continue
        # A median needs no more than a few hundred points: every k-th, the same points each run.
        step = max(len(lon) // GCJ_SAMPLE, 1)
        lon, lat = lon[::step], lat[::step]
        as_given = _median_road_distance(tree, road_geom, lon, lat, crs)
        wlon, wlat = gcj02_to_wgs84(lon, lat)
        as_gcj = _median_road_distance(tree, road_geom, wlon, wlat, crs)
        if as_given > GCJ_MIN_OFFSET_M and as_gcj < 0.5 * as_given:
            out.append(
                _findings(
                    "warning",
                    name,
                    "looks_like_gcj02",
                    f"the points sit a median {as_given:,.0f} m from the roads as declared (WGS-84) but "
                    f"{as_gcj:,.0f} m if read as GCJ-02 (Amap/Tencent); re-import with --coords gcj02",
                )
            )
    return pd.concat(out, ignore_index=True) if out else _no_findings()


def _median_road_distance(
    tree: shapely.STRtree, roads: np.ndarray, lon: np.ndarray, lat: np.ndarray, crs: object
) -> float:
    pts = gpd.GeoSeries(shapely.points(lon, lat), crs=4326).to_crs(crs).array
    _idx, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    return float(np.median(dist)) if len(dist) else np.inf
