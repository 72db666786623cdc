"""Where the demo county lies and how it is laid out: the county seat and the countryside.

The county seat is a jittered street lattice of blocks, each with a use, grouped into three
streets (街道) made of communities (社区), with residential compounds (小区) inside the
residential blocks; a river runs along one lattice column. The countryside is the rest of the
wobbly county outline: the river's meanders and its three rural bridges, six townships (乡镇)
tiling it and administrative villages tiling each township. Also the county's name, its origin
and the names and codes of its townships.

A county ``scale`` times the demo's size (:func:`_layout`) is the same county with every area
``scale`` times larger: a lattice ``√scale`` times wider and taller, cut into about ``3 × scale``
streets, a county outline and river ``√scale`` times longer with more bridges, about
``6 × scale`` townships and, at the same spacing as ever, ``scale`` times the villages. The
demo county is scale 1.

The streets, gates and footpaths of the county seat are made in :mod:`servicegrid.demo.roads`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

from ._arrays import _bilinear, _closed_polygons, _locate, _rank_in_group, _tile, _union_by_group
from .names import _street_names, _township_names

__all__ = ["DEMO_NAME", "DEMO_ORIGIN", "MAX_SCALE"]

DEMO_NAME = "示范县"
DEMO_ORIGIN = (113.6, 37.7)  # lon, lat of the county seat (a fictional spot in Shanxi)
MAX_SCALE = 128  # the name tables hold the townships and streets of a county this large
_CODE_PREFIX = "9901"  # province 99 does not exist; 01 is its first prefecture

# Fictional names of the streets and townships
_STREETS = ("城关街道", "北城街道", "河东街道")
_TOWNS = ("青山镇", "白水镇", "东岭镇", "石门镇", "柳林镇", "南川乡", "杏花乡", "马坊乡", "红崖镇", "清泉镇")


# ---------------------------------------------------------------------------------------------
# Sizes (metres)
# ---------------------------------------------------------------------------------------------
_NX, _NY = 18, 14  # urban blocks west-east, south-north
_BLOCK_M = 250.0
_RIVER_COLUMN = 11  # lattice column the river follows through the county seat
_BRIDGE_STEP, _FIRST_BRIDGE = 4, 3  # every fourth urban street crosses the river, from row 3
_MARGIN = 0.05  # compound set-back inside its block, as a fraction of the block
_COUNTY_RADIUS_M = 17_000.0
_EXTENT_M = 25_000.0  # half-width of the square the village and settlement lattices span
_RIVER_REACH_M = 30_000.0  # length of each reach of the river beyond the county seat
_VILLAGE_SPACING_M = 3_400.0
_TOWNS_PER_SCALE = 6
_SOUTH_BRIDGES, _NORTH_BRIDGES = (0.3, 0.75), (0.5,)  # rural bridges along each reach


@dataclass(frozen=True)
class _Layout:
    """The sizes of a county ``scale`` times the demo's area (see :func:`_layout`)."""

    scale: int
    nx: int  # urban blocks west-east
    ny: int  # urban blocks south-north
    river_column: int
    bridge_rows: np.ndarray  # urban streets (lattice rows) that cross the river
    stretch: float  # √scale: how much longer every length across the county is
    towns: int
    rural_bridge_sets: int  # each set is two bridges south of the county seat and one north
    west_streets: tuple[int, int]  # street (街道) bands west of the river: columns, rows
    east_streets: tuple[int, int]

    def across(self, metres: float) -> float:
        """A length across the demo county, in the county of this scale."""
        return metres * self.stretch


