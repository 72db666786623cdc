"""The demo county's walking network: the streets, gates and footpaths of the county seat and
the rural roads.

Streets follow the lattice of :mod:`servicegrid.demo.places` and stop short of the river except
at its bridges (three in the demo county); every compound has gates on its street-facing sides, a short link from each
gate to its street and footpaths inside. Rural roads are a spanning tree over the settlements
with a few loops, crossing the river at its bridges only, classed by the routes that link town
seats to the county seat and villages to their town seat, and bent so they do not look drawn
with a ruler.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy import sparse
from scipy.spatial import Delaunay

from ._arrays import _bilinear, _words

# Fictional street names: north-south roads (路, 大道) and west-east streets (街, 大街)
_ROAD_NS = _words(
    "建设 文化 迎宾 府前 新华 解放 人民 和平 胜利 育才 振兴 长安 民主 团结 朝阳 工业 青年 友谊 体育 滨河"
)
_ROAD_EW = _words("东风 红旗 光明 南环 北环 中心 公园 兴华 鼓楼 学府 迎春 清泉 永安 安宁 富民 康乐 吉祥")


# ---------------------------------------------------------------------------------------------
# County seat: gates, gate links, footpaths and streets
# ---------------------------------------------------------------------------------------------
def _city_paths(rng: np.random.Generator, city: dict) -> dict:
    """Gates, gate links, footpaths inside compounds and the streets (with the links' feet)."""
    layout = city["layout"]
    nx, ny, k = layout.nx, layout.ny, layout.river_column
    node, corners, comp = city["node"], city["block_corners"], city["compounds"]
    bi, bj = city["block_i"], city["block_j"]
    n = len(comp["block"])
    c = corners[comp["block"]]
    ib, jb = bi[comp["block"]], bj[comp["block"]]
    u0, u1, v0, v1 = comp["u0"], comp["u1"], comp["v0"], comp["v1"]
    um, vm = 0.5 * (u0 + u1), 0.5 * (v0 + v1)
    width = np.linalg.norm(_bilinear(c, u1, vm) - _bilinear(c, u0, vm), axis=1)
    height = np.linalg.norm(_bilinear(c, um, v1) - _bilinear(c, um, v0), axis=1)

    # footpath positions: one or two lines each way (NaN marks an absent second line)
    def positions(size: np.ndarray) -> np.ndarray:
        two = (size > 150) & (rng.random(n) < 0.7)
        pair = np.array([1 / 3, 2 / 3]) + rng.uniform(-0.04, 0.04, (n, 2))
        one = np.c_[rng.uniform(0.35, 0.65, n), np.full(n, np.nan)]
        return np.where(two[:, None], pair, one)

    U = u0[:, None] + (u1 - u0)[:, None] * positions(width)  # (n, 2)
    V = v0[:, None] + (v1 - v0)[:, None] * positions(height)

    # gate candidates: ends of footpaths on street-facing sides, slots S0 S1 N0 N1 W0 W1 E0 E1
    cu = np.c_[U, U, u0, u0, u1, u1]
    cv = np.c_[v0, v0, v1, v1, V, V]
    side = np.tile(np.repeat(np.arange(4), 2), (n, 1))
    faces = np.stack([comp["face_s"], comp["face_n"], comp["face_w"], comp["face_e"]], axis=1)
    valid = np.isfinite(cu) & np.isfinite(cv) & np.take_along_axis(faces, side, axis=1)
    chosen = valid & (rng.random((n, 8)) < 0.45)
    none = np.flatnonzero(~chosen.any(axis=1))
    chosen[none, np.argmax(valid[none], axis=1)] = True

    gc, gs = np.nonzero(chosen)  # compound and slot of every gate
    g_side = side[gc, gs]
    gate_xy = _bilinear(c[gc], cu[gc, gs], cv[gc, gs])
    # foot of each gate link on its lattice edge a→b at parameter t
    horizontal = g_side < 2
    a_i = ib[gc] + (g_side == 3)
    a_j = jb[gc] + (g_side == 1)
    b_i = a_i + horizontal
    b_j = a_j + ~horizontal
    t = np.where(horizontal, cu[gc, gs], cv[gc, gs])
    foot_xy = node[a_i, a_j] + t[:, None] * (node[b_i, b_j] - node[a_i, a_j])
    links = shapely.linestrings(np.stack([gate_xy, foot_xy], axis=1))
    main_gate = np.r_[True, gc[1:] != gc[:-1]]

    # footpaths: u-lines run south→north and v-lines west→east, sharing their crossing points;
    # a line ends at a gate or, without one, a little short of the compound's wall
    cross = _bilinear(c, U[:, :, None], V[:, None, :])  # (n, a, b, 2)
    gate_at = np.full((n, 8, 2), np.nan)
    gate_at[gc, gs] = gate_xy
    inset = 0.08
    lo_u = _bilinear(c, U, (v0 + inset * (v1 - v0))[:, None])
    hi_u = _bilinear(c, U, (v1 - inset * (v1 - v0))[:, None])
    lo_v = _bilinear(c, (u0 + inset * (u1 - u0))[:, None], V)
    hi_v = _bilinear(c, (u1 - inset * (u1 - u0))[:, None], V)
    u_lines = np.concatenate(
        [
            np.where(chosen[:, 0:2, None], gate_at[:, 0:2], lo_u)[:, :, None],
            cross,
            np.where(chosen[:, 2:4, None], gate_at[:, 2:4], hi_u)[:, :, None],
        ],
        axis=2,
    )
    v_lines = np.concatenate(
        [
            np.where(chosen[:, 4:6, None], gate_at[:, 4:6], lo_v)[:, :, None],
            cross.transpose(0, 2, 1, 3),
            np.where(chosen[:, 6:8, None], gate_at[:, 6:8], hi_v)[:, :, None],
        ],
        axis=2,
    )
    path_xy = np.concatenate([u_lines, v_lines], axis=1).reshape(-1, 2)
    line_of = np.repeat(np.arange(n * 4), 4)
    active = np.concatenate([np.isfinite(U), np.isfinite(V)], axis=1).ravel()
    ok = np.isfinite(path_xy).all(axis=1) & active[line_of]
    footpaths = shapely.segmentize(
        shapely.linestrings(path_xy[ok], indices=np.unique(line_of[ok], return_inverse=True)[1]), 20.0
    )

    # streets: lattice lines (not the river column) with the gate-link feet inserted in order;
    # horizontal line j has key j, vertical line i has key ny + 1 + i, s runs along the line
    hi, hj = (a.ravel() for a in np.meshgrid(np.arange(nx + 1), np.arange(ny + 1), indexing="ij"))
    vi, vj = hi[hi != k], hj[hi != k]
    p_line = np.r_[hj, ny + 1 + vi, np.where(horizontal, a_j, ny + 1 + a_i)]
    p_s = np.r_[hi, vj, np.where(horizontal, a_i, a_j) + t].astype(float)
    p_xy = np.r_[node[hi, hj], node[vi, vj], foot_xy]
    # rows without a bridge stop 15 % of a block short of the river on both banks
    no_bridge = np.setdiff1d(np.arange(ny + 1), layout.bridge_rows)
    at_river = (p_line <= ny) & (p_s == k) & np.isin(p_line, no_bridge)
    p_line = np.r_[p_line[~at_river], no_bridge, no_bridge]
    p_s = np.r_[p_s[~at_river], np.full(len(no_bridge), k - 0.15), np.full(len(no_bridge), k + 0.15)]
    p_xy = np.r_[
        p_xy[~at_river],
        node[k - 1, no_bridge] + 0.85 * (node[k, no_bridge] - node[k - 1, no_bridge]),
        node[k, no_bridge] + 0.15 * (node[k + 1, no_bridge] - node[k, no_bridge]),
    ]
    east_bank = (p_line <= ny) & np.isin(p_line, no_bridge) & (p_s > k)
    way_key = p_line * 2 + east_bank
    order = np.lexsort((p_s, way_key))
    keys, way = np.unique(way_key[order], return_inverse=True)
    streets = shapely.segmentize(shapely.linestrings(p_xy[order], indices=way), 25.0)
    line = keys // 2
    is_h = line <= ny
    index = np.where(is_h, line, line - (ny + 1))
    primary = np.where(is_h, index == ny // 2, index == k // 2)
    highway = np.select(
        [primary, (index == 0) | (index == np.where(is_h, ny, nx)), index % 3 == 0],
        ["primary", "secondary", "tertiary"],
        "residential",
    )
    ew, ns = rng.permutation(_ROAD_EW), rng.permutation(_ROAD_NS)
    name = np.where(
        is_h,
        np.char.add(ew[index % len(ew)], np.where(primary, "大街", "街")),
        np.char.add(ns[index % len(ns)], np.where(primary, "大道", "路")),
    )
    return {
        "gates": {"compound": gc, "geometry": shapely.points(gate_xy)},
        "roads": {
            "geometry": np.r_[streets, links, footpaths],
            "highway": np.r_[
                highway, np.where(main_gate, "service", "footway"), np.full(len(footpaths), "footway")
            ],
            "name": np.r_[name.astype(object), np.full(len(links) + len(footpaths), None)],
        },
    }


# ---------------------------------------------------------------------------------------------
# Rural roads: a spanning tree over the settlements with a few loops, crossing the river at
# bridges only, classed by the routes that link town seats to the county seat and villages to
# their town seat
# ---------------------------------------------------------------------------------------------
def _build_rural_roads(rng: np.random.Generator, city: dict, rural: dict, units: dict) -> dict:
    layout = city["layout"]
    nx, ny, k = layout.nx, layout.ny, layout.river_column
    node = city["node"]
    ring_i = np.r_[np.arange(nx + 1), np.arange(nx + 1), np.zeros(ny - 1, int), np.full(ny - 1, nx)]
    ring_j = np.r_[np.zeros(nx + 1, int), np.full(nx + 1, ny), np.arange(1, ny), np.arange(1, ny)]
    off_river = ring_i != k
    entry_xy = node[ring_i[off_river], ring_j[off_river]]  # where rural roads meet the city streets
    s_xy, bridges = units["settlement_xy"], rural["bridges"]
    xy = np.r_[s_xy, bridges, entry_xy]
    n = len(xy)
    n_s, n_b = len(s_xy), len(bridges)
    is_entry = np.arange(n) >= n_s + n_b
    entry = np.flatnonzero(is_entry)

    tri = Delaunay(xy).simplices
    pairs = np.unique(np.sort(np.r_[tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]], axis=1), axis=0)
    a, b = pairs[:, 0], pairs[:, 1]
    length = np.hypot(*(xy[b] - xy[a]).T)
    segments = shapely.linestrings(np.stack([xy[a], xy[b]], axis=1))
    river = shapely.linestrings(rural["river"])
    river_cut = shapely.difference(river, shapely.union_all(shapely.buffer(shapely.points(bridges), 2.0)))
    city_inside = shapely.buffer(city["outline"], -3.0)
    allowed = (
        (length < 2_800)
        & ~(is_entry[a] & is_entry[b])
        & ~shapely.intersects(segments, city_inside)
        & ~shapely.intersects(segments, river_cut)
        & shapely.within(segments, rural["county"])
    )
    a, b, length, segments = a[allowed], b[allowed], length[allowed], segments[allowed]

    # the city's streets join all entry points: model them as near-zero links for the tree
    city_a, city_b = entry[:-1], entry[1:]
    weights = np.r_[length, np.full(len(city_a), 1e-3)]
    graph = sparse.coo_array((weights, (np.r_[a, city_a], np.r_[b, city_b])), shape=(n, n)).tocsr()
    tree = sparse.csgraph.minimum_spanning_tree(graph).tocoo()
    key = np.minimum(a, b) * n + np.maximum(a, b)
    tree_key = np.minimum(tree.row, tree.col) * n + np.maximum(tree.row, tree.col)
    selected = np.isin(key, tree_key) | ((length < 1_100) & (rng.random(len(a)) < 0.3))
    # each bridge carries a road: its shortest allowed edge to either bank
    bridge_node = n_s + np.arange(n_b)
    for bridge in bridge_node:  # three per set of rural bridges: a few dozen at most
        touching = np.flatnonzero((a == bridge) | (b == bridge))
        other = np.where(a[touching] == bridge, b[touching], a[touching])
        bank = _bank(rural["river"], bridges[bridge - n_s], xy[other])
        for side in (-1, 1):
            on_side = touching[bank == side]
            if len(on_side):
                selected[on_side[np.argmin(length[on_side])]] = True
    selected = _connect_components(selected, a, b, length, n, city_a, city_b, entry)

    a, b, length, segments = a[selected], b[selected], length[selected], segments[selected]
    highway = _classify_rural(rng, a, b, length, n, city_a, city_b, entry, rural, units)
    touches_fixed = (a >= n_s) | (b >= n_s)  # bridges and city entries: keep these straight
    geometry = _bend(rng, segments, xy[a], xy[b], ~touches_fixed)
    bad = shapely.intersects(geometry, river_cut) | shapely.intersects(geometry, city_inside)
    geometry = np.where(bad, shapely.segmentize(segments, 30.0), geometry)
    return {"geometry": geometry, "highway": highway, "name": np.full(len(geometry), None, dtype=object)}


def _bank(river: np.ndarray, bridge: np.ndarray, points: np.ndarray) -> np.ndarray:
    """-1 or +1: the side of the river each point lies on, seen from ``bridge``."""
    i = int(np.argmin(np.hypot(*(river - bridge).T)))
    tangent = river[min(i + 1, len(river) - 1)] - river[max(i - 1, 0)]
    d = points - bridge
    return np.sign(tangent[0] * d[:, 1] - tangent[1] * d[:, 0]).astype(int)


def _connect_components(
    selected: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    length: np.ndarray,
    n: int,
    city_a: np.ndarray,
    city_b: np.ndarray,
    entry: np.ndarray,
) -> np.ndarray:
    """Add the shortest allowed edge out of every part not linked to the city, until none is left."""
    selected = selected.copy()
    for _ in range(20):  # each round joins every stray part to another part; a few rounds suffice
        graph = sparse.coo_array(
            (
                np.ones(int(selected.sum()) + len(city_a)),
                (np.r_[a[selected], city_a], np.r_[b[selected], city_b]),
            ),
            shape=(n, n),
        )
        _, label = sparse.csgraph.connected_components(graph, directed=False)
        main = label[entry[0]]
        joining = (label[a] != label[b]) & ~selected
        stray = np.where(label[a] != main, label[a], label[b])
        if not joining.any() or np.all(label == main):
            break
        cand = np.flatnonzero(joining)
        order = np.lexsort((length[cand], stray[cand]))
        cand = cand[order]
        best = cand[np.r_[True, stray[cand][1:] != stray[cand][:-1]]]
        selected[best] = True
    return selected


def _classify_rural(
    rng: np.random.Generator,
    a: np.ndarray,
    b: np.ndarray,
    length: np.ndarray,
    n: int,
    city_a: np.ndarray,
    city_b: np.ndarray,
    entry: np.ndarray,
    rural: dict,
    units: dict,
) -> np.ndarray:
    """Road classes: town seats → county seat secondary (two of them primary), villages → their
    town seat tertiary, the rest tracks and paths."""
    graph = sparse.coo_array(
        (np.r_[length, np.full(len(city_a), 1e-3)], (np.r_[a, city_a], np.r_[b, city_b])), shape=(n, n)
    ).tocsr()
    key = np.minimum(a, b) * n + np.maximum(a, b)
    by_key = np.argsort(key)
    main = np.flatnonzero(units["settlement_is_main"])  # main settlement of every village, in order
    seat = main[rural["village_is_seat"][units["settlement_village"][main]]]
    town_of_seat = rural["village_town"][units["settlement_village"][seat]]
    seat = seat[np.argsort(town_of_seat)]

    def route_edges(sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        _, pred, _ = sparse.csgraph.dijkstra(
            graph, directed=False, indices=sources, min_only=True, return_predecessors=True
        )
        edges = []
        cur = targets[pred[targets] >= 0]
        while len(cur):  # one step back along every route at once
            prev = pred[cur]
            k = np.minimum(prev, cur) * n + np.maximum(prev, cur)
            pos = np.searchsorted(key, k, sorter=by_key)
            hit = (pos < len(key)) & (key[by_key[np.minimum(pos, len(key) - 1)]] == k)
            edges.append(by_key[pos[hit]])
            cur = prev[pred[prev] >= 0]
        return np.unique(np.concatenate(edges)) if edges else np.array([], dtype=np.int64)

    highway = np.where(rng.random(len(a)) < 0.55, "track", "path").astype(object)
    village_main = main[~rural["village_is_seat"][units["settlement_village"][main]]]
    highway[route_edges(seat, village_main)] = "tertiary"
    highway[route_edges(entry, seat)] = "secondary"
    east_west = seat[[np.argmin(units["settlement_xy"][seat, 0]), np.argmax(units["settlement_xy"][seat, 0])]]
    highway[route_edges(entry, east_west)] = "primary"
    return highway.astype(str)


def _bend(
    rng: np.random.Generator, segments: np.ndarray, start: np.ndarray, end: np.ndarray, bendable: np.ndarray
) -> np.ndarray:
    """Straight segments densified to 30 m and bent sideways by a smooth random curve."""
    dense = shapely.segmentize(segments, 30.0)
    coords, line = shapely.get_coordinates(dense, return_index=True)
    d = end - start
    length = np.hypot(d[:, 0], d[:, 1])
    normal = np.c_[-d[:, 1], d[:, 0]] / length[:, None]
    t = ((coords - start[line]) * d[line]).sum(axis=1) / length[line] ** 2
    amp1 = np.clip(rng.normal(0, 0.035, len(d)), -0.08, 0.08) * np.minimum(length, 2_500) * bendable
    amp2 = np.clip(rng.normal(0, 0.015, len(d)), -0.04, 0.04) * np.minimum(length, 2_500) * bendable
    offset = amp1[line] * np.sin(np.pi * t) + amp2[line] * np.sin(2 * np.pi * t)
    return shapely.linestrings(coords + normal[line] * offset[:, None], indices=line)
