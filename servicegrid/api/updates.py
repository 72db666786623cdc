"""Live updates of facilities: the change applied to the stored layer, checked, re-audited, measured.

A change (:class:`Change`) creates a facility, replaces the fields it gives of one (the others
keep their values), or closes one (``status = closed``; the record stays). :func:`edit_layer`
applies it to the facilities layer as stored; :func:`apply_changes` builds the next service
state from the changed rows only:

1. the rows are opened through :func:`servicegrid.pipeline.open_workspace` with the parent layers
   (villages, townships, compounds), so they are conformed by the data model's vocabularies and
   the preset's tiers, their parent ids filled, and validated — any error is a 422 naming the
   field, and nothing is written;
2. they are audited through :func:`servicegrid.pipeline.audit_workspace`;
3. only the tiers the changed facilities answer for (their old and new tier, and the tiers they
   stand in for) get their multi-source pass again, and the coverage of the units of those
   tiers is measured again; the answer is the coverage diff.

Writing the layer (atomically), the version stamp and the lock are the service's
(:mod:`.service`); this module changes nothing on disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..geo.conform import rename_aliases
from ..geo.schema import layer_spec
from ..geo.workspace import Workspace
from ..pipeline import audit_workspace, open_workspace
from .facilities import AUDIT_COLUMNS, build_table
from .index import splice_snaps
from .problems import Problem
from .state import Lazy, State
from .units import coverage_diff, remeasure

__all__ = ["Change", "apply_changes", "changed_ids", "edit_layer"]

Mode = Literal["create", "replace", "close"]


@dataclass(frozen=True)
class Change:
    """One facility change: its id, what to do, the fields given and the new WGS-84 position."""

    facility_id: str
    mode: Mode
    properties: Mapping[str, Any] = field(default_factory=dict)
    lonlat: tuple[float, float] | None = None


def _canonical(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The given fields under their canonical names (the register's headers are accepted)."""
    if not properties:
        return {}
    frame = pd.DataFrame({k: [v] for k, v in properties.items()})
    renamed = rename_aliases(frame, layer_spec("facilities"))
    return {str(k): v.iloc[0] for k, v in renamed.items()}


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return value


def edit_layer(raw: gpd.GeoDataFrame, change: Change) -> gpd.GeoDataFrame:
    """The stored facilities layer with ``change`` applied (a new frame; ``raw`` is not changed)."""
    raw = raw.reset_index(drop=True)
    ids = raw["id"].astype("string") if "id" in raw.columns else pd.Series(dtype="string")
    where = np.flatnonzero((ids == change.facility_id).fillna(False).to_numpy())
    fields = {k: _cell(v) for k, v in _canonical(change.properties).items() if k != "id"}
    if change.mode == "close":
        if not where.size:
            raise Problem(404, f"no facility '{change.facility_id}'", kind="not-found")
        fields = {"status": "closed"}
    if change.mode == "create" and where.size:
        raise Problem(
            409, f"facility '{change.facility_id}' exists already; change it with PUT", kind="exists"
        )
    if not where.size and change.lonlat is None:
        raise Problem(
            422,
            f"facility '{change.facility_id}' is new: give its position (a Point geometry)",
            kind="invalid-body",
            errors=[{"name": "geometry", "in": "body", "message": "required for a new facility"}],
        )
    out = raw.copy()
    if not where.size:
        row = gpd.GeoDataFrame({"id": [change.facility_id]}, geometry=[None], crs=raw.crs)
        out = pd.concat([out, row], ignore_index=True)
        where = np.array([len(out) - 1])
    position = int(where[0])
    for name, value in fields.items():
        _set(out, position, name, value)
    if change.lonlat is not None:
        geometry = out.geometry.array.copy()
        geometry[position] = shapely.Point(*change.lonlat)
        out = out.set_geometry(gpd.GeoSeries(geometry, index=out.index, crs=raw.crs))
    return gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=raw.crs)


def _set(frame: gpd.GeoDataFrame, position: int, name: str, value: Any) -> None:
    """Set one cell, widening the column to text when the value does not fit its type."""
    blank = value is None
    if name not in frame.columns:
        frame[name] = pd.array([pd.NA] * len(frame), dtype="string")
    column = frame[name]
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if blank:
        frame.loc[position, name] = np.nan if numeric else pd.NA
        return
    if numeric and isinstance(value, int | float) and not isinstance(value, bool):
        frame.loc[position, name] = value
        return
    if pd.api.types.is_bool_dtype(column) and isinstance(value, bool):
        frame.loc[position, name] = value
        return
    if column.dtype != "string":
        frame[name] = column.astype("string")
    frame.loc[position, name] = str(value).lower() if isinstance(value, bool) else str(value)


def changed_ids(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame) -> list[str]:
    """Ids of the facilities whose stored record differs between two versions of the layer."""
    key = "id"
    a = before.assign(_wkb=shapely.to_wkb(before.geometry.array, hex=True)).drop(columns=before.geometry.name)
    b = after.assign(_wkb=shapely.to_wkb(after.geometry.array, hex=True)).drop(columns=after.geometry.name)
    a = a.astype(str).set_index(a[key].astype(str))
    b = b.astype(str).set_index(b[key].astype(str))
    columns = sorted(set(a.columns) | set(b.columns))
    a, b = a.reindex(columns=columns), b.reindex(columns=columns)
    new = [i for i in b.index if i not in a.index]
    common = [i for i in b.index if i in a.index]
    differ = (a.loc[common].fillna("") != b.loc[common].fillna("")).any(axis=1)
    return [*differ[differ].index.tolist(), *new]