def _layout(scale: int) -> _Layout:
    """Sizes for ``scale``: scale 1 is the demo county (18 × 14 blocks, 3 streets, 6 towns)."""
    stretch = float(np.sqrt(scale))
    nx, ny = round(_NX * stretch), round(_NY * stretch)
    k = round(_RIVER_COLUMN / _NX * nx)
    return _Layout(
        scale=scale,
        nx=nx,
        ny=ny,
        river_column=k,
        bridge_rows=np.arange(_FIRST_BRIDGE, ny - 2, _BRIDGE_STEP),
        stretch=stretch,
        towns=_TOWNS_PER_SCALE * scale,
        rural_bridge_sets=max(1, round(stretch)),
        # streets of about 11 × 7 blocks west of the river and 7 × 14 east of it, as in the demo
        west_streets=(max(1, round(k / 11)), max(1, round(ny / 7))),
        east_streets=(max(1, round((nx - k) / 7)), max(1, round(ny / 14))),
    )


# ---------------------------------------------------------------------------------------------
# County seat: street lattice, blocks, communities and compounds
# ---------------------------------------------------------------------------------------------
def _build_city(rng: np.random.Generator, layout: _Layout) -> dict:
    nx, ny, k = layout.nx, layout.ny, layout.river_column
    gx, gy = np.meshgrid(
        (np.arange(nx + 1) - nx / 2) * _BLOCK_M, (np.arange(ny + 1) - ny / 2) * _BLOCK_M, indexing="ij"
    )
    node = np.stack([gx, gy], axis=-1) + np.clip(rng.normal(0, 10, (nx + 1, ny + 1, 2)), -25, 25)

    bi, bj = (a.ravel() for a in np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij"))
    corners = np.stack([node[bi, bj], node[bi + 1, bj], node[bi + 1, bj + 1], node[bi, bj + 1]], axis=1)
    blocks = _closed_polygons(corners)

    # what each block is; the county government sits where the two main avenues cross
    use = rng.choice(
        np.array(["residential", "school", "park", "government", "hospital", "commercial", "enterprise"]),
        size=len(bi),
        p=[0.74, 0.06, 0.05, 0.04, 0.02, 0.05, 0.04],
    )
    county_block = int(np.flatnonzero((bi == k // 2) & (bj == ny // 2))[0])
    use[county_block] = "government"

    # streets (街道): rectangles of blocks, west of the river first (in the demo: south and
    # north), then east of it; communities (社区): rectangles of 2–4 × 2–4 blocks in a street
    street, col_range, row_range = _streets(layout, bi, bj)
    community = np.zeros(len(bi), dtype=np.int64)
    for s in range(len(col_range)):  # one pass per street: a few hundred at most
        col_group = _split_range(col_range[s, 1] - col_range[s, 0], rng)
        row_group = _split_range(row_range[s, 1] - row_range[s, 0], rng)
        in_s = street == s
        ci = col_group[bi[in_s] - col_range[s, 0]]
        ri = row_group[bj[in_s] - row_range[s, 0]]
        community[in_s] = s * 10_000 + ci * 100 + ri
    community = np.unique(community, return_inverse=True)[1]
    n_comm = int(community.max()) + 1
    comm_street = np.zeros(n_comm, dtype=np.int64)
    comm_street[community] = street
    comm_geom = _union_by_group(blocks, community, n_comm)
    street_geom = _union_by_group(blocks, street, len(col_range))
    outline = shapely.polygons(np.concatenate([node[:, 0], node[-1, 1:], node[-2::-1, -1], node[0, -2::-1]]))

    compounds = _city_compounds(rng, corners, use, bi, bj, k)
    return {
        "layout": layout,
        "node": node,
        "outline": outline,
        "block_i": bi,
        "block_j": bj,
        "block_corners": corners,
        "block_use": use,
        "block_community": community,
        "block_street": street,
        "county_block": county_block,
        "community_geom": comm_geom,
        "community_street": comm_street,
        "street_geom": street_geom,
        "compounds": compounds,
        "river": node[k],
    }


def _streets(layout: _Layout, bi: np.ndarray, bj: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The street of every block, and each street's column and row ranges ``[start, end)``.

    West of the river the blocks split into ``west_streets`` bands of columns × rows, east of
    it into ``east_streets``; streets are numbered band by band, west first, south to north.
    """
    nx, ny, k = layout.nx, layout.ny, layout.river_column
    ranges = []
    for (c0, c1), (n_cols, n_rows) in (((0, k), layout.west_streets), ((k, nx), layout.east_streets)):
        col_cut = c0 + (np.arange(n_cols + 1) * (c1 - c0)) // n_cols
        row_cut = (np.arange(n_rows + 1) * ny) // n_rows
        cc, rr = (a.ravel() for a in np.meshgrid(np.arange(n_cols), np.arange(n_rows), indexing="ij"))
        ranges.append(np.c_[col_cut[cc], col_cut[cc + 1], row_cut[rr], row_cut[rr + 1]])
    table = np.concatenate(ranges)
    inside = (
        (bi[:, None] >= table[:, 0]) & (bi[:, None] < table[:, 1])
        & (bj[:, None] >= table[:, 2]) & (bj[:, None] < table[:, 3])
    )  # fmt: skip
    return np.argmax(inside, axis=1), table[:, 0:2], table[:, 2:4]


def _split_range(n: int, rng: np.random.Generator) -> np.ndarray:
    """Group index of each of ``n`` consecutive rows or columns, in groups of 2–4."""
    sizes = rng.integers(2, 5, n)
    ends = np.cumsum(sizes)
    sizes = sizes[: int(np.searchsorted(ends, n)) + 1]
    sizes[-1] -= int(sizes.sum()) - n
    if sizes[-1] < 2 and len(sizes) > 1:
        sizes[-2] += sizes[-1]
        sizes = sizes[:-1]
    return np.repeat(np.arange(len(sizes)), sizes)


def _city_compounds(
    rng: np.random.Generator, corners: np.ndarray, use: np.ndarray, bi: np.ndarray, bj: np.ndarray, k: int
) -> dict:
    """Compounds as (u, v) rectangles inside residential blocks; about a third of blocks hold two.

    ``k`` is the river's lattice column: no compound side faces a street there.
    """
    res = np.flatnonzero(use == "residential")
    split = rng.random(len(res)) < 0.35
    along_u = rng.random(len(res)) < 0.5
    cut = rng.uniform(0.4, 0.6, len(res))
    e, g = _MARGIN, 0.025
    block = np.r_[res, res[split]]  # first compound of every block, then the second of split ones
    u0 = np.full(len(block), e)
    u1 = np.full(len(block), 1 - e)
    v0 = np.full(len(block), e)
    v1 = np.full(len(block), 1 - e)
    first_u = np.flatnonzero(split & along_u)
    first_v = np.flatnonzero(split & ~along_u)
    second = len(res) + np.arange(int(split.sum()))
    second_u, second_v = second[along_u[split]], second[~along_u[split]]
    u1[first_u], u0[second_u] = cut[first_u] - g, cut[first_u] + g
    v1[first_v], v0[second_v] = cut[first_v] - g, cut[first_v] + g
    ib = bi[block]
    c = corners[block]
    fields = {
        "block": block,
        "u0": u0,
        "u1": u1,
        "v0": v0,
        "v1": v1,
        # which sides face a street (the river column has none)
        "face_s": v0 == e,
        "face_n": v1 == 1 - e,
        "face_w": (u0 == e) & (ib != k),
        "face_e": (u1 == 1 - e) & (ib + 1 != k),
        "corners": np.stack(
            [_bilinear(c, u0, v0), _bilinear(c, u1, v0), _bilinear(c, u1, v1), _bilinear(c, u0, v1)], axis=1
        ),
    }
    order = np.lexsort((v0, u0, bj[block], ib))  # west to east, south to north
    out = {key: value[order] for key, value in fields.items()}
    out["geometry"] = _closed_polygons(out["corners"])
    return out


# ---------------------------------------------------------------------------------------------
# Countryside: county outline, river, townships, villages
# ---------------------------------------------------------------------------------------------
def _build_countryside(rng: np.random.Generator, city: dict) -> dict:
    layout: _Layout = city["layout"]
    theta = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    phase = rng.uniform(0, 2 * np.pi, 3)
    wobble = 1 + 0.08 * np.sin(2 * theta + phase[0]) + 0.05 * np.sin(3 * theta + phase[1])
    radius = layout.across(_COUNTY_RADIUS_M) * (wobble + 0.03 * np.sin(5 * theta + phase[2]))
    county = shapely.polygons(np.c_[1.15 * radius * np.cos(theta), 0.9 * radius * np.sin(theta)])
    countryside = shapely.difference(county, city["outline"])
    river = _river(rng, city["river"], layout.across(_RIVER_REACH_M))

    # towns: Voronoi cells of their seats, which are also village seeds
    n_towns = layout.towns
    town_seed = _town_seeds(rng, countryside, n_towns)
    towns = _tile(np.array([countryside]), town_seed, np.zeros(n_towns, dtype=np.int64))

    # village seeds on a jittered lattice, plus the town seats
    half = layout.across(_EXTENT_M)
    span = np.arange(-half, half + 1, _VILLAGE_SPACING_M)
    vx, vy = np.meshgrid(span, span, indexing="ij")
    vxy = np.c_[vx.ravel(), vy.ravel()] + rng.uniform(-700, 700, (vx.size, 2))
    inner = shapely.buffer(countryside, -700)
    vxy = vxy[shapely.contains_xy(inner, vxy[:, 0], vxy[:, 1])]
    vxy = vxy[cKDTree(town_seed).query(vxy)[0] > 1_600]
    seed = np.r_[town_seed, vxy]
    town = np.r_[np.arange(n_towns), _locate(vxy, towns)]
    order = np.lexsort((seed[:, 1], seed[:, 0], town))
    seed, town, is_seat = seed[order], town[order], order < n_towns
    villages = _tile(towns, seed, town)

    # township names and codes: streets 001–099, towns (镇) 101–199, xiang (乡) 201–299
    n_streets = len(city["street_geom"])
    names = rng.permutation(_township_names(_TOWNS, n_towns))[:n_towns]
    xiang = np.char.endswith(names.astype(str), "乡")
    names = np.r_[names[~xiang], names[xiang]]
    kind = np.r_[np.zeros(n_streets, dtype=np.int64), np.ones(int((~xiang).sum()), dtype=np.int64)]
    kind = np.r_[kind, np.full(int(xiang.sum()), 2)]
    ids = _township_codes(kind)
    townships = {
        "id": ids,
        "name": np.r_[_street_names(_STREETS, n_streets), names],
        "kind": np.r_[np.full(n_streets, "street"), np.full(n_towns, "town")],
        "code": np.char.add(ids, "000"),
        "geometry": np.r_[city["street_geom"], towns],
    }
    return {
        "county": county,
        "countryside": countryside,
        "river": river,
        "bridges": _bridges(river, county, city["outline"], layout.rural_bridge_sets),
        "townships": townships,
        "village_seed": seed,
        "village_town": town,
        "village_is_seat": is_seat,
        "village_geom": villages,
    }


def _town_seeds(rng: np.random.Generator, countryside: shapely.Geometry, n: int) -> np.ndarray:
    """Where the ``n`` town seats lie, in the countryside.

    The demo's six ring the county seat at about half the county's radius. More towns are
    spread evenly: the centres of ``n`` k-means clusters of points that fill the countryside
    (a centroidal Voronoi layout), each moved to the nearest point of its own cluster so that
    it lies in the countryside, away from the county seat.
    """
    if n == _TOWNS_PER_SCALE:
        t_theta = rng.uniform(0, 2 * np.pi) + np.arange(6) * np.pi / 3 + rng.uniform(-0.15, 0.15, 6)
        t_r = rng.uniform(0.5, 0.62, 6) * _COUNTY_RADIUS_M
        return np.c_[1.15 * t_r * np.cos(t_theta), 0.9 * t_r * np.sin(t_theta)]
    spacing = 900.0  # about 200 points per town
    inner = shapely.buffer(countryside, -1_500)
    x0, y0, x1, y1 = shapely.bounds(inner)
    gx, gy = np.meshgrid(np.arange(x0, x1, spacing), np.arange(y0, y1, spacing), indexing="ij")
    xy = np.c_[gx.ravel(), gy.ravel()] + rng.uniform(-0.4, 0.4, (gx.size, 2)) * spacing
    xy = xy[shapely.contains_xy(inner, xy[:, 0], xy[:, 1])]
    centre = xy[rng.choice(len(xy), size=n, replace=False)]
    for _ in range(30):  # Lloyd iterations; the layout settles within a few dozen
        cluster = cKDTree(centre).query(xy)[1]
        weight = np.bincount(cluster, minlength=n)
        has = weight > 0
        centre[has] = (
            np.c_[np.bincount(cluster, xy[:, 0], n)[has], np.bincount(cluster, xy[:, 1], n)[has]]
            / weight[has, None]
        )
    cluster = cKDTree(centre).query(xy)[1]
    gap = np.hypot(*(xy - centre[cluster]).T)
    nearest = np.lexsort((gap, cluster))
    nearest = nearest[np.r_[True, cluster[nearest][1:] != cluster[nearest][:-1]]]
    return xy[nearest]


def _township_codes(kind: np.ndarray) -> np.ndarray:
    """Township codes by kind (0 street, 1 town, 2 xiang), in order within each kind.

    Serials follow the national scheme (streets 001–099, towns 101–199, xiang 201–299) under the
    county code 990101; a county with more than 99 of a kind goes on under the next county
    code (990102 …), as a prefecture numbers its districts.
    """
    rank = _rank_in_group(kind)
    county = np.char.zfill((1 + rank // 99).astype(str), 2)
    serial = np.char.zfill((np.array([1, 101, 201])[kind] + rank % 99).astype(str), 3)
    return np.char.add(np.char.add(_CODE_PREFIX, county), serial)


def _river(rng: np.random.Generator, through_city: np.ndarray, reach_m: float) -> np.ndarray:
    """River vertices, south to north: meanders leaving the city's river column both ways."""
    step = 150.0
    dy = np.arange(step, reach_m, step)
    reaches = []
    for end, direction in ((through_city[0], -1.0), (through_city[-1], 1.0)):
        amp, wave, drift = rng.uniform(500, 900), rng.uniform(7_000, 11_000), rng.uniform(-0.15, 0.15)
        x = end[0] + amp * np.sin(2 * np.pi * dy / wave) + drift * dy
        reaches.append(np.c_[x, end[1] + direction * dy])
    return np.r_[reaches[0][::-1], through_city, reaches[1]]


def _bridges(river: np.ndarray, county: shapely.Geometry, outline: shapely.Geometry, sets: int) -> np.ndarray:
    """Rural bridges: river vertices at fixed fractions of its course outside the city.

    Each of ``sets`` equal stretches of the course south of the city has two bridges and each
    north of it one: three in the demo county.
    """
    rural = shapely.contains_xy(county, river[:, 0], river[:, 1]) & ~shapely.contains_xy(
        shapely.buffer(outline, 600), river[:, 0], river[:, 1]
    )
    idx = np.flatnonzero(rural)
    centre = int(np.argmin(np.abs(river[:, 1])))
    south, north = idx[idx < centre], idx[idx > centre]
    stretch = np.arange(sets)[:, None]
    at_south = ((stretch + np.array(_SOUTH_BRIDGES)) / sets).ravel()
    at_north = ((stretch + np.array(_NORTH_BRIDGES)) / sets).ravel()
    pick = np.r_[
        south[(len(south) * at_south).astype(np.int64)], north[(len(north) * at_north).astype(np.int64)]
    ]
    return river[pick]
