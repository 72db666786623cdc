"""The demo county 示范县: a deterministic, clearly synthetic planning workspace.

:func:`build_demo_county` generates every standard layer of a fictional county placed near
113.6°E, 37.7°N, so the Gauss–Krüger zone (CGCS2000, central meridian 114°E) and the WGS-84
storage path are exercised as with real data. :func:`write_demo_county` writes it as a workspace
GeoPackage labelled "synthetic" plus its walking network as an OpenStreetMap XML file, so the
demo takes the same OSM network path as a real county.

What the county holds:

- a county seat: a jittered street lattice cut by a river that three bridges cross, three
  streets (街道) made of communities (社区), residential compounds (小区) with gates that open onto
  the streets and footpaths inside;
- six townships (乡镇) tiling the rest of the county, administrative villages tiling each
  township, rural settlements (自然村) and a rural road network (a spanning tree with a few loops
  over the settlements; the river is crossed at a few bridges only, so walking distance differs
  from straight-line distance);
- management grids (网格) tiling each village or community, built by clustering ~10-household
  points so that urban grids hold about 300–500 households and rural grids about 100–200; dedicated
  grids (专属网格) are the blocks of schools, hospitals, offices and enterprises; micro-grids (微网格,
  ~10 households) cover a pilot township and a few pilot communities;
- facilities of every tier with a spread of compliance under the standards preset
  :data:`DEMO_PRESET` (cn-default): about a quarter model, nearly half compliant and the rest
  non-compliant for one reason each (a missing item, a floor or hall area below the minimum, a
  missing window, no weekend duty or too few opening days, no opening hours posted), all read from
  the preset's tiers, so that its audit grades each facility as generated; and candidate sites
  near compounds that no station serves.

Everything is built in the metric CRS of :mod:`servicegrid.geo.crs` and converted to WGS-84 at
the end. All names are invented; codes use the non-existent province prefix 99.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.spatial import Delaunay, cKDTree

from ..standards.hours import DAYS
from ..standards.loader import load_preset
from ..standards.models import GRADES, AreaRule, HoursRule, Preset
from ..geo.crs import STORAGE_CRS, metric_crs_for_lonlat
from ..geo.osmxml import write_osm_xml
from ..geo.schema import conform
from ..geo.workspace import WorkspaceSettings, atomic_path, write_layers

__all__ = [
    "DEMO_NAME",
    "DEMO_ORIGIN",
    "DEMO_PRESET",
    "FACILITY_ITEMS",
    "FACILITY_ROOMS",
    "FACILITY_WINDOWS",
    "FACILITY_ZONES",
    "TIERS",
    "DemoCounty",
    "DemoFiles",
    "build_demo_county",
    "write_demo_county",
]

logger = logging.getLogger(__name__)

DEMO_NAME = "示范县"
DEMO_ORIGIN = (113.6, 37.7)  # lon, lat of the county seat (a fictional spot in Shanxi)
_CODE_PREFIX = "990101"  # province 99 does not exist

TIERS = (
    "county_center",
    "town_center",
    "community_center",
    "village_center",
    "compound_station",
    "activity_room",
    "courier_station",
)
DEMO_PRESET = "cn-default"
"""The standards preset the demo facilities are generated against (the workspace's preset)."""

_PRESET = load_preset(DEMO_PRESET)
# The vocabularies of the facility registers: the preset's ids and Chinese labels.
FACILITY_ITEMS: Mapping[str, str] = MappingProxyType({k: v.zh for k, v in _PRESET.items.items()})
FACILITY_WINDOWS: Mapping[str, str] = MappingProxyType({k: v.zh for k, v in _PRESET.windows.items()})
FACILITY_ZONES: Mapping[str, str] = MappingProxyType({k: v.zh for k, v in _PRESET.zones.items()})
FACILITY_ROOMS: Mapping[str, str] = MappingProxyType({k: v.zh for k, v in _PRESET.rooms.items()})

# What the preset does not say and a register still records: staff per tier (min, max), before
# the preset's minimums are applied.
_STAFF = {
    "county_center": (8, 20),
    "town_center": (4, 12),
    "community_center": (3, 8),
    "village_center": (1, 4),
    "compound_station": (1, 3),
    "activity_room": (0, 2),
    "courier_station": (0, 1),
}
_GRADE_SHARES = {"model": 0.25, "compliant": 0.45, "noncompliant": 0.30}
_OTHER_GAP_P = 0.5  # chance that a compliant facility also misses each further model requirement
_DEFAULT_AREA_M2 = 60.0  # floor area of a tier whose preset sets no area minimum
# Weekly hours a register records: the time part and when its last interval ends (minutes).
_HOURS_TIMES = (
    ("08:30-12:00,14:30-18:00", 18 * 60),
    ("08:00-12:00,14:00-17:30", 17 * 60 + 30),
    ("09:00-17:00", 17 * 60),
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# ---------------------------------------------------------------------------------------------
# Fictional names
# ---------------------------------------------------------------------------------------------
_STREETS = ("城关街道", "北城街道", "河东街道")
_TOWNS = ("青山镇", "白水镇", "东岭镇", "石门镇", "柳林镇", "南川乡", "杏花乡", "马坊乡", "红崖镇", "清泉镇")
_COMMUNITY_WORDS = _words(
    "文昌 迎宾 滨河 新华 建设 东关 府前 和平 光明 幸福 朝阳 锦绣 翠苑 书院 鼓楼 西街 南街 北街 东街 育才 "
    "花园 康乐 振兴 兴华 学府 长青 明珠 金桥 康宁 怡和 新城 青年 胜利 丰泽 永宁 安泰 南关 西关"
)
_COMPOUND_WORDS = _words(
    "阳光 幸福 金色 锦华 翠湖 碧水 世纪 东方 御景 龙湾 书香 康城 丽景 盛世 和谐 安居 富康 瑞祥 滨江 紫荆 "
    "桂花 玉兰 香樟 银杏 枫林 明月 星河 泰和 永安 福苑 宏远 怡景 春晓 晨曦 凤凰 华庭 润泽 嘉禾 观澜 锦绣"
)
_COMPOUND_SUFFIXES = ("小区", "花园", "家园", "苑", "新村", "公寓", "华府", "名苑", "佳苑", "雅居")
_VILLAGE_FIRST = _words(
    "张 王 李 刘 赵 陈 杨 郭 马 高 梁 宋 韩 冯 段 侯 贾 任 武 白 大 小 东 西 南 北 上 下 前 后 新 石 沙 柳 杏 "
    "桃 枣 榆 槐 柏"
)
_VILLAGE_SECOND = _words("家庄 家沟 家峪 家坡 家湾 庄 河 沟 峪 坡 岭 洼 堡 寨 营 坪 头 窑 泉 园 店")
_ROAD_NS = _words(
    "建设 文化 迎宾 府前 新华 解放 人民 和平 胜利 育才 振兴 长安 民主 团结 朝阳 工业 青年 友谊 体育 滨河"
)
_ROAD_EW = _words("东风 红旗 光明 南环 北环 中心 公园 兴华 鼓楼 学府 迎春 清泉 永安 安宁 富民 康乐 吉祥")
_ORGS = _words(
    "示范县第一中学 示范县第二中学 示范县实验小学 示范县人民医院 示范县中医院 示范县职业技术学校 "
    "示范县供电公司 示范县自来水公司 示范县农村信用社 恒通物流公司 丰源食品公司 宏达建材公司 华兴机械厂 "
    "示范县税务局 示范县市场监管局 青禾农业合作社 示范县邮政分公司 示范县汽车站 示范县图书馆 示范县文化馆"
)
_CANDIDATE_KINDS = {  # kind: (Chinese label, cost range in yuan)
    "vacant_public_room": ("空置公房", (30_000, 80_000)),
    "property_room": ("物业用房", (50_000, 120_000)),
    "rental": ("租赁用房", (80_000, 200_000)),
    "village_collective": ("村集体闲置用房", (40_000, 150_000)),
    "new_build": ("新建用房", (300_000, 600_000)),
}

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
_SETTLEMENT_SPACING_M = 800.0
_HH_PER_POINT = 10  # households per household point (= per micro-grid)


@dataclass(frozen=True, eq=False)
class DemoCounty:
    """The synthetic demo county: standard workspace layers plus what was used to make them.

    Attributes
    ----------
    layers
        Every standard layer (``servicegrid.geo.schema.LAYERS``) in WGS-84, as a read-only
        mapping; treat the frames as read-only too.
    settings
        Workspace settings (``synthetic=True``).
    seed
        The seed the county was generated from.
    metric_crs
        The metric CRS the county was built in.
    bounds
        ``(minlon, minlat, maxlon, maxlat)`` of the county in WGS-84, with a small margin.
    facility_profile
        One row per facility: ``id``, ``tier``, the ``grade`` it was generated to have under the
        preset :data:`DEMO_PRESET` (the audit's grade ids ``model``, ``compliant``,
        ``noncompliant``), the ``reason`` of a non-compliant grade (``missing_item``,
        ``too_small``, ``missing_window``, ``no_weekend_duty``, ``short_hours`` (fewer weekdays
        open than the tier needs), ``no_hours_posted``; blank otherwise) and what falls short
        (``missing``): the item or window ids, ``floor_area_m2`` or ``hall_area_m2``,
        ``weekend_duty`` or ``opening_hours``. Not written to the workspace.
    """

    layers: Mapping[str, gpd.GeoDataFrame]
    settings: WorkspaceSettings
    seed: int
    metric_crs: CRS
    bounds: tuple[float, float, float, float]
    facility_profile: pd.DataFrame

    @property
    def description(self) -> str:
        """The text stored as every layer's description in the GeoPackage."""
        return (
            f"servicegrid demo county {DEMO_NAME}: SYNTHETIC data generated with seed {self.seed}; "
            "all places, names, codes and numbers are fictional"
        )


@dataclass(frozen=True)
class DemoFiles:
    """The files :func:`write_demo_county` wrote, with the size of the walking network file."""

    workspace: Path
    network: Path
    network_nodes: int
    network_ways: int


def build_demo_county(*, seed: int = 0) -> DemoCounty:
    """Generate the synthetic demo county.

    The same ``seed`` always gives identical layers; another seed gives another county of the
    same size and structure.

    Parameters
    ----------
    seed
        Seed of the random generator (``numpy.random.default_rng``).

    Returns
    -------
    DemoCounty
        The layers in WGS-84 and the settings (``synthetic=True``).

    Examples
    --------
    >>> county = build_demo_county(seed=0)
    >>> from servicegrid.geo.schema import LAYERS
    >>> county.settings.synthetic, sorted(county.layers) == sorted(LAYERS)
    (True, True)
    >>> county.metric_crs.to_epsg()   # CGCS2000 3-degree Gauss–Krüger, central meridian 114°E
    4547
    """
    rng = np.random.default_rng(seed)
    crs = metric_crs_for_lonlat(*DEMO_ORIGIN)
    ox, oy = Transformer.from_crs(STORAGE_CRS, crs, always_xy=True).transform(*DEMO_ORIGIN)
    offset = np.array([ox, oy])

    city = _build_city(rng)
    rural = _build_countryside(rng, city)
    units = _build_demand(rng, city, rural)
    grids = _build_grids(rng, city, rural, units)
    rural_roads = _build_rural_roads(rng, city, rural, units)
    facilities, profile = _build_facilities(rng, city, rural, units)
    candidates = _build_candidates(rng, city, units, facilities)

    def frame(layer: str, data: Mapping[str, np.ndarray]) -> gpd.GeoDataFrame:
        columns = {key: value for key, value in data.items() if key != "geometry"}
        moved = shapely.transform(data["geometry"], lambda xy: xy + offset)
        return conform(gpd.GeoDataFrame(columns, geometry=moved, crs=crs), layer).to_crs(STORAGE_CRS)

    roads = {
        key: np.concatenate([city["roads"][key], rural_roads[key]]) for key in ("highway", "name", "geometry")
    }
    roads["id"] = _ids("R", len(roads["highway"]), 5)
    gates = {
        "id": _ids("K", len(city["gates"]["compound"]), 5),
        "compound_id": units["compounds"]["id"][city["gates"]["compound"]],
        "geometry": city["gates"]["geometry"],
    }
    layers = {
        "townships": frame("townships", rural["townships"]),
        "villages": frame("villages", units["villages"]),
        "grids": frame("grids", grids["grids"]),
        "microgrids": frame("microgrids", grids["microgrids"]),
        "compounds": frame("compounds", units["compounds"]),
        "settlements": frame("settlements", units["settlements"]),
        "facilities": frame("facilities", facilities),
        "gates": frame("gates", gates),
        "roads": frame("roads", roads),
        "candidates": frame("candidates", candidates),
    }
    county = shapely.transform(rural["county"], lambda xy: xy + offset)
    west, south, east, north = gpd.GeoSeries([county], crs=crs).to_crs(STORAGE_CRS).total_bounds
    pad = 0.002  # degrees, about 200 m: the margin of <bounds> in the OSM file
    bounds = (float(west - pad), float(south - pad), float(east + pad), float(north + pad))
    logger.info(
        "demo county (seed %d): %s", seed, ", ".join(f"{len(f)} {name}" for name, f in layers.items())
    )
    return DemoCounty(
        layers=MappingProxyType(layers),
        settings=WorkspaceSettings(name=f"{DEMO_NAME}（合成示例数据）", preset=DEMO_PRESET, synthetic=True),
        seed=seed,
        metric_crs=crs,
        bounds=bounds,
        facility_profile=profile,
    )


def write_demo_county(out_dir: str | os.PathLike[str], *, seed: int = 0) -> DemoFiles:
    """Build the demo county and write it to ``out_dir``.

    Writes ``demo-county.gpkg`` (every standard layer, each described as synthetic, and the
    settings with ``synthetic=True``) and ``demo-county-walk.osm`` (the roads layer as
    OpenStreetMap XML). Both files are replaced atomically; an existing workspace of that name
    is replaced whole, so no stale layers survive.

    Parameters
    ----------
    out_dir
        Folder to write into (created when missing).
    seed
        Seed of the random generator.

    Returns
    -------
    DemoFiles
        The paths written and the numbers of nodes and ways in the walking network file.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    county = build_demo_county(seed=seed)
    workspace = out_dir / "demo-county.gpkg"
    with atomic_path(workspace) as tmp:
        write_layers(tmp, county.layers, settings=county.settings, description=county.description)
    osm = write_osm_xml(
        county.layers["roads"],
        out_dir / "demo-county-walk.osm",
        bounds=county.bounds,
        generator=f"servicegrid demo county (synthetic, seed {seed})",
    )
    return DemoFiles(workspace=workspace, network=osm.path, network_nodes=osm.nodes, network_ways=osm.ways)


# ---------------------------------------------------------------------------------------------
# Array helpers
# ---------------------------------------------------------------------------------------------
def _ids(prefix: str, n: int, width: int) -> np.ndarray:
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


# ---------------------------------------------------------------------------------------------
# County seat: street lattice, blocks, communities, compounds, gates and paths
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
    paths = _city_paths(rng, node, corners, bi, bj, compounds)
    return {
        "node": node,
        "outline": outline,
        "block_corners": corners,
        "block_use": use,
        "block_community": community,
        "block_street": street,
        "county_block": county_block,
        "community_geom": comm_geom,
        "community_street": comm_street,
        "street_geom": street_geom,
        "compounds": compounds,
        "gates": paths["gates"],
        "roads": paths["roads"],
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


def _city_paths(
    rng: np.random.Generator,
    node: np.ndarray,
    corners: np.ndarray,
    bi: np.ndarray,
    bj: np.ndarray,
    comp: dict,
) -> dict:
    """Gates, gate links, footpaths inside compounds and the streets (with the links' feet)."""
    nx, ny, k = _NX, _NY, _RIVER_COLUMN
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
    no_bridge = np.setdiff1d(np.arange(ny + 1), _BRIDGE_ROWS)
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


# ---------------------------------------------------------------------------------------------
# Demand units: villages and communities, compounds, settlements, household points
# ---------------------------------------------------------------------------------------------
def _build_demand(rng: np.random.Generator, city: dict, rural: dict) -> dict:
    village_geom = rural["village_geom"]
    n_vil = len(village_geom)
    # settlements: the main one at each village seed (moved inward when the seed lies near the
    # village's edge), the others on a jittered lattice
    seed = rural["village_seed"]
    tight = shapely.distance(shapely.points(seed), shapely.boundary(village_geom)) < 150
    inscribed = shapely.get_point(shapely.maximum_inscribed_circle(village_geom[tight]), 0)
    main_xy = seed.copy()
    main_xy[tight] = shapely.get_coordinates(inscribed)
    span = np.arange(-25_000, 25_001, _SETTLEMENT_SPACING_M)
    sx, sy = np.meshgrid(span, span, indexing="ij")
    sxy = np.c_[sx.ravel(), sy.ravel()] + rng.uniform(-170, 170, (sx.size, 2))
    sxy = sxy[rng.random(len(sxy)) < 0.62]
    sxy = sxy[
        shapely.contains_xy(rural["countryside"], sxy[:, 0], sxy[:, 1])
        & ~shapely.contains_xy(shapely.buffer(city["outline"], 250), sxy[:, 0], sxy[:, 1])
    ]
    sxy = sxy[cKDTree(main_xy).query(sxy)[0] > 420]
    sxy = sxy[shapely.distance(shapely.points(sxy), shapely.linestrings(rural["river"])) > 150]
    xy = np.r_[main_xy, sxy]
    village = np.r_[np.arange(n_vil), _locate(sxy, village_geom)]
    is_main = np.arange(len(xy)) < n_vil
    hh = np.r_[
        np.where(rural["village_is_seat"], rng.integers(185, 201, n_vil), rng.integers(120, 201, n_vil)),
        np.clip(np.round(rng.lognormal(np.log(75), 0.55, len(sxy))), 20, 200).astype(np.int64),
    ]
    room = shapely.distance(shapely.points(xy), shapely.boundary(village_geom[village]))
    radius = np.minimum(np.clip(9.5 * np.sqrt(hh), 45, 135), 0.8 * room)
    keep = is_main | (radius >= 35)
    xy, village, is_main, hh, radius = (
        xy[keep],
        village[keep],
        is_main[keep],
        hh[keep],
        np.maximum(radius[keep], 20),
    )
    order = np.lexsort((~is_main, village))
    xy, village, is_main, hh, radius = xy[order], village[order], is_main[order], hh[order], radius[order]
    angle = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    shape = (1 + 0.16 * np.sin(2 * angle + rng.uniform(0, 2 * np.pi, (len(xy), 1)))) * rng.uniform(
        0.9, 1.05, (len(xy), 12)
    )
    ring = xy[:, None, :] + (radius[:, None] * shape)[..., None] * np.stack(
        [np.cos(angle), np.sin(angle)], -1
    )
    s_geom = _closed_polygons(ring)
    s_pop = np.round(hh * rng.uniform(2.6, 3.1, len(hh))).astype(np.int64)

    # compounds: households from area and a density of 60–140 households per hectare
    comp = city["compounds"]
    c_hh = np.clip(
        np.round(
            shapely.area(comp["geometry"]) / 10_000 * rng.lognormal(np.log(130), 0.35, len(comp["block"]))
        ),
        200,
        2000,
    )
    c_hh = c_hh.astype(np.int64)
    c_pop = np.round(c_hh * rng.uniform(2.6, 3.1, len(c_hh))).astype(np.int64)
    c_comm = city["block_community"][comp["block"]]

    # villages layer: communities (per street) first, then villages (per town)
    n_comm = len(city["community_geom"])
    township = np.r_[city["community_street"], 3 + rural["village_town"]]
    kind = np.r_[np.full(n_comm, "community"), np.full(n_vil, "village")]
    serial = np.where(kind == "community", 1, 201) + _rank_in_group(township)
    unit_id = np.char.add(rural["townships"]["id"][township], np.char.zfill(serial.astype(str), 3))
    pool = rng.permutation(np.array([a + b for a in _VILLAGE_FIRST for b in _VILLAGE_SECOND]))
    village_names = np.char.add(pool[:n_vil], "村")
    villages = {
        "id": unit_id,
        "name": np.r_[np.char.add(rng.permutation(_COMMUNITY_WORDS)[:n_comm], "社区"), village_names],
        "township_id": rural["townships"]["id"][township],
        "kind": kind,
        "households": np.r_[np.bincount(c_comm, c_hh, n_comm), np.bincount(village, hh, n_vil)].astype(
            np.int64
        ),
        "population": np.r_[np.bincount(c_comm, c_pop, n_comm), np.bincount(village, s_pop, n_vil)].astype(
            np.int64
        ),
        "code": unit_id,
        "geometry": np.r_[city["community_geom"], village_geom],
    }
    others = pool[n_vil:]
    settlements = {
        "id": _ids("S", len(xy), 4),
        "name": np.where(is_main, pool[village], others[np.arange(len(xy)) % len(others)]),
        "village_id": unit_id[n_comm + village],
        "households": hh,
        "population": s_pop,
        "geometry": s_geom,
    }
    words = rng.permutation(np.array([a + b for a in _COMPOUND_WORDS for b in _COMPOUND_SUFFIXES]))
    compounds = {
        "id": _ids("C", len(c_hh), 4),
        "name": words[np.arange(len(c_hh)) % len(words)],
        "village_id": unit_id[c_comm],
        "households": c_hh,
        "population": c_pop,
        "geometry": comp["geometry"],
    }

    # household points, about ten households each: the seeds of grids and micro-grids
    d_hh, d_pop = np.r_[c_hh, hh], np.r_[c_pop, s_pop]
    n_pts = np.ceil(d_hh / _HH_PER_POINT).astype(np.int64)
    owner = np.repeat(np.arange(len(d_hh)), n_pts)
    rank = _rank_in_group(owner)
    p_hh = d_hh[owner] // n_pts[owner] + (rank < d_hh[owner] % n_pts[owner])
    p_pop = p_hh * d_pop[owner] / d_hh[owner]  # fractional: a grid's sum is rounded once
    in_comp = owner < len(c_hh)
    ci = owner[in_comp]
    uu = comp["u0"][ci] + (comp["u1"][ci] - comp["u0"][ci]) * rng.uniform(0.05, 0.95, len(ci))
    vv = comp["v0"][ci] + (comp["v1"][ci] - comp["v0"][ci]) * rng.uniform(0.05, 0.95, len(ci))
    si = owner[~in_comp] - len(c_hh)
    r = 0.6 * radius[si] * np.sqrt(rng.random(len(si)))
    a = rng.uniform(0, 2 * np.pi, len(si))
    p_xy = np.empty((len(owner), 2))
    p_xy[in_comp] = _bilinear(city["block_corners"][comp["block"][ci]], uu, vv)
    p_xy[~in_comp] = xy[si] + np.c_[r * np.cos(a), r * np.sin(a)]
    return {
        "villages": villages,
        "settlements": settlements,
        "compounds": compounds,
        "n_communities": n_comm,
        "settlement_xy": xy,
        "settlement_village": village,
        "settlement_is_main": is_main,
        "compound_community": c_comm,
        "demand_geom": np.r_[comp["geometry"], s_geom],
        "point_xy": p_xy,
        "point_unit": np.r_[c_comm, n_comm + village][owner],
        "point_demand": owner,
        "point_hh": p_hh,
        "point_pop": p_pop,
    }


# ---------------------------------------------------------------------------------------------
# Grids and micro-grids
# ---------------------------------------------------------------------------------------------
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

    # micro-grids (十户联网) in a pilot township and four pilot communities: one per household
    # point, the Voronoi cell of the point in its grid cut to the point's compound or settlement
    township = np.searchsorted(rural["townships"]["id"], villages["township_id"])
    pilot = (township == 3 + int(rng.integers(0, 6))) | np.isin(
        np.arange(n_units), rng.choice(n_comm, size=4, replace=False)
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


# ---------------------------------------------------------------------------------------------
# Rural roads: a spanning tree over the settlements with a few loops, crossing the river at
# bridges only, classed by the routes that link town seats to the county seat and villages to
# their town seat
# ---------------------------------------------------------------------------------------------
def _build_rural_roads(rng: np.random.Generator, city: dict, rural: dict, units: dict) -> dict:
    nx, ny, k = _NX, _NY, _RIVER_COLUMN
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
    for bridge in bridge_node:  # three bridges
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


# ---------------------------------------------------------------------------------------------
# Facilities
# ---------------------------------------------------------------------------------------------
def _build_facilities(
    rng: np.random.Generator, city: dict, rural: dict, units: dict
) -> tuple[dict, pd.DataFrame]:
    villages, comp = units["villages"], city["compounds"]
    n_comm = units["n_communities"]
    corners, use = city["block_corners"], city["block_use"]
    block_comm, block_street = city["block_community"], city["block_street"]
    n_blocks = len(use)
    tiers, xy, unit, compound, names = [], [], [], [], []

    def add(
        tier: str,
        points: np.ndarray,
        unit_idx: np.ndarray,
        label: np.ndarray,
        comp_idx: np.ndarray | None = None,
    ) -> None:
        tiers.append(np.full(len(points), tier))
        xy.append(points.reshape(-1, 2))
        unit.append(unit_idx)
        names.append(np.asarray(label, dtype=str))
        compound.append(np.full(len(points), -1) if comp_idx is None else comp_idx)

    def in_block(blocks: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return _bilinear(corners[blocks], u, v)

    # county centre and the three street centres in office blocks near each street's middle
    cb = city["county_block"]
    add(
        "county_center",
        in_block(np.array([cb]), np.array([0.5]), np.array([0.12])),
        block_comm[[cb]],
        [f"{DEMO_NAME}党群服务中心"],
    )
    block_mid = _bilinear(corners, np.full(n_blocks, 0.5), np.full(n_blocks, 0.5))
    office = np.isin(use, ["government", "commercial", "enterprise"]) & (np.arange(n_blocks) != cb)
    street_centre = shapely.get_coordinates(shapely.centroid(city["street_geom"]))
    dist = np.hypot(*(block_mid[None, :, :] - street_centre[:, None, :]).transpose(2, 0, 1))
    dist[:, ~office] += 1e9  # office blocks first, any block if a street has none
    dist[block_street[None, :] != np.arange(3)[:, None]] = np.inf
    town_blocks = np.argmin(dist, axis=1)
    add(
        "town_center",
        in_block(town_blocks, np.full(3, 0.5), np.full(3, 0.15)),
        block_comm[town_blocks],
        np.char.add(np.array(_STREETS), "党群服务中心"),
    )

    # rural town centres at the town seats
    s_xy, s_vil, is_main = units["settlement_xy"], units["settlement_village"], units["settlement_is_main"]
    main = np.flatnonzero(is_main)
    seat = main[rural["village_is_seat"][s_vil[main]]]
    seat = seat[np.argsort(rural["village_town"][s_vil[seat]])]
    town_names = rural["townships"]["name"][3:]
    add(
        "town_center",
        s_xy[seat] + [18.0, 10.0],
        n_comm + s_vil[seat],
        np.char.add(town_names.astype(str), "党群服务中心"),
    )

    # community centres: two in most communities, one in many, none in a few
    per_comm = rng.choice([0, 1, 2], size=n_comm, p=[0.06, 0.4, 0.54])
    cc = np.repeat(np.arange(n_comm), per_comm)
    cc_block = _pick_in_group(rng, np.arange(n_blocks), block_comm, cc)
    second = _rank_in_group(cc) == 1
    add(
        "community_center",
        in_block(cc_block, rng.uniform(0.25, 0.75, len(cc)), rng.uniform(0.1, 0.3, len(cc))),
        cc,
        np.char.add(villages["name"][cc], np.where(second, "第二党群服务中心", "党群服务中心")),
    )

    # village centres in most villages, beside the main settlement's centre
    has_centre = rng.random(len(main)) < 0.9
    vc = main[has_centre]
    add(
        "village_center",
        s_xy[vc] + [-12.0, 8.0],
        n_comm + s_vil[vc],
        np.char.add(villages["name"][n_comm + s_vil[vc]], "党群服务中心"),
    )

    # compound stations in about a third of the compounds
    station = np.flatnonzero(rng.random(len(comp["block"])) < 0.35)
    su = comp["u0"][station] + (comp["u1"][station] - comp["u0"][station]) * rng.uniform(
        0.3, 0.7, len(station)
    )
    sv = comp["v0"][station] + (comp["v1"][station] - comp["v0"][station]) * rng.uniform(
        0.3, 0.7, len(station)
    )
    add(
        "compound_station",
        in_block(comp["block"][station], su, sv),
        units["compound_community"][station],
        np.char.add(units["compounds"]["name"][station], "党群服务站"),
        station,
    )

    # activity rooms of schools, hospitals, offices and enterprises, and one per town seat
    host = np.flatnonzero(np.isin(use, list(_DEDICATED)) & (rng.random(n_blocks) < 0.7))
    host = host[(host != cb) & ~np.isin(host, town_blocks)]
    org = rng.permutation(_ORGS)
    org_names = np.char.add(org[np.arange(len(host)) % len(org)], "党员活动室")
    add(
        "activity_room",
        in_block(host, np.full(len(host), 0.3), np.full(len(host), 0.7)),
        block_comm[host],
        org_names,
    )
    add(
        "activity_room",
        s_xy[seat] + [-20.0, -15.0],
        n_comm + s_vil[seat],
        np.char.add(town_names.astype(str), "中心学校党员活动室"),
    )

    # courier stations (快递小哥加油站) in commercial blocks, then other non-residential ones
    score = np.where(use == "commercial", 0, np.where(use == "residential", 2, 1)) + rng.random(n_blocks)
    courier = np.argsort(score)[:10]
    edge_name = np.array(["东", "西", "南", "北", "中"])[np.arange(10) % 5]
    add(
        "courier_station",
        in_block(courier, np.full(10, 0.5), np.full(10, 0.08)),
        block_comm[courier],
        np.char.add(np.char.add(villages["name"][block_comm[courier]], edge_name), "快递小哥加油站"),
    )

    tier = np.concatenate(tiers)
    unit_idx = np.concatenate(unit)
    comp_idx = np.concatenate(compound)
    ids = _ids("F", len(tier), 4)
    attrs, profile = _facility_attributes(rng.spawn(1)[0], tier, ids)
    facilities = {
        "id": ids,
        "name": np.concatenate(names),
        "tier": tier,
        "status": np.where(
            rng.random(len(tier)) < np.where(tier == "compound_station", 0.08, 0.02), "planned", "existing"
        ),
        "township_id": villages["township_id"][unit_idx],
        "village_id": villages["id"][unit_idx],
        "compound_id": np.where(comp_idx >= 0, units["compounds"]["id"][np.maximum(comp_idx, 0)], None),
        **attrs,
        "geometry": shapely.points(np.concatenate(xy)),
    }
    return facilities, profile


@dataclass(frozen=True)
class _TierPlan:
    """A tier's standard as the generator applies it, read from the preset.

    The masks run over the preset's catalogues in catalogue order. ``reasons`` are the ways a
    facility of the tier can fail the compliant grade (the hours reason first, so that it is
    drawn whenever the tier has a non-compliant facility); ``gaps`` are the model requirements
    a compliant facility can miss.
    """

    required: np.ndarray  # compliance items: required items and required signs
    droppable: np.ndarray  # compliance items a register can leave out without failing anything else
    optional: np.ndarray
    model_items: np.ndarray
    listed: np.ndarray  # every item of the tier's checklists
    windows: np.ndarray
    zones: np.ndarray
    rooms: np.ndarray
    area: tuple[float, float]  # compliant and model minimums, NaN when absent
    hall: tuple[float, float]
    records_hall: bool
    hours: HoursRule | None
    optional_needed: int
    staff: tuple[int, int]
    reasons: tuple[str, ...]
    gaps: tuple[str, ...]


def _tier_plan(preset: Preset, tier_id: str) -> _TierPlan:
    """What the generator needs of tier ``tier_id`` of ``preset``."""
    tier = preset.tiers[tier_id]
    rule = tier.hours
    catalogue = {
        kind: np.array(list(getattr(preset, kind))) for kind in ("items", "windows", "zones", "rooms")
    }
    items = catalogue["items"]
    required = np.isin(items, tier.compliance_items)
    optional = np.isin(items, tier.optional_items)
    model_items = np.isin(items, tier.model_items)
    listed = required | optional | model_items
    checks = [preset.items[i].check for i in items]
    staff_checks = np.array([c.kind == "number" and c.column == "staff" for c in checks])
    staff_needed = max(
        (float(c.minimum.value) for c, on in zip(checks, staff_checks & listed, strict=True) if on),
        default=0.0,
    )
    min_staff = rule.min_staff if rule is not None else 0
    flag = np.array([c.kind == "flag" for c in checks])
    droppable = required & (flag | (staff_checks & (min_staff < staff_needed)))

    area, hall = _minimums(tier.area_min_m2), _minimums(tier.hall_min_m2)
    records_hall = bool(
        not np.isnan(hall).all() or "service_hall" in (*tier.compliance_items, *tier.optional_items)
    )
    windows = np.isin(catalogue["windows"], tier.required_windows)

    hours_reason = ()
    if rule is not None and rule.weekend_duty == "compliant":
        hours_reason = ("no_weekend_duty",)
    elif rule is not None and rule.min_weekdays_open >= 2:
        hours_reason = ("short_hours",)
    elif rule is not None and rule.schedule_required:
        hours_reason = ("no_hours_posted",)
    reasons = (
        *hours_reason,
        *("missing_item",) * bool(droppable.any()),
        *("too_small",) * bool(not np.isnan([area[0], hall[0]]).all()),
        *("missing_window",) * bool(windows.any()),
    )
    share = tier.grading.min_optional_share.value
    optional_needed = int(np.ceil(share * optional.sum() - 1e-9))

    def raises(pair: tuple[float, float]) -> bool:
        return bool(not np.isnan(pair[1]) and pair[1] > np.nan_to_num(pair[0]))

    gaps = (
        *("area",) * raises(area),
        *("hall",) * raises(hall),
        *("model_item",) * bool(model_items.any()),
        *("optional",) * (optional_needed > 0),
        *("weekend",) * (rule is not None and rule.weekend_duty == "model"),
        *("evening",) * (rule is not None and rule.min_evening_sessions_model > 0),
    )
    low, high = _STAFF.get(tier_id, (0, 2))
    low = max(low, min_staff, int(np.ceil(staff_needed)))
    return _TierPlan(
        required=required,
        droppable=droppable,
        optional=optional,
        model_items=model_items,
        listed=listed,
        windows=windows,
        zones=np.isin(catalogue["zones"], tier.required_zones),
        rooms=np.isin(catalogue["rooms"], tier.required_rooms),
        area=area,
        hall=hall,
        records_hall=records_hall,
        hours=rule,
        optional_needed=optional_needed,
        staff=(low, max(high, low)),
        reasons=reasons,
        gaps=gaps,
    )


def _minimums(rule: AreaRule) -> tuple[float, float]:
    """The compliant and model minimums of an area rule, NaN where absent."""
    compliant, model = (np.nan if f is None else float(f.value) for f in (rule.compliant, rule.model))
    return compliant, model


def _facility_attributes(
    rng: np.random.Generator, tier: np.ndarray, ids: np.ndarray
) -> tuple[dict, pd.DataFrame]:
    """Floor areas, items, windows, zones, rooms, hours and staff, graded by the demo's preset.

    Within each tier the grades follow ``_GRADE_SHARES`` (whole numbers, in random order). A
    model facility meets every requirement of its tier in the preset, leaving out at most the
    optional items the model grade may lack (a fraction of a star); a compliant one meets the
    compliant grade and misses at least one model requirement (one drawn for it, each other
    with probability ``_OTHER_GAP_P``); a non-compliant one meets everything the compliant grade
    needs except the one thing its reason names.
    """
    n = len(tier)
    width = {kind: len(getattr(_PRESET, kind)) for kind in ("items", "windows", "zones", "rooms")}
    out: dict[str, np.ndarray] = {
        "items": np.zeros((n, width["items"]), dtype=bool),
        "windows": np.zeros((n, width["windows"]), dtype=bool),
        "zones": np.zeros((n, width["zones"]), dtype=bool),
        "rooms": np.zeros((n, width["rooms"]), dtype=bool),
        "floor": np.zeros(n),
        "hall": np.full(n, np.nan),
        "opening_hours": np.full(n, None, dtype=object),
        "weekend": np.zeros(n, dtype=bool),
        "evening": np.zeros(n, dtype=np.int64),
        "staff": np.zeros(n, dtype=np.int64),
        "grade": np.full(n, "", dtype=object),
        "reason": np.full(n, "", dtype=object),
        "missing": np.full(n, "", dtype=object),
    }
    for name in TIERS:  # the seven tiers
        at = np.flatnonzero(tier == name)
        if len(at):
            for key, value in _tier_attributes(rng, _PRESET, name, len(at)).items():
                out[key][at] = value

    zh = rng.random(n) < 0.85  # most registers use the Chinese labels, some the ids
    attrs = {
        "floor_area_m2": out["floor"],
        "hall_area_m2": out["hall"],
        "items": _labels(out["items"], FACILITY_ITEMS, zh),
        "windows": _labels(out["windows"], FACILITY_WINDOWS, zh),
        "zones": _labels(out["zones"], FACILITY_ZONES, zh),
        "rooms": _labels(out["rooms"], FACILITY_ROOMS, zh),
        "opening_hours": out["opening_hours"],
        "weekend_duty": out["weekend"],
        "evening_sessions_per_week": out["evening"],
        "staff": out["staff"],
    }
    profile = pd.DataFrame(
        {"id": ids, "tier": tier, "grade": out["grade"], "reason": out["reason"], "missing": out["missing"]}
    )
    return attrs, profile


def _tier_attributes(rng: np.random.Generator, preset: Preset, tier_id: str, m: int) -> dict[str, np.ndarray]:
    """The attributes of ``m`` facilities of one tier (see :func:`_facility_attributes`)."""
    plan = _tier_plan(preset, tier_id)
    shares = np.array([_GRADE_SHARES[g] for g in GRADES])
    if not plan.gaps:  # nothing beyond the compliant grade: every compliant facility is a model
        shares = shares * [1, 0, 1] + [shares[1], 0, 0]
    if not plan.reasons:  # nothing to fail
        shares = shares * [1, 1, 0] + [0, shares[2], 0]
    grade = np.array(GRADES, dtype=object)[_quota(rng, m, shares)]
    model, fine = grade == "model", grade == "compliant"
    reason = np.full(m, "", dtype=object)
    non = np.flatnonzero(grade == "noncompliant")
    reason[non] = np.array(plan.reasons, dtype=object)[rng.permutation(len(non)) % max(len(plan.reasons), 1)]

    # model requirements missed: one drawn for every compliant facility, each other by chance
    drawn = rng.integers(0, max(len(plan.gaps), 1), m)
    misses = (rng.random((m, len(plan.gaps))) < _OTHER_GAP_P) | (
        fine[:, None] & (np.arange(len(plan.gaps)) == drawn[:, None])
    )
    misses &= ~model[:, None]
    gap = dict(zip(plan.gaps, misses.T, strict=True))
    no_gap = np.zeros(m, dtype=bool)

    # floor and hall areas; a facility too small has a small floor, or now and then a small hall
    small = reason == "too_small"
    (floor_c, floor_m), (hall_c, hall_m) = plan.area, plan.hall
    turn = np.zeros(m, dtype=np.int64)
    turn[small] = rng.permutation(int(small.sum()))
    small_hall = small & ~np.isnan(hall_c) & (np.isnan(floor_c) | (turn % 3 == 2))
    small_floor = small & ~small_hall
    floor_c0 = np.nan_to_num(floor_c)
    enough = next((v for v in (floor_m, floor_c) if not np.isnan(v)), _DEFAULT_AREA_M2)
    floor = np.select(
        [small_floor, gap.get("area", no_gap)],
        [np.floor(floor_c0 * rng.uniform(0.45, 0.95, m)), _between(rng, floor_c0, np.nan_to_num(floor_m), m)],
        _between(rng, enough, 1.6 * enough, m),
    )
    hall = np.full(m, np.nan)
    if plan.records_hall:
        hall_c0 = np.nan_to_num(hall_c)
        hall_m0 = hall_c0 if np.isnan(hall_m) else hall_m
        hall = np.select(
            [small_hall, gap.get("hall", no_gap)],
            [np.floor(hall_c0 * rng.uniform(0.5, 0.95, m)), _between(rng, hall_c0, hall_m0, m)],
            np.maximum(
                np.floor(floor * rng.uniform(0.25, 0.45, m)), _between(rng, hall_m0, 1.3 * hall_m0, m)
            ),
        )

    # items: the compliance items, the model signs, a share of the optional items, minus the dropped
    have = np.broadcast_to(plan.required, (m, len(plan.required))).copy()
    have |= plan.model_items[None, :] & ~gap.get("model_item", no_gap)[:, None]
    n_optional = int(plan.optional.sum())
    k = np.where(
        gap.get("optional", no_gap),
        rng.integers(0, max(plan.optional_needed, 1), m),
        rng.integers(min(plan.optional_needed, n_optional), n_optional + 1, m),
    )
    have |= _pick(rng, plan.optional, k)
    n_drop = np.where(
        reason == "missing_item", rng.integers(1, min(3, max(int(plan.droppable.sum()), 1)) + 1, m), 0
    )
    drop = _pick(rng, plan.droppable, n_drop)
    have &= ~drop

    # windows, zones and rooms: the required ones (one window dropped where that is the reason)
    n_w = len(plan.windows)
    windows = np.zeros((m, n_w), dtype=bool)
    if plan.windows.any():
        more = rng.random((m, n_w)) < np.select([model, fine], [1.0, 0.3], 0.15)[:, None]
        windows = plan.windows | more
    w_drop = _pick(rng, plan.windows, (reason == "missing_window").astype(np.int64))
    windows &= ~w_drop
    extra = plan.records_hall  # centres with a service hall record more zones and rooms than needed
    zones = plan.zones | (
        (rng.random((m, len(plan.zones))) < np.where(model, 0.6, 0.25)[:, None])
        & (extra and not plan.zones.any())
    )
    rooms = plan.rooms | ((rng.random((m, len(plan.rooms))) < np.where(model, 0.5, 0.2)[:, None]) & extra)

    # items checked on other columns: staff from the staff count, windows from the windows
    low, high = plan.staff
    staff = rng.integers(low, high + 1, m)
    sets = {"windows": (windows, plan.windows), "zones": (zones, plan.zones), "rooms": (rooms, plan.rooms)}
    for j, item in enumerate(preset.items.values()):  # a few dozen items; number and set checks act
        check = item.check
        if check.kind == "number" and check.column == "staff" and plan.listed[j]:
            staff = np.where(drop[:, j], 0, np.maximum(staff, int(np.ceil(check.minimum.value))))
            have[:, j] = staff >= check.minimum.value
        elif check.kind == "set" and plan.listed[j]:
            present, needed = sets[check.column]
            members = np.isin(list(getattr(preset, check.column)), check.members or ())
            members = members if check.members is not None else needed
            have[:, j] = present[:, members].all(axis=1) if members.any() else present.any(axis=1)
    have &= plan.listed

    # hours: weekend duty, evening sessions, weekdays open and whether a schedule is posted
    rule = plan.hours
    min_weekdays = rule.min_weekdays_open if rule is not None else 0  # at least 2 for short_hours
    weekdays = np.where(
        reason == "short_hours", rng.integers(max(1, min_weekdays - 2), max(min_weekdays, 2), m), 5
    )
    if rule is None or rule.weekend_duty == "none":
        weekend = rng.random(m) < 0.2
    elif rule.weekend_duty == "compliant":
        weekend = np.ones(m, dtype=bool)
    else:
        weekend = ~gap.get("weekend", no_gap)
    weekend &= (reason != "no_weekend_duty") & (weekdays == 5)
    e = rule.min_evening_sessions_model if rule is not None else 0
    evening = (
        np.where(gap.get("evening", no_gap), rng.integers(0, max(e, 1), m), rng.integers(e, e + 4, m))
        if e > 0
        else rng.integers(0, 3, m)
    )
    after = rule.evening_after_min if rule is not None else 24 * 60
    hours = _opening_hours(rng, weekdays, weekend, after)
    hours[reason == "no_hours_posted"] = None

    dropped = _join_rows(np.c_[drop, w_drop], np.r_[list(preset.items), list(preset.windows)])
    missing = np.select(
        [
            small_floor,
            small_hall,
            reason == "no_weekend_duty",
            np.isin(reason, ["short_hours", "no_hours_posted"]),
        ],
        ["floor_area_m2", "hall_area_m2", "weekend_duty", "opening_hours"],
        dropped,
    )
    return {
        "items": have,
        "windows": windows,
        "zones": zones,
        "rooms": rooms,
        "floor": floor,
        "hall": hall,
        "opening_hours": hours,
        "weekend": weekend,
        "evening": evening,
        "staff": staff,
        "grade": grade,
        "reason": reason,
        "missing": missing.astype(object),
    }


def _quota(rng: np.random.Generator, m: int, shares: np.ndarray) -> np.ndarray:
    """``m`` codes 0, 1, … in random order, as many of each as ``shares`` says (largest remainder)."""
    exact = shares / shares.sum() * m
    count = np.floor(exact).astype(np.int64)
    count[np.argsort(count - exact, kind="stable")[: m - count.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), count))


def _between(rng: np.random.Generator, low: float, high: float, size: int) -> np.ndarray:
    """Whole numbers drawn uniformly, at least ``low`` and below ``high`` (``ceil(low)`` if none is)."""
    first = np.ceil(low)
    return first + np.floor(rng.random(size) * max(np.ceil(high) - first, 0.0))


def _pick(rng: np.random.Generator, allowed: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Per row, ``k[row]`` of the columns where ``allowed`` (1-D) is true, drawn at random."""
    key = np.where(allowed[None, :], rng.random((len(k), len(allowed))), np.inf)
    rank = np.argsort(np.argsort(key, axis=1), axis=1)
    return (rank < np.asarray(k)[:, None]) & allowed[None, :]


def _opening_hours(
    rng: np.random.Generator, weekdays: np.ndarray, weekend: np.ndarray, after: int
) -> np.ndarray:
    """Schedule text such as ``Mo-Fr 08:30-12:00,14:30-18:00``, one per facility.

    It opens ``weekdays`` days from Monday, and Saturday or the whole weekend too where
    ``weekend``; its intervals end no later than ``after`` minutes after midnight, so that the
    schedule adds no evening session of its own.
    """
    fits = [text for text, end in _HOURS_TIMES if end <= after] or [min(_HOURS_TIMES, key=lambda t: t[1])[0]]
    times = np.array(fits)[rng.integers(0, len(fits), len(weekdays))]
    last = np.where(weekend, np.where(rng.random(len(weekdays)) < 0.5, 5, 6), weekdays - 1)
    days = np.where(last == 0, "Mo", np.char.add("Mo-", np.array(DAYS)[np.maximum(last, 0)]))
    return np.char.add(np.char.add(days, " "), times).astype(object)


def _join_rows(mask: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Per row, the words where ``mask`` is true, joined by '; '."""
    out = np.full(len(mask), "", dtype=object)
    for j, word in enumerate(words):  # a few dozen columns, each vectorized over the rows
        out = np.where(mask[:, j], np.where(out == "", word, out + "; " + word), out)
    return out.astype(str)


def _labels(mask: np.ndarray, vocabulary: Mapping[str, str], zh: np.ndarray) -> np.ndarray:
    """'; '-separated labels per row: Chinese where ``zh``, ids elsewhere; None when empty."""
    text = np.where(
        zh,
        _join_rows(mask, np.array(list(vocabulary.values()))),
        _join_rows(mask, np.array(list(vocabulary))),
    )
    return np.where(text == "", None, text).astype(object)


# ---------------------------------------------------------------------------------------------
# Candidate sites
# ---------------------------------------------------------------------------------------------
def _build_candidates(rng: np.random.Generator, city: dict, units: dict, facilities: dict) -> dict:
    comp = city["compounds"]
    compounds = units["compounds"]
    tier = facilities["tier"]
    serving = np.isin(tier, ["county_center", "town_center", "community_center", "compound_station"])
    fac_xy = shapely.get_coordinates(facilities["geometry"][serving])
    centre = _bilinear(
        city["block_corners"][comp["block"]], 0.5 * (comp["u0"] + comp["u1"]), 0.5 * (comp["v0"] + comp["v1"])
    )
    far = cKDTree(fac_xy).query(centre)[0]
    has_station = np.isin(compounds["id"], facilities["compound_id"][tier == "compound_station"])
    # compounds without a station, farthest from any service position first
    need = np.flatnonzero(~has_station)
    need = need[np.argsort(-far[need], kind="stable")][:110]
    kinds = np.array(["vacant_public_room", "property_room", "rental"])
    c_kind = kinds[rng.choice(3, size=len(need), p=[0.4, 0.35, 0.25])]
    u = comp["u0"][need] + (comp["u1"][need] - comp["u0"][need]) * rng.uniform(0.2, 0.8, len(need))
    v = comp["v0"][need] + (comp["v1"][need] - comp["v0"][need]) * rng.uniform(0.1, 0.3, len(need))
    c_xy = _bilinear(city["block_corners"][comp["block"][need]], u, v)
    c_cap = np.where(
        rng.random(len(need)) < 0.7,
        np.round(compounds["households"][need] * rng.uniform(1.0, 2.0, len(need)), -2),
        np.nan,
    )

    # villages whose centre is missing: the village's collective building
    villages = units["villages"]
    n_comm = units["n_communities"]
    main = np.flatnonzero(units["settlement_is_main"])
    v_unit = n_comm + units["settlement_village"][main]
    lacking = main[~np.isin(villages["id"][v_unit], facilities["village_id"][tier == "village_center"])]
    l_unit = n_comm + units["settlement_village"][lacking]
    l_xy = units["settlement_xy"][lacking] + [25.0, -20.0]

    # communities with fewer than two centres: a rental or a new building
    per_comm = np.bincount(
        np.searchsorted(villages["id"][:n_comm], facilities["village_id"][tier == "community_center"]),
        minlength=n_comm,
    )[:n_comm]
    short = np.flatnonzero(per_comm < 2)
    s_block = _pick_in_group(rng, np.arange(len(city["block_use"])), city["block_community"], short)
    s_xy = _bilinear(
        city["block_corners"][s_block], rng.uniform(0.3, 0.7, len(short)), rng.uniform(0.2, 0.4, len(short))
    )
    s_kind = np.where(rng.random(len(short)) < 0.6, "rental", "new_build")

    kind = np.r_[c_kind, np.full(len(lacking), "village_collective"), s_kind]
    label = pd.Series(kind).map({k: v[0] for k, v in _CANDIDATE_KINDS.items()}).to_numpy(dtype=str)
    low = pd.Series(kind).map({k: v[1][0] for k, v in _CANDIDATE_KINDS.items()}).to_numpy(dtype=float)
    high = pd.Series(kind).map({k: v[1][1] for k, v in _CANDIDATE_KINDS.items()}).to_numpy(dtype=float)
    place = np.r_[compounds["name"][need], villages["name"][l_unit], villages["name"][short]]
    m = len(kind)
    decision = np.full(m, None, dtype=object)
    flagged = rng.choice(m, size=4, replace=False)
    decision[flagged[:2]], decision[flagged[2:]] = "required", "excluded"
    return {
        "id": _ids("P", m, 3),
        "name": np.char.add(place.astype(str), label),
        "kind": kind,
        "tier": np.r_[
            np.full(len(need), "compound_station"),
            np.full(len(lacking), "village_center"),
            np.full(len(short), "community_center"),
        ],
        "cost": np.round(rng.uniform(low, high), -3),
        "capacity": np.r_[c_cap, np.full(len(lacking) + len(short), np.nan)],
        "decision": decision,
        "geometry": shapely.points(np.r_[c_xy, l_xy, s_xy]),
    }
