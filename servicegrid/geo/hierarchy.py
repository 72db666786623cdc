"""The admin hierarchy: filling a unit's missing parent ids by spatial join.

County → township → village/community → grid → micro-grid, with compounds and settlements
inside villages, gates on compounds and facilities inside villages and townships. A parent id
given in the data is kept; only blanks are filled, from the parent polygon that contains the
unit's representative point (gates: the nearest compound within a few metres). Registers often
name the parent instead of giving its id (乡镇: 青山镇); such names are turned into ids first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from .workspace import Workspace

__all__ = ["PARENT_LINKS", "FilledParents", "ParentLink", "containing_parent_ids", "fill_parent_ids"]

logger = logging.getLogger(__name__)

# A gate is drawn on its compound's boundary, so it may fall a little outside the polygon.
GATE_SNAP_M = 15.0


@dataclass(frozen=True)
class ParentLink:
    """A child layer's column that holds the id of the parent polygon it lies in."""

    layer: str
    column: str
    parent: str


PARENT_LINKS: tuple[ParentLink, ...] = (
    ParentLink("villages", "township_id", "townships"),
    ParentLink("grids", "village_id", "villages"),
    ParentLink("microgrids", "grid_id", "grids"),
    ParentLink("compounds", "village_id", "villages"),
    ParentLink("settlements", "village_id", "villages"),
    ParentLink("facilities", "village_id", "villages"),
    ParentLink("facilities", "township_id", "townships"),
    ParentLink("facilities", "compound_id", "compounds"),
    ParentLink("gates", "compound_id", "compounds"),
)


@dataclass(frozen=True)
class FilledParents:
    """A workspace with its blank parent ids filled, a note per filled column, the layers changed."""

    workspace: Workspace
    notes: tuple[str, ...]
    changed: frozenset[str]


def fill_parent_ids(workspace: Workspace) -> FilledParents:
    """``workspace`` with blank parent ids filled by spatial join, and a note per filled column.

    Joins run in the workspace's metric CRS. A facility's township comes from its village when
    the village is known, so the two never disagree.

    Examples
    --------
    >>> filled = fill_parent_ids(ws)   # doctest: +SKIP
    >>> filled.notes[0]                # doctest: +SKIP
    'compounds.village_id: 512 filled by spatial join, 3 outside every villages polygon'
    """
    if not workspace.layers:
        return FilledParents(workspace, (), frozenset())
    crs = workspace.metric_crs
    layers = dict(workspace.layers)
    notes: list[str] = []
    changed: set[str] = set()
    for link in PARENT_LINKS:
        child = layers.get(link.layer)
        parent = layers.get(link.parent)
        if child is None or parent is None or len(child) == 0 or len(parent) == 0:
            continue
        values = child[link.column] if link.column in child.columns else _blank(child)
        values, renamed = _names_to_ids(values, parent)
        if renamed:
            notes.append(f"{link.layer}.{link.column}: {renamed} {link.parent} name(s) replaced by their ids")
            layers[link.layer] = child = child.assign(**{link.column: values})
            changed.add(link.layer)
        blank = values.isna() | (values.astype("string").str.strip() == "")
        via_village = 0
        if link == ParentLink("facilities", "township_id", "townships") and "village_id" in child:
            before = int(blank.sum())
            values, blank = _township_from_village(values, blank, child, layers.get("villages"))
            via_village = before - int(blank.sum())
        if not blank.any():
            if via_village:
                layers[link.layer] = child.assign(**{link.column: values})
                notes.append(f"{link.layer}.{link.column}: {via_village} filled from their village")
                changed.add(link.layer)
            continue
        todo = child.loc[blank.to_numpy()]
        found = containing_parent_ids(
            todo, parent, crs=crs, nearest_m=GATE_SNAP_M if link.layer == "gates" else 0
        )
        values = values.astype("string").copy()
        values.loc[found.index] = found
        layers[link.layer] = child.assign(**{link.column: values})
        changed.add(link.layer)
        filled = int(found.notna().sum())
        missing = int(blank.sum()) - filled
        note = f"{link.layer}.{link.column}: {filled} filled by spatial join"
        if missing and link.column != "compound_id":
            note += f", {missing} outside every {link.parent} polygon"
        elif not filled:
            continue  # a facility outside every compound is the rule, not news
        notes.append(note)
        logger.info(note)
    return FilledParents(workspace.with_layers(**layers), tuple(notes), frozenset(changed))


def _names_to_ids(values: pd.Series, parent: gpd.GeoDataFrame) -> tuple[pd.Series, int]:
    """Values that are not parent ids but name exactly one parent, replaced by that parent's id."""
    if "name" not in parent.columns or "id" not in parent.columns:
        return values, 0
    ids = parent["id"].astype("string")
    names = parent["name"].astype("string")
    unique = ~names.duplicated(keep=False) & names.notna()
    by_name = pd.Series(ids[unique].to_numpy(), index=names[unique].to_numpy())
    text = values.astype("string")
    swap = text.notna() & ~text.isin(set(ids.dropna())) & text.isin(by_name.index)
    if not swap.any():
        return values, 0
    return text.where(~swap, text.map(by_name)), int(swap.sum())


def _blank(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def _township_from_village(
    values: pd.Series, blank: pd.Series, facilities: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None
) -> tuple[pd.Series, pd.Series]:
    """Township ids taken from the facility's village where the village is known."""
    if villages is None or "township_id" not in villages.columns:
        return values, blank
    lookup = pd.Series(villages["township_id"].to_numpy(), index=villages["id"].astype("string"))
    lookup = lookup[~lookup.index.duplicated()]
    via_village = facilities["village_id"].astype("string").map(lookup)
    values = values.astype("string").where(~blank, via_village)
    return values, values.isna() | (values.str.strip() == "")


def containing_parent_ids(
    child: gpd.GeoDataFrame, parent: gpd.GeoDataFrame, *, crs: object, nearest_m: float = 0.0
) -> pd.Series:
    """Id of the parent polygon containing each child's representative point (NA when none)."""
    points = child.geometry.to_crs(crs).representative_point()
    polygons = parent.geometry.to_crs(crs)
    point_idx, poly_idx = polygons.sindex.query(points, predicate="within")
    # A point on a shared border falls in two parents: keep the first, deterministically.
    first = np.unique(point_idx, return_index=True)[1]
    ids = pd.Series(pd.NA, index=child.index, dtype="string")
    ids.iloc[point_idx[first]] = parent["id"].astype("string").to_numpy()[poly_idx[first]]
    if nearest_m > 0 and ids.isna().any():
        loose = np.flatnonzero(ids.isna().to_numpy())
        near_pt, near_poly = polygons.sindex.nearest(
            points.iloc[loose], max_distance=nearest_m, return_all=False
        )
        ids.iloc[loose[near_pt]] = parent["id"].astype("string").to_numpy()[near_poly]
    return ids
