"""The demo county's management grids (网格) and micro-grids (微网格).

Dedicated grids (专属网格) are the blocks of schools, hospitals, offices and enterprises; ordinary
grids tile the rest of every village or community around weighted k-means clusters of its
household points (about 300–500 households in the county seat, 100–200 in the countryside).
Micro-grids of about ten households cover a pilot township and four pilot communities (in a
larger county, as many of each per demo county's worth of size).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from ._arrays import _closed_polygons, _locate, _pairs_by_group, _rank_in_group, _tile, _union_by_group

_DEDICATED = {"school": "学校", "hospital": "医院", "government": "机关", "enterprise": "企业"}


def _build_grids(rng: np.random.Generator, city: dict, rural: dict, units: dict) -> dict:
    villages = units["villages"]
    n_units, n_comm = len(villages["id"]), units["n_communities"]
    p_xy, p_unit, p_hh = units["point_xy"], units["point_unit"], units["point_hh"]
    is_comm = np.arange(n_units) < n_comm
    target = np.where(is_comm, rng.uniform(300, 390, n_units), rng.uniform(105, 150, n_units))
    n_grid = np.maximum(1, np.round(villages["households"] / target)).astype(np.int64)

    # dedicated grids (专属网格): the blocks of schools, hospitals, offices and enterprises;
    # ordinary grids tile the rest of each unit around clusters of households
    special = np.flatnonzero(np.isin(city["block_use"], list(_DEDICATED)))
    s_unit = city["block_community"][special]
    blocks = _closed_polygons(city["block_corners"][special])
    rest = villages["geometry"].copy()
    with_special, slot = np.unique(s_unit, return_inverse=True)
    rest[with_special] = shapely.difference(
        rest[with_special], _union_by_group(blocks, slot, len(with_special))
    )
    # the blocks may cut a community into pieces: tile each connected piece on its own
    part, part_unit = shapely.get_parts(rest, return_index=True)
    solid = ~shapely.is_empty(part)  # a community made only of such blocks has no rest
    part, part_unit = part[solid], part_unit[solid]
    centers, c_unit = _grouped_kmeans(rng, p_xy, p_unit, p_hh.astype(float), n_grid, min_weight=0.45 * target)
    c_idx, p_idx = _pairs_by_group(c_unit, part_unit)
    gap = shapely.distance(shapely.points(centers[c_idx]), part[p_idx])
    best = np.lexsort((gap, c_idx))
    best = best[np.r_[True, c_idx[best][1:] != c_idx[best][:-1]]]
    c_part = p_idx[best]
    # a piece without households still gets one ordinary grid
    bare = np.setdiff1d(np.arange(len(part)), c_part)
    centers = np.r_[centers, shapely.get_coordinates(shapely.point_on_surface(part[bare]))]
    c_part = np.r_[c_part, bare]
    c_unit = part_unit[c_part]
    ordinary = _tile(part, centers, c_part)

    geoms = np.r_[blocks, ordinary]
    unit = np.r_[s_unit, c_unit]
    dedicated = np.arange(len(geoms)) < len(special)
    anchor = shapely.get_coordinates(shapely.point_on_surface(geoms))
    order = np.lexsort((anchor[:, 1], anchor[:, 0], ~dedicated, unit))
    geoms, unit, dedicated = geoms[order], unit[order], dedicated[order]
    label = np.r_[
        pd.Series(city["block_use"][special]).map(_DEDICATED).to_numpy(dtype=str), np.full(len(centers), "")
    ]
    label = label[order]
    in_grid = _locate(p_xy, geoms)
    g_hh = np.bincount(in_grid, p_hh, len(geoms)).astype(np.int64)
    g_pop = np.round(np.bincount(in_grid, units["point_pop"], len(geoms))).astype(np.int64)
    serial = _rank_in_group(unit) + 1
    grid_id = np.char.add(np.char.add(villages["id"][unit], "-G"), np.char.zfill(serial.astype(str), 2))
    unit_name = villages["name"][unit]
    name = np.where(
        dedicated,
        np.char.add(np.char.add(unit_name, label), "专属网格"),
        np.char.add(np.char.add(np.char.add(unit_name, "第"), serial.astype(str)), "网格"),
    )
    grids = {
        "id": grid_id,
        "name": name,
        "village_id": villages["id"][unit],
        "kind": np.where(dedicated, "dedicated", "ordinary"),
        "households": g_hh,
        "population": g_pop,
        "grid_workers": np.where(g_hh > 450, 2, 1),
        "geometry": geoms,
    }

    # micro-grids (十户联网) in a pilot township and four pilot communities per demo county's
    # worth of size: one per household point, the Voronoi cell of the point in its grid cut to
    # the point's compound or settlement
    scale = city["layout"].scale
    township_ids = rural["townships"]["id"]
    by_id = np.argsort(township_ids)
    township = by_id[np.searchsorted(township_ids, villages["township_id"], sorter=by_id)]
    n_streets = len(township_ids) - city["layout"].towns
    pilot_towns = n_streets + rng.integers(0, city["layout"].towns, scale)
    pilot = np.isin(township, pilot_towns) | np.isin(
        np.arange(n_units), rng.choice(n_comm, size=4 * scale, replace=False)
    )
    chosen = (pilot[unit] & ~dedicated)[in_grid]
    m_xy, m_grid, m_hh = p_xy[chosen], in_grid[chosen], p_hh[chosen]
    cells = shapely.intersection(
        _tile(geoms, m_xy, m_grid), units["demand_geom"][units["point_demand"][chosen]]
    )
    parts, owner = shapely.get_parts(cells, return_index=True)
    polygon = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    parts, owner = parts[polygon], owner[polygon]
    biggest = np.lexsort((-shapely.area(parts), owner))
    biggest = biggest[np.r_[True, owner[biggest][1:] != owner[biggest][:-1]]]
    kept, m_geom = owner[biggest], parts[biggest]
    order = np.lexsort((m_xy[kept, 1], m_xy[kept, 0], m_grid[kept]))
    kept, m_geom = kept[order], m_geom[order]
    m_serial = _rank_in_group(m_grid[kept]) + 1
    parent = grid_id[m_grid[kept]]
    microgrids = {
        "id": np.char.add(np.char.add(parent, "-M"), np.char.zfill(m_serial.astype(str), 3)),
        "name": np.char.add(m_serial.astype(str), "号微网格"),
        "grid_id": parent,
        "households": m_hh[kept],
        "geometry": m_geom,
    }
    return {"grids": grids, "microgrids": microgrids}


def _grouped_kmeans(
    rng: np.random.Generator,
    xy: np.ndarray,
    group: np.ndarray,
    weight: np.ndarray,
    k: np.ndarray,
    *,
    min_weight: np.ndarray,
    iterations: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted k-means run separately inside every group, all groups at once.

    Group ``g`` starts with ``k[g]`` centres at random points of the group. After the Lloyd
    iterations, centres holding less than ``min_weight[g]`` are dropped (each group keeps its
    heaviest) and the rest settle again, so no cluster is a sliver. Returns the centres and
    their groups.
    """
    pick = np.lexsort((rng.random(len(xy)), group))
    start = pick[_rank_in_group(group[pick]) < k[group[pick]]]
    c_xy, c_group = xy[start].astype(float), group[start]
    for _ in range(2):  # settle, drop the light clusters, settle again
        for _ in range(iterations):
            assign = _nearest_in_group(xy, group, c_xy, c_group)
            w = np.bincount(assign, weight, len(c_xy))
            sx = np.bincount(assign, weight * xy[:, 0], len(c_xy))
            sy = np.bincount(assign, weight * xy[:, 1], len(c_xy))
            move = w > 0
            c_xy[move] = np.c_[sx[move], sy[move]] / w[move, None]
        w = np.bincount(_nearest_in_group(xy, group, c_xy, c_group), weight, len(c_xy))
        heaviest = np.zeros(len(c_xy), dtype=bool)
        by_weight = np.lexsort((-w, c_group))
        heaviest[by_weight[np.r_[True, c_group[by_weight][1:] != c_group[by_weight][:-1]]]] = True
        keep = heaviest | (w >= min_weight[c_group])
        c_xy, c_group = c_xy[keep], c_group[keep]
    return c_xy, c_group


def _nearest_in_group(xy: np.ndarray, group: np.ndarray, c_xy: np.ndarray, c_group: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of the point's own group (every group has one).

    Each group is shifted 10,000 km east of the previous one, so one KD-tree query over all
    centres can only find a centre of the point's own group.
    """
    shift = 1e7
    tree = cKDTree(c_xy + np.c_[c_group * shift, np.zeros(len(c_group))])
    return tree.query(xy + np.c_[group * shift, np.zeros(len(group))])[1]