# The parents a changed facility is checked against: those within this many degrees (about 2 km,
# far more than any containment or "N m outside" check looks) of it. Conforming and validating
# the county's every village and compound again on each update cost most of its time.
_NEAR_DEG = 0.02


def _near(parents: gpd.GeoDataFrame, rows: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of ``parents`` near the changed ``rows`` (all of them when a row has no position)."""
    points = rows.geometry.to_numpy()
    if len(points) == 0 or (shapely.is_missing(points) | shapely.is_empty(points)).any():
        return parents
    _, hit = parents.sindex.query(points, predicate="dwithin", distance=_NEAR_DEG)
    return parents.iloc[np.unique(hit)]


def apply_changes(
    state: State,
    stored: gpd.GeoDataFrame,
    ids: list[str],
    *,
    version: int,
    lang: str,
    lazies: Callable[[State], dict[str, Lazy[Any]]],
) -> tuple[State, dict[str, Any]]:
    """The state after the facilities ``ids`` of the stored layer ``stored`` changed, and the diff.

    Raises
    ------
    Problem
        422 when a changed record has errors (each finding in ``errors``).
    """
    project = state.project
    rows = stored[stored["id"].astype("string").isin(ids).fillna(False).to_numpy()].reset_index(drop=True)
    parents = {
        n: _near(project.workspace.layers[n], rows)
        for n in ("villages", "townships", "compounds")
        if n in project.workspace
    }
    slim = open_workspace(
        Workspace(None, {"facilities": rows, **parents}, project.settings), preset=project.preset
    )
    found = slim.findings[slim.findings["layer"] == "facilities"]
    errors = found[found["severity"] == "error"]
    if len(errors):
        raise Problem(
            422,
            f"the facility record has {len(errors)} error(s); nothing was changed",
            kind="invalid-facility",
            errors=[
                {
                    "name": str(r.field) if pd.notna(r.field) else "record",
                    "in": "body",
                    "message": str(r.message),
                }
                for r in errors.itertuples()
            ],
        )
    slim = replace(slim, findings=found.reset_index(drop=True))
    audit = audit_workspace(slim, lang=lang, summarize=False)  # type: ignore[arg-type]
    conformed = slim.workspace.layer("facilities")

    table = state.facilities
    old_frame = table.frame
    merged = _merge(
        old_frame.drop(columns=[c for c in (*AUDIT_COLUMNS, "tier_label") if c in old_frame.columns]),
        conformed,
    )
    audit_rows = pd.concat(
        [
            old_frame[["id", *[c for c in AUDIT_COLUMNS if c in old_frame.columns]]],
            audit.facilities.drop(columns="geometry"),
        ],
        ignore_index=True,
    ).drop_duplicates("id", keep="last")
    new_table = build_table(merged, audit_rows, project.preset, crs=state.network.crs, lang=lang)

    positions = np.array([new_table.position[i] for i in ids], dtype=np.int64)
    fresh = state.index.snap(new_table.xy[positions])
    snaps = splice_snaps(state.index.facility_snap, positions, fresh, len(new_table))
    before_tiers = {str(table.tier[p]) for i in ids if (p := table.find(i)) is not None}
    touched = state.index.tiers_of(before_tiers | {str(new_table.tier[p]) for p in positions})
    index = state.index.rebuilt(snaps, new_table.xy, new_table.tier, new_table.serving, touched)

    walk = {t.tier for t in state.walk_tiers} & touched
    before_units = state.units
    after_units = remeasure(
        before_units, walk, new_table.xy, snaps, new_table.tier, new_table.serving, state.network
    )
    diff = coverage_diff(before_units, after_units, walk, new_table.ids)

    kept = project.findings
    kept = kept[~((kept["layer"] == "facilities") & kept["id"].astype("string").isin(ids).fillna(False))]
    new_project = replace(
        project,
        workspace=project.workspace.with_layers(facilities=merged),
        raw=project.raw.with_layers(facilities=stored),
        findings=pd.concat([kept, found], ignore_index=True),
    )
    new_state = replace(
        state,
        version=version,
        project=new_project,
        facilities=new_table,
        index=index,
        updated_at=time.time(),
        lazy={},
    )
    new_state.lazy.update(lazies(new_state))
    new_state.lazy["units"] = Lazy(lambda: after_units, after_units)
    return new_state, {"tiers_recomputed": sorted(touched), **diff}


def _merge(old: gpd.GeoDataFrame, rows: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``old`` with the rows of ``rows`` replacing those of the same id, new ids appended."""
    old = old.reset_index(drop=True)
    position = {fid: i for i, fid in enumerate(old["id"].astype(str).tolist())}
    rows = rows.to_crs(old.crs) if old.crs is not None and rows.crs is not None else rows
    out = pd.concat([old, rows.iloc[0:0]], ignore_index=True) if len(rows) else old.copy()
    out = out.copy()
    appended = []
    for i, fid in enumerate(rows["id"].astype(str).tolist()):
        if fid in position:
            for column in rows.columns:
                if column not in out.columns:
                    out[column] = pd.array([pd.NA] * len(out), dtype=object)
                out.at[position[fid], column] = rows.iloc[i][column]
        else:
            appended.append(i)
    if appended:
        out = pd.concat([out, rows.iloc[appended]], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=old.geometry.name, crs=old.crs)
