"""Snapping points onto the walking network: the nearest edge, not only the nearest node.

:func:`snap_points` places every point on the nearest edge of a :class:`StreetNetwork` and
records how far the point is from the path (the offset, walked in a straight line to the path)
and where it lands along the edge, so that walking distances can count both. Points farther than
the snap limit from every path are kept in the result, unsnapped, with the reason
``"unreachable: N m from the nearest path"``.

The search is exact and vectorized: every edge is cut into straight pieces of at most
:data:`~servicegrid.coverage.network.SNAP_PIECE_M` metres whose midpoints sit in a KD-tree
(:attr:`StreetNetwork.segment_index`); the k nearest midpoints of all points are fetched at once
and the point-to-piece distances computed with numpy. Since no point of a piece is farther than
half its length from its midpoint, a point is finished as soon as its k-th midpoint is farther
than its best distance plus that half length; the others are asked again with a larger k. This
is several times faster than GEOS's ``STRtree.query_nearest`` on whole edges (which is used
only for the rare points far beyond the snap limit, to report their exact distance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from .network import StreetNetwork

__all__ = ["SnapResult", "snap_points", "unreachable_reason"]

# Midpoints fetched per point in the first round of the nearest-piece search.
_FIRST_K = 8
# Points searched together: bounds the memory of the search, not its answer.
_BLOCK = 65_536


def unreachable_reason(distance_m: np.ndarray) -> np.ndarray:
    """The reason text for points ``distance_m`` metres from the nearest path.

    Examples
    --------
    >>> unreachable_reason(np.array([412.4, np.inf]))
    array(['unreachable: 412 m from the nearest path',
           'unreachable: no path in the network'], dtype=object)
    """
    distance_m = np.asarray(distance_m, dtype=float)
    if distance_m.size == 0:
        return np.zeros(0, dtype=object)
    metres = pd.Series(np.where(np.isfinite(distance_m), np.round(distance_m), 0).astype(np.int64))
    text = "unreachable: " + metres.map("{:,}".format) + " m from the nearest path"
    return np.where(
        np.isfinite(distance_m), text.to_numpy(dtype=object), "unreachable: no path in the network"
    ).astype(object)


@dataclass(frozen=True, eq=False)
class SnapResult:
    """Where each point joins the network (arrays aligned with the input points).

    Attributes
    ----------
    index : pandas.Index
        The index of the input points.
    edge : numpy.ndarray
        Edge each point is snapped to; -1 when it is not snapped.
    offset : numpy.ndarray
        Straight-line distance from the point to the edge, metres (for unsnapped points: to the
        nearest path at all; ``nan`` when the point has no location).
    position : numpy.ndarray
        Distance along the edge from its ``u`` end to the snapped point, metres.
    to_u, to_v : numpy.ndarray
        Distances along the edge from the snapped point to its ``u`` and ``v`` ends, metres.
    node_u, node_v : numpy.ndarray
        The edge's end nodes (-1 when not snapped).
    xy : numpy.ndarray
        ``(k, 2)`` the snapped point on the edge (the input point when not snapped).
    reason : numpy.ndarray
        ``None`` for snapped points, else why not (object array of str).
    """

    index: pd.Index
    edge: np.ndarray
    offset: np.ndarray
    position: np.ndarray
    to_u: np.ndarray
    to_v: np.ndarray
    node_u: np.ndarray
    node_v: np.ndarray
    xy: np.ndarray
    reason: np.ndarray

    def __len__(self) -> int:
        return int(self.edge.shape[0])

    @property
    def ok(self) -> np.ndarray:
        """Mask of the snapped points."""
        return self.edge >= 0

    def take(self, positions: np.ndarray) -> SnapResult:
        """The result for the points at ``positions`` (integer positions or a boolean mask)."""
        pos = np.asarray(positions)
        if pos.dtype == bool:
            pos = np.flatnonzero(pos)
        return SnapResult(
            index=self.index[pos],
            edge=self.edge[pos],
            offset=self.offset[pos],
            position=self.position[pos],
            to_u=self.to_u[pos],
            to_v=self.to_v[pos],
            node_u=self.node_u[pos],
            node_v=self.node_v[pos],
            xy=self.xy[pos],
            reason=self.reason[pos],
        )

    def to_frame(self) -> pd.DataFrame:
        """The result as a DataFrame indexed like the input points."""
        return pd.DataFrame(
            {
                "edge": self.edge,
                "offset_m": self.offset,
                "position_m": self.position,
                "to_u_m": self.to_u,
                "to_v_m": self.to_v,
                "node_u": self.node_u,
                "node_v": self.node_v,
                "snap_x": self.xy[:, 0],
                "snap_y": self.xy[:, 1],
                "reason": pd.array(self.reason, dtype="string"),
            },
            index=self.index,
        )


def _points_xy(
    network: StreetNetwork, points: gpd.GeoDataFrame | gpd.GeoSeries | np.ndarray
) -> tuple[np.ndarray, pd.Index]:
    """``(k, 2)`` coordinates of ``points`` in the network CRS (``nan`` for missing points)."""
    if isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
        geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if geoms.crs is None:
            msg = "the points have no CRS; declare their coordinate system before snapping"
            raise InputError(msg)
        if not geoms.crs.equals(network.crs):
            geoms = geoms.to_crs(network.crs)
        values = geoms.to_numpy()
        present = ~(shapely.is_missing(values) | shapely.is_empty(values))
        not_point = present & (shapely.get_type_id(values) != 0)
        if not_point.any():
            row = int(np.flatnonzero(not_point)[0])
            msg = (
                f"a {values[row].geom_type} cannot be snapped; snap its access points "
                "(gates, or a representative point) instead"
            )
            raise InputError(msg, row=row + 1)
        xy = np.full((values.size, 2), np.nan)
        xy[present] = shapely.get_coordinates(values[present])
        return xy, points.index
    xy = np.asarray(points, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        msg = f"points must be a GeoSeries/GeoDataFrame or an (n, 2) array, got shape {xy.shape}"
        raise InputError(msg)
    return xy, (_ONE if xy.shape[0] == 1 else pd.RangeIndex(xy.shape[0]))


_ONE = pd.RangeIndex(1)  # immutable: shared by the single points a service snaps


def _point_piece(xy: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from points ``xy`` (..., 2) to pieces ``start``-``end`` and the fraction along."""
    d = end - start
    len2 = (d * d).sum(axis=-1)
    t = np.where(len2 > 0, ((xy - start) * d).sum(axis=-1) / np.where(len2 > 0, len2, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    off = xy - (start + d * t[..., None])
    return np.hypot(off[..., 0], off[..., 1]), t


def _nearest_pieces(
    network: StreetNetwork, xy: np.ndarray, max_distance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact nearest piece of the snapping index for every point: (piece, distance, fraction).

    Points that cannot be within ``max_distance`` of any piece get piece -1 and distance inf.
    The points go in blocks of :data:`_BLOCK`, so the candidate arrays (points × k × 2) stay a
    few dozen MB however many points a county has; each point's search is its own, so the
    answer does not depend on the blocks.
    """
    piece = np.full(xy.shape[0], -1, dtype=np.int64)
    dist = np.full(xy.shape[0], np.inf)
    frac = np.zeros(xy.shape[0])
    for start in range(0, xy.shape[0], _BLOCK):  # a block per 65,536 points
        block = slice(start, start + _BLOCK)
        piece[block], dist[block], frac[block] = _nearest_pieces_block(network, xy[block], max_distance)
    return piece, dist, frac


def _nearest_pieces_block(
    network: StreetNetwork, xy: np.ndarray, max_distance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_nearest_pieces` for one block of points."""
    index = network.segment_index
    n_pieces = index.start.shape[0]
    piece = np.full(xy.shape[0], -1, dtype=np.int64)
    dist = np.full(xy.shape[0], np.inf)
    frac = np.zeros(xy.shape[0])
    todo = np.arange(xy.shape[0])
    k = min(_FIRST_K, n_pieces)
    while todo.size:
        mid_d, cand = index.tree.query(xy[todo], k=k)
        mid_d, cand = mid_d.reshape(todo.size, k), cand.reshape(todo.size, k)
        hopeless = mid_d[:, 0] - index.half > max_distance
        d, t = _point_piece(xy[todo][:, None, :], index.start[cand], index.end[cand])
        best = np.argmin(d, axis=1)
        rows = np.arange(todo.size)
        found = ~hopeless
        piece[todo[found]] = cand[rows, best][found]
        dist[todo[found]] = d[rows, best][found]
        frac[todo[found]] = t[rows, best][found]
        done = hopeless | (mid_d[:, -1] - index.half > dist[todo]) | (k >= n_pieces)
        todo = todo[~done]
        k = min(k * 4, n_pieces)
    return piece, dist, frac


def _snap_one(
    network: StreetNetwork, xy: np.ndarray, index: pd.Index, max_distance: float
) -> SnapResult | None:
    """:func:`snap_points` for one point within reach: the same search and formulas on Python
    floats (a request of the HTTP service snaps one point, and numpy's per-call overhead on
    arrays of eight made that ~5× slower). None when the point is beyond ``max_distance``: the
    general path words the reason."""
    pieces = network.segment_index
    n_pieces = pieces.start.shape[0]
    x, y = float(xy[0, 0]), float(xy[0, 1])
    k = min(_FIRST_K, n_pieces)
    while True:
        mid_d, cand = pieces.tree.query((x, y), k=k)
        mid_d, cand = np.atleast_1d(mid_d).tolist(), np.atleast_1d(cand).tolist()
        if mid_d[0] - pieces.half > max_distance:
            return None
        best = (math.inf, -1, 0.0)
        for c, (sx, sy), (ex, ey) in zip(
            cand, pieces.start[cand].tolist(), pieces.end[cand].tolist(), strict=True
        ):
            dx, dy = ex - sx, ey - sy
            len2 = dx * dx + dy * dy
            t = min(max(((x - sx) * dx + (y - sy) * dy) / len2, 0.0), 1.0) if len2 > 0 else 0.0
            d = math.hypot(x - (sx + dx * t), y - (sy + dy * t))
            if d < best[0]:  # strict: the first of equals wins, as np.argmin
                best = (d, c, t)
        if mid_d[-1] - pieces.half > best[0] or k >= n_pieces:
            break
        k = min(k * 4, n_pieces)
    dist, piece, frac = best
    if not dist <= max_distance:
        return None
    which = int(pieces.edge[piece])
    (sx, sy), (ex, ey) = pieces.start[piece].tolist(), pieces.end[piece].tolist()
    length = float(network.edge_length[which])
    position = min(max(float(pieces.along[piece]) + math.hypot(ex - sx, ey - sy) * frac, 0.0), length)
    return SnapResult(
        index=index,
        edge=np.array([which], dtype=np.int64),
        offset=np.array([dist]),
        position=np.array([position]),
        to_u=np.array([position]),
        to_v=np.array([length - position]),
        node_u=network.edge_u[which : which + 1].astype(np.int64),
        node_v=network.edge_v[which : which + 1].astype(np.int64),
        xy=np.array([[sx + (ex - sx) * frac, sy + (ey - sy) * frac]]),
        reason=np.full(1, None, dtype=object),
    )


def snap_points(
    network: StreetNetwork,
    points: gpd.GeoDataFrame | gpd.GeoSeries | np.ndarray,
    *,
    max_distance: float = 300.0,
) -> SnapResult:
    """Snap ``points`` to the nearest edge of ``network``.

    Parameters
    ----------
    network : StreetNetwork
        The walking network.
    points : GeoDataFrame, GeoSeries or numpy.ndarray
        Points in any declared CRS (reprojected to the network's), or an ``(n, 2)`` array of
        coordinates already in the network's metric CRS. Missing or empty geometries are allowed
        (reason ``"no location"``); other geometry types are refused.
    max_distance : float
        Snap limit in metres: points farther from every path are not snapped and get the reason
        ``"unreachable: N m from the nearest path"``.

    Returns
    -------
    SnapResult
        One entry per point, in input order.

    Raises
    ------
    InputError
        Points without a CRS, or geometries that are not points (naming the row).
    """
    if not max_distance > 0:
        msg = f"max_distance must be a positive number of metres, got {max_distance}"
        raise InputError(msg)
    xy, index = _points_xy(network, points)
    if xy.shape[0] == 1 and network.n_edges and np.isfinite(xy).all():
        one = _snap_one(network, xy, index, max_distance)
        if one is not None:
            return one
    k = xy.shape[0]
    edge = np.full(k, -1, dtype=np.int64)
    offset = np.full(k, np.nan)
    position = np.zeros(k)
    snapped_xy = xy.copy()
    reason = np.full(k, None, dtype=object)

    located = np.isfinite(xy).all(axis=1)
    reason[~located] = "no location"
    where = np.flatnonzero(located)
    if where.size and network.n_edges:
        pieces = network.segment_index
        piece, dist, frac = _nearest_pieces(network, xy[where], max_distance)
        reach = dist <= max_distance
        rows = where[reach]
        piece, frac = piece[reach], frac[reach]
        which = pieces.edge[piece]
        edge[rows] = which
        offset[rows] = dist[reach]
        step = pieces.end[piece] - pieces.start[piece]
        position[rows] = np.clip(
            pieces.along[piece] + np.hypot(*step.T) * frac, 0.0, network.edge_length[which]
        )
        snapped_xy[rows] = pieces.start[piece] + step * frac[:, None]
        beyond = where[~reach]
        offset[beyond] = dist[~reach]
        far = beyond[np.isinf(dist[~reach])]
        if far.size:
            (_, _), far_dist = network.edge_tree.query_nearest(
                shapely.points(xy[far]), return_distance=True, all_matches=False
            )
            offset[far] = far_dist
        reason[beyond] = unreachable_reason(offset[beyond])
    elif where.size:
        reason[where] = unreachable_reason(np.full(where.size, np.inf))

    ok = edge >= 0
    length = np.where(ok, network.edge_length[np.where(ok, edge, 0)], 0.0) if network.n_edges else position
    return SnapResult(
        index=index,
        edge=edge,
        offset=offset,
        position=np.where(ok, position, np.nan),
        to_u=np.where(ok, position, np.nan),
        to_v=np.where(ok, length - position, np.nan),
        node_u=np.where(ok, network.edge_u[np.where(ok, edge, 0)] if network.n_edges else -1, -1),
        node_v=np.where(ok, network.edge_v[np.where(ok, edge, 0)] if network.n_edges else -1, -1),
        xy=snapped_xy,
        reason=reason,
    )
