"""Where the demo county's facilities are and what they are called.

The county centre, the street and town centres, community and village centres, compound
stations, activity rooms and courier stations, each placed in its block, compound or settlement
and named; their registers' attributes come from :mod:`servicegrid.demo.attributes`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ._arrays import _bilinear, _ids, _pick_in_group, _rank_in_group, _words
from .attributes import _facility_attributes
from .grids import _DEDICATED
from .places import DEMO_NAME

# Fictional schools, hospitals, offices and enterprises that host activity rooms
_ORGS = _words(
    "示范县第一中学 示范县第二中学 示范县实验小学 示范县人民医院 示范县中医院 示范县职业技术学校 "
    "示范县供电公司 示范县自来水公司 示范县农村信用社 恒通物流公司 丰源食品公司 宏达建材公司 华兴机械厂 "
    "示范县税务局 示范县市场监管局 青禾农业合作社 示范县邮政分公司 示范县汽车站 示范县图书馆 示范县文化馆"
)


def _build_facilities(
    rng: np.random.Generator, city: dict, rural: dict, units: dict
) -> tuple[dict, pd.DataFrame]:
    villages, comp = units["villages"], city["compounds"]
    n_comm = units["n_communities"]
    scale = city["layout"].scale
    n_streets = len(city["street_geom"])
    township_names = rural["townships"]["name"].astype(str)
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

    # county centre and the street centres in office blocks near each street's middle
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
    dist[block_street[None, :] != np.arange(n_streets)[:, None]] = np.inf
    town_blocks = np.argmin(dist, axis=1)
    add(
        "town_center",
        in_block(town_blocks, np.full(n_streets, 0.5), np.full(n_streets, 0.15)),
        block_comm[town_blocks],
        np.char.add(township_names[:n_streets], "党群服务中心"),
    )

    # rural town centres at the town seats
    s_xy, s_vil, is_main = units["settlement_xy"], units["settlement_village"], units["settlement_is_main"]
    main = np.flatnonzero(is_main)
    seat = main[rural["village_is_seat"][s_vil[main]]]
    seat = seat[np.argsort(rural["village_town"][s_vil[seat]])]
    town_names = township_names[n_streets:]
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
    n_courier = 10 * scale
    courier = np.argsort(score)[:n_courier]
    edge_name = np.array(["东", "西", "南", "北", "中"])[np.arange(n_courier) % 5]
    add(
        "courier_station",
        in_block(courier, np.full(n_courier, 0.5), np.full(n_courier, 0.08)),
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
