"""Where the demo county's households live: compounds, settlements and household points.

Rural settlements (自然村) around each village's seat, compounds (小区) with households from
their area, the villages layer (communities and villages with their codes, names and totals),
and household points of about ten households each, the seeds of grids and micro-grids.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.spatial import cKDTree

from ._arrays import _bilinear, _closed_polygons, _ids, _locate, _rank_in_group, _words
from .names import _variants
from .places import _EXTENT_M

# Fictional names of communities, compounds and villages
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

# Sizes (metres)
_SETTLEMENT_SPACING_M = 800.0
_HH_PER_POINT = 10  # households per household point (= per micro-grid)


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
    half = city["layout"].across(_EXTENT_M)
    span = np.arange(-half, half + 1, _SETTLEMENT_SPACING_M)
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
    township = np.r_[city["community_street"], len(city["street_geom"]) + rural["village_town"]]
    kind = np.r_[np.full(n_comm, "community"), np.full(n_vil, "village")]
    serial = np.where(kind == "community", 1, 201) + _rank_in_group(township)
    unit_id = np.char.add(rural["townships"]["id"][township], np.char.zfill(serial.astype(str), 3))
    # names: the word tables, stretched with prefixes (东, 新 …) where a large county needs more
    pool = rng.permutation(np.array([a + b for a in _VILLAGE_FIRST for b in _VILLAGE_SECOND]))
    pool = _variants(pool, n_vil + len(pool) // 2)
    village_names = np.char.add(pool[:n_vil], "村")
    community_names = _variants(rng.permutation(_COMMUNITY_WORDS), n_comm)[:n_comm]
    villages = {
        "id": unit_id,
        "name": np.r_[np.char.add(community_names, "社区"), village_names],
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
    words = _variants(words, len(c_hh))
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
