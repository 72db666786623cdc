"""Grid checks: households per grid, grid workers, micro-grid sizes and nesting (十户联网).

Grids in communities are urban and grids in villages rural, each with its household range from
the preset; dedicated grids (专属网格) are not size-checked. Nesting is measured in the metric CRS
of :mod:`servicegrid.geo.crs`: the share of a micro-grid's area inside the grid it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..geo.conform import conform
from ..geo.crs import metric_crs
from ..geo.vocabularies import village_kind
from ._common import (
    UNASSIGNED,
    check_lang,
    column_values,
    fill,
    join_parts,
    pick,
    when,
    with_string_ids,
)
from .loader import load_preset
from .models import GridRules, Lang, Preset

__all__ = ["GridAudit", "audit_grids"]


@dataclass(frozen=True)
class GridAudit:
    """Grid and micro-grid checks.

    Attributes
    ----------
    grids
        One row per grid: ``setting`` (urban, rural, dedicated or unknown), the household range
        it is checked against, ``households_ok``, ``population_ok``, ``workers_ok``,
        ``n_microgrids``, ``ok`` and a ``problem`` text.
    microgrids
        One row per micro-grid: ``size_ok``, ``nested_share`` (share of its area inside its
        grid, measured in the metric CRS), ``nested_ok``, ``grid_id_source`` and ``problem``.
    by_township
        Counts of grids and micro-grids failing each check, per township.
    """

    grids: gpd.GeoDataFrame
    microgrids: gpd.GeoDataFrame
    by_township: pd.DataFrame


def audit_grids(
    grids: gpd.GeoDataFrame,
    microgrids: gpd.GeoDataFrame | None,
    villages: gpd.GeoDataFrame | None,
    preset: Preset | str,
    *,
    lang: Lang = "zh",
) -> GridAudit:
    """Check households per grid, grid workers, micro-grid sizes and micro-grids nested in grids.

    A grid in a community (village ``kind`` 'community') is urban and checked against
    ``grids.urban_households``, one in a village against ``grids.rural_households``; dedicated
    grids (专属网格) are not size-checked. A micro-grid is nested when at least
    ``grids.nesting_min_share`` of its area lies inside the grid it names (or, when it names
    none, the grid its representative point falls in).

    Parameters
    ----------
    grids, microgrids, villages
        Workspace layers (micro-grids and villages may be None).
    preset
        Preset or preset name.
    lang
        Language of the ``problem`` texts.

    Returns
    -------
    GridAudit
    """
    check_lang(lang)
    preset = load_preset(preset)
    rules = preset.grids
    g = conform(grids, "grids")
    g["id"] = g["id"].astype("string")
    villages = with_string_ids(villages)
    setting = pd.Series("unknown", index=g.index, dtype=object)
    township = pd.Series(UNASSIGNED, index=g.index, dtype="string")
    if villages is not None and "village_id" in g.columns:
        kinds = village_kind(villages).set_axis(villages["id"].astype(str))
        vk = g["village_id"].astype("string").map(kinds)
        setting = vk.map({"community": "urban", "village": "rural"}).fillna("unknown").astype(object)
        if "township_id" in villages.columns:
            township = (
                g["village_id"]
                .map(villages.set_index("id")["township_id"].astype("string"))
                .fillna(UNASSIGNED)
            )
    grid_kind = (
        g["kind"].astype("string").str.casefold() if "kind" in g.columns else pd.Series(pd.NA, index=g.index)
    )
    dedicated = grid_kind.str.contains("专属|dedicated", regex=True).fillna(False).to_numpy(dtype=bool)
    setting = np.where(dedicated, "dedicated", setting.to_numpy())
    lo = np.select(
        [setting == "urban", setting == "rural"],
        [rules.urban_households.min, rules.rural_households.min],
        np.nan,
    )
    hi = np.select(
        [setting == "urban", setting == "rural"],
        [rules.urban_households.max, rules.rural_households.max],
        np.nan,
    )
    households = column_values(g, "households", "float")
    households = np.full(len(g), np.nan) if households is None else households
    population = column_values(g, "population", "float")
    population = np.full(len(g), np.nan) if population is None else population
    workers = column_values(g, "grid_workers", "float")
    workers = np.full(len(g), np.nan) if workers is None else workers
    sized = np.isin(setting, ["urban", "rural"])
    with np.errstate(invalid="ignore"):
        too_few = sized & (households < lo)
        too_many = sized & (households > hi)
        over_pop = (
            (population > rules.max_population.value)
            if rules.max_population is not None
            else np.zeros(len(g), bool)
        )
        few_workers = ~(workers >= rules.min_grid_workers.value)
    no_households = sized & np.isnan(households)
    households_ok = ~(too_few | too_many | no_households)
    workers_ok = ~few_workers

    mg = _microgrid_checks(g, microgrids, rules, lang)
    n_micro = (
        mg["grid_id"].value_counts().reindex(g["id"], fill_value=0).to_numpy()
        if len(mg)
        else np.zeros(len(g), dtype=int)
    )
    problems = [
        when(no_households, pick(lang, "未填报户数", "households not recorded")),
        fill(
            too_few | too_many,
            lang,
            "{0}户，应为{1}–{2}户",
            "{0} households, expected {1}–{2}",
            households,
            lo,
            hi,
        ),
        when(
            over_pop,
            pick(
                lang,
                f"人口超过{rules.max_population.value:g}" if rules.max_population else "",
                f"population above {rules.max_population.value:g}" if rules.max_population else "",
            ),
        ),
        when(few_workers & np.isnan(workers), pick(lang, "未填报网格员", "grid workers not recorded")),
        when(
            few_workers & ~np.isnan(workers),
            pick(
                lang,
                f"网格员少于{rules.min_grid_workers.value:g}人",
                f"fewer than {rules.min_grid_workers.value:g} grid worker(s)",
            ),
        ),
        when(
            setting == "unknown",
            pick(lang, "未知城乡类型（所属村社区不明）", "urban or rural unknown (village not found)"),
        ),
    ]
    grid_out = gpd.GeoDataFrame(
        {
            "id": g["id"].to_numpy(),
            "name": g["name"].to_numpy() if "name" in g.columns else None,
            "village_id": g["village_id"].to_numpy() if "village_id" in g.columns else None,
            "township_id": township.to_numpy(),
            "setting": setting,
            "households": households,
            "households_min": lo,
            "households_max": hi,
            "households_ok": households_ok,
            "population": population,
            "population_ok": ~over_pop,
            "grid_workers": workers,
            "workers_ok": workers_ok,
            "n_microgrids": n_micro,
            "ok": households_ok & ~over_pop & workers_ok,
            "problem": join_parts(problems, "；" if lang == "zh" else "; "),
        },
        geometry=g.geometry.to_numpy(),
        crs=g.crs,
    )
    mg_township = (
        mg["grid_id"].map(grid_out.set_index("id")["township_id"]).fillna(UNASSIGNED)
        if len(mg)
        else pd.Series(dtype="string")
    )
    mg = mg.assign(township_id=mg_township.to_numpy())
    by_township = _grid_by_township(grid_out, mg)
    return GridAudit(grids=grid_out, microgrids=mg, by_township=by_township)


def _microgrid_checks(
    grids: gpd.GeoDataFrame, microgrids: gpd.GeoDataFrame | None, rules: GridRules, lang: Lang
) -> gpd.GeoDataFrame:
    columns = [
        "id",
        "grid_id",
        "grid_id_source",
        "households",
        "size_ok",
        "nested_share",
        "nested_ok",
        "problem",
    ]
    if microgrids is None or len(microgrids) == 0:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=grids.crs)
    m = conform(microgrids, "microgrids")
    crs = metric_crs(grids, m)
    gm = grids.to_crs(crs)
    mm = m.to_crs(crs)
    recorded = (
        m["grid_id"].astype("string")
        if "grid_id" in m.columns
        else pd.Series(pd.NA, index=m.index, dtype="string")
    )
    inside = gpd.sjoin(
        gpd.GeoDataFrame(geometry=mm.geometry.representative_point()),
        gm[["id", gm.geometry.name]],
        predicate="within",
        how="inner",
    )
    spatial = inside.loc[~inside.index.duplicated(keep="first"), "id"].astype("string").reindex(m.index)
    grid_id = recorded.fillna(spatial)
    source = np.where(recorded.notna(), "recorded", np.where(spatial.notna(), "spatial", "none"))
    position = pd.Series(np.arange(len(gm)), index=gm["id"].astype(str))
    pos = grid_id.map(position)
    found = pos.notna().to_numpy()
    mine = shapely.make_valid(mm.geometry.to_numpy())
    parent = np.full(len(mm), None, dtype=object)
    grid_geoms = shapely.make_valid(gm.geometry.to_numpy())
    parent[found] = grid_geoms[pos[found].to_numpy(dtype=np.int64)]
    area = shapely.area(mine)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(
            found & (area > 0),
            shapely.area(shapely.intersection(mine, parent)) / np.where(area > 0, area, 1),
            np.nan,
        )
    nested_ok = found & (np.nan_to_num(share) + 1e-9 >= rules.nesting_min_share.value)
    households = column_values(m, "households", "float")
    households = np.full(len(m), np.nan) if households is None else households
    band = rules.microgrid_households
    with np.errstate(invalid="ignore"):
        size_ok = (households >= band.min) & (households <= band.max)
    problems = [
        when(np.isnan(households), pick(lang, "未填报户数", "households not recorded")),
        fill(
            ~np.isnan(households) & ~size_ok,
            lang,
            f"{{0}}户，应为{band.min:g}–{band.max:g}户",
            f"{{0}} households, expected {band.min:g}–{band.max:g}",
            households,
        ),
        when(
            ~found & recorded.notna().to_numpy(),
            pick(lang, "所属网格编号不存在", "its grid id does not exist"),
        ),
        when(~found & recorded.isna().to_numpy(), pick(lang, "不在任何网格内", "lies in no grid")),
        fill(
            found & ~nested_ok,
            lang,
            "仅{0}%面积在所属网格内",
            "only {0}% of its area inside its grid",
            np.round(np.nan_to_num(share) * 100),
        ),
    ]
    return gpd.GeoDataFrame(
        {
            "id": m["id"].astype("string").to_numpy(),
            "grid_id": grid_id.to_numpy(),
            "grid_id_source": source,
            "households": households,
            "size_ok": size_ok,
            "nested_share": np.round(share, 4),
            "nested_ok": nested_ok,
            "problem": join_parts(problems, "；" if lang == "zh" else "; "),
        },
        geometry=m.geometry.to_numpy(),
        crs=m.crs,
    )


def _grid_by_township(grids: gpd.GeoDataFrame, micro: gpd.GeoDataFrame) -> pd.DataFrame:
    g = (
        pd.DataFrame(grids.drop(columns="geometry"))
        .groupby("township_id")
        .agg(
            grids=("id", "size"),
            grids_ok=("ok", "sum"),
            households_out_of_range=("households_ok", lambda s: int((~s).sum())),
            without_worker=("workers_ok", lambda s: int((~s).sum())),
        )
    )
    if len(micro):
        m = (
            pd.DataFrame(micro.drop(columns="geometry"))
            .groupby("township_id")
            .agg(
                microgrids=("id", "size"),
                microgrids_size_off=("size_ok", lambda s: int((~s).sum())),
                microgrids_not_nested=("nested_ok", lambda s: int((~s).sum())),
            )
        )
        g = g.join(m, how="outer")
    g = g.fillna(0).astype(int)
    return g.reset_index()
