"""Vectorised helpers shared by the demo generators.

Ids, ranks and pairs within groups, picks, points inside quadrilaterals, polygons from rings,
unions by group, point location, and :func:`_tile`, which tiles parent polygons with the clipped
Voronoi cells of seed points (used for townships, villages, grids and micro-grids). Also
:func:`_words`, which splits the demo's word tables.
"""

from __future__ import annotations

import logging

import numpy as np
import shapely

logger = logging.getLogger(__name__)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """``prefix`` and 1 … ``n``, zero-padded to ``width`` digits or as many as ``n`` has."""
    width = max(width, len(str(n)))
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))


def _rank_in_group(group: np.ndarray) -> np.ndarray:
    """0-based position of each element among the elements of its group, in input order."""
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    start = np.r_[0, np.flatnonzero(sorted_group[1:] != sorted_group[:-1]) + 1]
    run = np.repeat(start, np.diff(np.r_[start, len(group)]))
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - run
    return rank


def _pairs_by_group(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) of every pair with ``left[i] == right[j]`` (groups are small)."""
    order = np.argsort(right, kind="stable")
    counts = np.bincount(right, minlength=int(max(left.max(), right.max())) + 1)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    n_pairs = counts[left]
    i = np.repeat(np.arange(len(left)), n_pairs)
    j = order[np.repeat(first[left], n_pairs) + _rank_in_group(i)]
    return i, j


def _pick_in_group(
    rng: np.random.Generator, members: np.ndarray, group_of: np.ndarray, want: np.ndarray
) -> np.ndarray:
    """For every entry of ``want`` (a group id), one member of that group drawn uniformly."""
    order = np.argsort(group_of, kind="stable")
    counts = np.bincount(group_of, minlength=int(max(group_of.max(), want.max())) + 1)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    slot = first[want] + np.floor(rng.random(len(want)) * counts[want]).astype(np.int64)
    return members[order[slot]]


def _bilinear(corners: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Points at parameters (u, v) of quadrilaterals ``corners`` (n, 4, 2: SW, SE, NE, NW).

    ``u`` and ``v`` have shape (n, ...) and broadcast against each other; along a side the map
    is linear, so a point with u or v fixed at a side's value lies on that side.
    """
    u, v = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(v, dtype=float))
    c = corners.reshape(corners.shape[0], *([1] * (u.ndim - 1)), 4, 2)
    u, v = u[..., None], v[..., None]
    return (
        (1 - u) * (1 - v) * c[..., 0, :]
        + u * (1 - v) * c[..., 1, :]
        + u * v * c[..., 2, :]
        + (1 - u) * v * c[..., 3, :]
    )


