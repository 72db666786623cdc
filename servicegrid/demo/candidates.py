"""The demo county's candidate sites for new facilities.

Rooms in compounds that no station serves (the farthest from any service position first),
village collective buildings where a village has no centre, and rentals or new buildings where a
community has fewer than two centres, each with a kind, a cost and, for stations, a capacity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from ._arrays import _bilinear, _ids, _pick_in_group

_CANDIDATE_KINDS = {  # kind: (Chinese label, cost range in yuan)
    "vacant_public_room": ("空置公房", (30_000, 80_000)),
    "property_room": ("物业用房", (50_000, 120_000)),
    "rental": ("租赁用房", (80_000, 200_000)),
    "village_collective": ("村集体闲置用房", (40_000, 150_000)),
    "new_build": ("新建用房", (300_000, 600_000)),
}


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
    scale = city["layout"].scale
    need = need[np.argsort(-far[need], kind="stable")][: 110 * scale]
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
    flagged = rng.choice(m, size=4 * scale, replace=False)
    decision[flagged[: 2 * scale]], decision[flagged[2 * scale :]] = "required", "excluded"
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
