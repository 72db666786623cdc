"""Where the demo county lies and how it is laid out: the county seat and the countryside.

The county seat is a jittered street lattice of blocks, each with a use, grouped into three
streets (街道) made of communities (社区), with residential compounds (小区) inside the
residential blocks; a river runs along one lattice column. The countryside is the rest of the
wobbly county outline: the river's meanders and its three rural bridges, six townships (乡镇)
tiling it and administrative villages tiling each township. Also the county's name, its origin
and the names and codes of its townships.

The streets, gates and footpaths of the county seat are made in :mod:`servicegrid.demo.roads`.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.spatial import cKDTree

from ._arrays import _bilinear, _closed_polygons, _locate, _tile, _union_by_group

__all__ = ["DEMO_NAME", "DEMO_ORIGIN"]

DEMO_NAME = "示范县"
DEMO_ORIGIN = (113.6, 37.7)  # lon, lat of the county seat (a fictional spot in Shanxi)
_CODE_PREFIX = "990101"  # province 99 does not exist

# Fictional names of the streets and townships
_STREETS = ("城关街道", "北城街道", "河东街道")
_TOWNS = ("青山镇", "白水镇", "东岭镇", "石门镇", "柳林镇", "南川乡", "杏花乡", "马坊乡", "红崖镇", "清泉镇")


# ---------------------------------------------------------------------------------------------
# Sizes (metres)
# ---------------------------------------------------------------------------------------------
_NX, _NY = 18, 14  # urban blocks west-east, south-north
_BLOCK_M = 250.0
_RIVER_COLUMN = 11  # lattice column the river follows through the county seat
_BRIDGE_ROWS = (3, 7, 11)  # urban streets that cross the river
_MARGIN = 0.05  # compound set-back inside its block, as a fraction of the block
_COUNTY_RADIUS_M = 17_000.0
_VILLAGE_SPACING_M = 3_400.0


# ---------------------------------------------------------------------------------------------
# County seat: street lattice, blocks, communities and compounds
# ---------------------------------------------------------------------------------------------
def _build_city(rng: np.random.Generator) -> dict:
    nx, ny, k = _NX, _NY, _RIVER_COLUMN
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

    # streets (街道): west of the river split south / north, and east of the river;
    # communities (社区): rectangles of 2–4 × 2–4 blocks inside a street
    street = np.where(bi >= k, 2, np.where(bj < ny // 2, 0, 1))
    col_range = {0: (0, k), 1: (0, k), 2: (k, nx)}
    row_range = {0: (0, ny // 2), 1: (ny // 2, ny), 2: (0, ny)}
    community = np.zeros(len(bi), dtype=np.int64)
    for s in range(3):  # the three streets
        col_group = _split_range(col_range[s][1] - col_range[s][0], rng)
        row_group = _split_range(row_range[s][1] - row_range[s][0], rng)
        in_s = street == s
        ci = col_group[bi[in_s] - col_range[s][0]]
        ri = row_group[bj[in_s] - row_range[s][0]]
        community[in_s] = s * 10_000 + ci * 100 + ri
    community = np.unique(community, return_inverse=True)[1]
    n_comm = int(community.max()) + 1
    comm_street = np.zeros(n_comm, dtype=np.int64)
    comm_street[community] = street
    comm_geom = _union_by_group(blocks, community, n_comm)
    street_geom = _union_by_group(blocks, street, 3)
    outline = shapely.polygons(np.concatenate([node[:, 0], node[-1, 1:], node[-2::-1, -1], node[0, -2::-1]]))

    compounds = _city_compounds(rng, corners, use, bi, bj)
    return {
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
    rng: np.random.Generator, corners: np.ndarray, use: np.ndarray, bi: np.ndarray, bj: np.ndarray
) -> dict:
    """Compounds as (u, v) rectangles inside residential blocks; about a third of blocks hold two."""
    k = _RIVER_COLUMN
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
    theta = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    phase = rng.uniform(0, 2 * np.pi, 3)
    wobble = 1 + 0.08 * np.sin(2 * theta + phase[0]) + 0.05 * np.sin(3 * theta + phase[1])
    radius = _COUNTY_RADIUS_M * (wobble + 0.03 * np.sin(5 * theta + phase[2]))
    county = shapely.polygons(np.c_[1.15 * radius * np.cos(theta), 0.9 * radius * np.sin(theta)])
    countryside = shapely.difference(county, city["outline"])
    river = _river(rng, city["river"])

    # six towns: Voronoi cells of seeds on a ring around the county seat; seeds are town seats
    t_theta = rng.uniform(0, 2 * np.pi) + np.arange(6) * np.pi / 3 + rng.uniform(-0.15, 0.15, 6)
    t_r = rng.uniform(0.5, 0.62, 6) * _COUNTY_RADIUS_M
    town_seed = np.c_[1.15 * t_r * np.cos(t_theta), 0.9 * t_r * np.sin(t_theta)]
    towns = _tile(np.array([countryside]), town_seed, np.zeros(6, dtype=np.int64))

    # village seeds on a jittered lattice, plus the town seats
    span = np.arange(-25_000, 25_001, _VILLAGE_SPACING_M)
    vx, vy = np.meshgrid(span, span, indexing="ij")
    vxy = np.c_[vx.ravel(), vy.ravel()] + rng.uniform(-700, 700, (vx.size, 2))
    inner = shapely.buffer(countryside, -700)
    vxy = vxy[shapely.contains_xy(inner, vxy[:, 0], vxy[:, 1])]
    vxy = vxy[cKDTree(town_seed).query(vxy)[0] > 1_600]
    seed = np.r_[town_seed, vxy]
    town = np.r_[np.arange(6), _locate(vxy, towns)]
    order = np.lexsort((seed[:, 1], seed[:, 0], town))
    seed, town, is_seat = seed[order], town[order], order < 6
    villages = _tile(towns, seed, town)

    # township names and codes: streets 001–003, towns (镇) 1xx, xiang (乡) 2xx
    names = rng.permutation(_TOWNS)[:6]
    xiang = np.char.endswith(names.astype(str), "乡")
    names = np.r_[names[~xiang], names[xiang]]
    serial = np.r_[101 + np.arange(int((~xiang).sum())), 201 + np.arange(int(xiang.sum()))]
    ids = np.r_[[f"{_CODE_PREFIX}{s:03d}" for s in (1, 2, 3)], [f"{_CODE_PREFIX}{s:03d}" for s in serial]]
    townships = {
        "id": ids,
        "name": np.r_[_STREETS, names],
        "kind": np.r_[np.full(3, "street"), np.full(6, "town")],
        "code": np.char.add(ids, "000"),
        "geometry": np.r_[city["street_geom"], towns],
    }
    return {
        "county": county,
        "countryside": countryside,
        "river": river,
        "bridges": _bridges(river, county, city["outline"]),
        "townships": townships,
        "village_seed": seed,
        "village_town": town,
        "village_is_seat": is_seat,
        "village_geom": villages,
    }


def _river(rng: np.random.Generator, through_city: np.ndarray) -> np.ndarray:
    """River vertices, south to north: meanders leaving the city's river column both ways."""
    step = 150.0
    dy = np.arange(step, 30_000, step)
    reaches = []
    for end, direction in ((through_city[0], -1.0), (through_city[-1], 1.0)):
        amp, wave, drift = rng.uniform(500, 900), rng.uniform(7_000, 11_000), rng.uniform(-0.15, 0.15)
        x = end[0] + amp * np.sin(2 * np.pi * dy / wave) + drift * dy
        reaches.append(np.c_[x, end[1] + direction * dy])
    return np.r_[reaches[0][::-1], through_city, reaches[1]]


def _bridges(river: np.ndarray, county: shapely.Geometry, outline: shapely.Geometry) -> np.ndarray:
    """Three rural bridges: river vertices at fixed fractions of its course outside the city."""
    rural = shapely.contains_xy(county, river[:, 0], river[:, 1]) & ~shapely.contains_xy(
        shapely.buffer(outline, 600), river[:, 0], river[:, 1]
    )
    idx = np.flatnonzero(rural)
    centre = int(np.argmin(np.abs(river[:, 1])))
    south, north = idx[idx < centre], idx[idx > centre]
    pick = np.r_[south[[int(len(south) * 0.3), int(len(south) * 0.75)]], north[int(len(north) * 0.5)]]
    return river[pick]