def _union_by_group(polygons: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group, the union of its polygons, which share edges exactly (a coverage)."""
    table = np.full((n_groups, int(np.bincount(group, minlength=n_groups).max())), None, dtype=object)
    table[group, _rank_in_group(group)] = polygons
    return shapely.coverage_union_all(table, axis=1)


def _closed_polygons(ring: np.ndarray) -> np.ndarray:
    """Polygons from (n, m, 2) rings of m distinct corners."""
    return shapely.polygons(np.concatenate([ring, ring[:, :1]], axis=1))


def _locate(xy: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Index of the polygon containing each point (the nearest one for points on none)."""
    tree = shapely.STRtree(polygons)
    points = shapely.points(xy)
    hit_point, hit_poly = tree.query(points, predicate="intersects")
    out = np.full(len(xy), -1, dtype=np.int64)
    first = np.unique(hit_point, return_index=True)[1]
    out[hit_point[first]] = hit_poly[first]
    missing = np.flatnonzero(out < 0)
    if len(missing):
        near_point, near_poly = tree.query_nearest(points[missing], all_matches=False)
        out[missing[near_point]] = near_poly
    return out


def _tile(parents: np.ndarray, seeds: np.ndarray, seed_parent: np.ndarray) -> np.ndarray:
    """One polygon per seed, tiling each parent: the Voronoi cells of its seeds clipped to it.

    A piece of a cell cut off from its seed by the parent's shape is merged into the sibling
    cell it shares the longest border with, so every result is a single polygon. Parents
    without seeds are left untiled.
    """
    order = np.argsort(seed_parent, kind="stable")
    sp, pts = seed_parent[order], seeds[order]
    counts = np.bincount(sp, minlength=len(parents))
    cells = np.empty(len(sp), dtype=object)
    single = counts[sp] == 1
    cells[single] = parents[sp[single]]
    multi_parents = np.flatnonzero(counts > 1)
    if len(multi_parents):
        group = np.searchsorted(multi_parents, sp[~single])
        mp = shapely.multipoints(pts[~single], indices=group)
        vor = shapely.voronoi_polygons(mp, extend_to=parents[multi_parents], ordered=True)
        parts = shapely.get_parts(vor)
        if len(parts) != int((~single).sum()):
            msg = "Voronoi cells do not match their seeds (duplicate seed points?)"
            raise RuntimeError(msg)
        cells[~single] = shapely.intersection(parts, parents[sp[~single]])
    pieces, piece_seed = shapely.get_parts(cells, return_index=True)
    keep = (shapely.get_type_id(pieces) == shapely.GeometryType.POLYGON) & (shapely.area(pieces) > 0)
    pieces, piece_seed = pieces[keep], piece_seed[keep]
    area = shapely.area(pieces)
    has_seed = shapely.contains_xy(pieces, pts[piece_seed, 0], pts[piece_seed, 1])
    rank = np.lexsort((-area, ~has_seed, piece_seed))
    main = np.zeros(len(pieces), dtype=bool)
    main[rank[np.r_[True, piece_seed[rank][1:] != piece_seed[rank][:-1]]]] = True
    result = np.empty(len(sp), dtype=object)
    result[piece_seed[main]] = pieces[main]
    frag_idx = np.flatnonzero(~main)
    if len(frag_idx):
        result = _merge_fragments(result, pieces, piece_seed, main, frag_idx, sp)
    out = np.empty(len(sp), dtype=object)
    out[order] = result
    return out


def _merge_fragments(
    result: np.ndarray,
    pieces: np.ndarray,
    piece_seed: np.ndarray,
    main: np.ndarray,
    frag_idx: np.ndarray,
    seed_parent: np.ndarray,
) -> np.ndarray:
    """Merge each stray piece into the sibling cell it shares the longest border with."""
    main_idx = np.flatnonzero(main)
    main_parent = seed_parent[piece_seed[main_idx]]
    frag_parent = seed_parent[piece_seed[frag_idx]]
    # every (fragment, main cell of the same parent) pair; fragments are few
    pair_frag, pair = _pairs_by_group(frag_parent, main_parent)
    pair_main = main_idx[pair]
    frag = pieces[frag_idx[pair_frag]]
    shared = shapely.length(
        shapely.intersection(shapely.boundary(frag), shapely.buffer(pieces[pair_main], 0.01))
    )
    gap = shapely.distance(frag, pieces[pair_main])
    best = np.lexsort((gap, -shared, pair_frag))
    best = best[np.r_[True, pair_frag[best][1:] != pair_frag[best][:-1]]]
    receiver = piece_seed[pair_main[best]]
    donor = pieces[frag_idx[pair_frag[best]]]
    seeds, slot = np.unique(receiver, return_inverse=True)
    table = np.full((len(seeds), 1 + int(np.bincount(slot).max())), None, dtype=object)
    table[:, 0] = result[seeds]
    table[slot, 1 + _rank_in_group(slot)] = donor
    merged = shapely.union_all(table, axis=1)
    parts, owner = shapely.get_parts(merged, return_index=True)
    area = shapely.area(parts)
    biggest = np.lexsort((-area, owner))
    biggest = biggest[np.r_[True, owner[biggest][1:] != owner[biggest][:-1]]]
    if len(parts) > len(seeds):
        logger.debug(
            "tiling: dropped %d piece(s) touching their cell at a point only", len(parts) - len(seeds)
        )
    out = result.copy()
    out[seeds[owner[biggest]]] = parts[biggest]
    return out
