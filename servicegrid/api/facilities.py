"""The facility table the service answers with: the conformed facilities and their audit results.

One row per facility of the workspace (in the layer's order; new facilities are appended, so a
facility keeps its position for the life of the service). Besides the frame, the table keeps
what the hot path reads without pandas: ids, tiers, whether each facility serves residents
(:func:`servicegrid.geo.vocabularies.serving_status`), metric and WGS-84 positions, and the
properties an answer shows for each facility, ready as dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..geo.vocabularies import serving_status
from ..standards.models import Preset
from .serialization import records

__all__ = ["AUDIT_COLUMNS", "FacilityTable", "build_table"]

#: Columns of the audit result attached to every facility.
AUDIT_COLUMNS = [
    "grade",
    "grade_label",
    "meets_standard",
    "score",
    "stars",
    "missing_items_label",
    "missing_windows_label",
    "missing_zones_label",
    "missing_rooms_label",
    "missing_optional_label",
    "missing_model_items_label",
    "area_min_m2",
    "area_shortfall_m2",
    "hours_problem",
    "upgrade_cost",
    "reason",
]
# What a nearest answer shows of each facility, when the workspace has it.
_ANSWER_COLUMNS = [
    "id",
    "name",
    "tier",
    "tier_label",
    "status",
    "grade",
    "grade_label",
    "stars",
    "address",
    "opening_hours",
    "township_id",
    "village_id",
]


@dataclass(frozen=True, eq=False)
class FacilityTable:
    """The facilities, their audit, and the arrays the hot path reads."""

    frame: gpd.GeoDataFrame  # WGS-84, one row per facility, RangeIndex = position
    ids: np.ndarray
    position: dict[str, int]
    tier: np.ndarray
    serving: np.ndarray
    xy: np.ndarray  # metric (nan without a position)
    lonlat: np.ndarray  # WGS-84
    props: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.ids)

    def find(self, facility_id: str) -> int | None:
        """The position of ``facility_id``, or None."""
        return self.position.get(facility_id)


def build_table(
    conformed: gpd.GeoDataFrame, audit: pd.DataFrame, preset: Preset, *, crs: CRS, lang: str
) -> FacilityTable:
    """The table of ``conformed`` facilities with the audit rows of ``audit`` (matched by id)."""
    frame = conformed.reset_index(drop=True)
    ids = frame["id"].astype("string").fillna("").to_numpy(dtype=object)
    attached = audit.drop_duplicates("id").set_index(audit["id"].astype("string").drop_duplicates())
    extra = attached.reindex(pd.Index(ids))[[c for c in AUDIT_COLUMNS if c in attached.columns]]
    extra.index = frame.index
    frame = frame.drop(columns=[c for c in extra.columns if c in frame.columns]).join(extra)
    tier = frame["tier"].astype("string").fillna("").to_numpy(dtype=object)
    labels = {k: t.label(lang) for k, t in preset.tiers.items()}  # type: ignore[arg-type]
    frame["tier_label"] = pd.array([labels.get(t) for t in tier], dtype="string")
    status = frame["status"] if "status" in frame.columns else pd.Series(pd.NA, index=frame.index)
    frame["status"] = status.astype("string").fillna("existing")
    geom = frame.geometry.array
    present = ~(shapely.is_missing(geom) | shapely.is_empty(geom))
    lonlat = np.full((len(frame), 2), np.nan)
    if present.any():
        lonlat[present] = shapely.get_coordinates(geom[present])[:, :2]
    xy = np.full((len(frame), 2), np.nan)
    if present.any():
        metric = gpd.GeoSeries(geom[present], crs=frame.crs).to_crs(crs)
        xy[present] = shapely.get_coordinates(metric.to_numpy())[:, :2]
    serving = serving_status(frame["status"]) & present
    props = records(pd.DataFrame(frame.drop(columns=frame.geometry.name)), _ANSWER_COLUMNS)
    if not props:
        props = [{} for _ in range(len(frame))]
    return FacilityTable(
        frame=gpd.GeoDataFrame(frame, geometry=frame.geometry.name, crs=conformed.crs),
        ids=ids,
        position={fid: i for i, fid in enumerate(ids.tolist())},
        tier=tier,
        serving=np.asarray(serving, dtype=bool),
        xy=xy,
        lonlat=lonlat,
        props=props,
    )
