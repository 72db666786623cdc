"""What a map shows, gathered once: the workspace's layers and the audit, coverage and plan results,
in WGS-84, each row tagged with its township.

:func:`map_data` takes an opened :class:`~servicegrid.pipeline.Project` and, for each of the
audit, the coverage and the plan, a result object, the path of a file written by the matching
command, or nothing — then the pipeline computes it. The returned :class:`MapData` is what
:mod:`.layers` draws; :meth:`MapData.township` cuts it down to one township.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from ..errors import InputError
from ..geo.crs import STORAGE_CRS, to_storage
from ..progress import Progress, Steps

if TYPE_CHECKING:
    from pyproj import CRS

    from ..coverage.analysis import CoverageResult
    from ..coverage.network import StreetNetwork
    from ..pipeline import Project
    from ..siting.plan import PlanResult
    from ..standards.audit import AuditResult
    from ..standards.models import Preset
    from .text import Lang

__all__ = ["AREA_LAYERS", "MapData", "map_data"]

logger = logging.getLogger(__name__)

AREA_LAYERS = ("townships", "villages", "grids", "microgrids", "compounds", "settlements")
"""The workspace's polygon layers a map draws (besides the results)."""

_COVERAGE_LAYERS = ("coverage_units", "coverage_gaps", "coverage_summary", "service_areas", "uncovered_areas")
_PLAN_LAYERS = ("proposed_sites", "plan_before_after", "plan_summary")


@dataclass(frozen=True)
class MapData:
    """The frames a map draws (WGS-84, each with ``township_id``) and what the title says.

    ``frames`` holds the workspace's area layers (:data:`AREA_LAYERS`), ``paths`` (the roads),
    ``facilities`` (audited when an audit is given), and the results ``units``, ``gaps``,
    ``service_areas``, ``uncovered``, ``proposed`` (frames may be empty). ``summary`` and
    ``before_after`` are the coverage and plan tables; ``radii`` the walking radius of each
    measured tier.
    """

    name: str
    synthetic: bool
    date: str | None
    preset: Preset
    metric_crs: CRS
    frames: Mapping[str, gpd.GeoDataFrame]
    summary: pd.DataFrame
    before_after: pd.DataFrame
    radii: Mapping[str, float]
    plan_tier: str | None = None
    township_id: str | None = None
    notes: tuple[str, ...] = field(default=())

    def frame(self, name: str) -> gpd.GeoDataFrame:
        """Frame ``name``, or an empty one."""
        found = self.frames.get(name)
        return found if found is not None else _empty()

    @property
    def townships(self) -> pd.DataFrame:
        """Township id, name and code, in the order of the townships layer."""
        towns = self.frame("townships")
        out = pd.DataFrame(
            {
                "township_id": towns["id"].astype("string") if len(towns) else pd.Series(dtype="string"),
                "name": towns["name"].astype("string") if "name" in towns else pd.NA,
                "code": towns["code"].astype("string") if "code" in towns else pd.NA,
            }
        )
        return out.reset_index(drop=True)

    def township(self, township_id: str) -> MapData:
        """The same data cut to the features of one township (the paths clipped to its boundary)."""
        known = set(self.townships["township_id"])
        if township_id not in known:
            msg = f"no township with id '{township_id}' (known: {', '.join(sorted(known)) or 'none'})"
            raise InputError(msg)
        frames = {}
        for name, frame in self.frames.items():
            if name == "paths":
                continue
            column = "id" if name == "townships" else "township_id"
            frames[name] = (
                frame[frame[column].astype("string").to_numpy() == township_id] if len(frame) else frame
            )
        paths = self.frame("paths")
        if len(paths) and len(frames["townships"]):
            boundary = shapely.union_all(frames["townships"].geometry.to_numpy())
            hit = shapely.intersects(paths.geometry.to_numpy(), boundary)
            frames["paths"] = paths[hit]
        areas = set(frames["villages"]["id"].astype("string")) | set(frames["grids"]["id"].astype("string"))
        summary = self.summary
        if len(summary):
            keep = (summary["level"].isin(["village", "grid"]) & summary["area_id"].isin(areas)) | (
                (summary["level"] == "township") & (summary["area_id"] == township_id)
            )
            summary = summary[keep.to_numpy()]
        before_after = self.before_after
        if len(before_after):
            before_after = before_after[before_after["township_id"].astype("string") == township_id]
        return replace(
            self, frames=frames, summary=summary, before_after=before_after, township_id=township_id
        )


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"township_id": pd.Series(dtype="string")}, geometry=gpd.GeoSeries([], crs=STORAGE_CRS)
    )


def map_data(
    project: Project,
    *,
    audit: AuditResult | str | Path | None = None,
    coverage: CoverageResult | str | Path | None = None,
    plan: PlanResult | str | Path | None = None,
    network: StreetNetwork | None = None,
    plan_tier: str = "compound_station",
    lang: Lang = "zh",
    progress: Progress | None = None,
) -> MapData:
    """Everything a map of ``project`` shows.

    Parameters
    ----------
    project
        The opened workspace (:func:`servicegrid.pipeline.open_workspace`).
    audit, coverage, plan
        A result, the folder written by ``servicegrid audit`` (its ``results.gpkg``), the
        GeoPackage written by ``servicegrid coverage`` or ``servicegrid plan``; ``None``
        computes it through the pipeline (with ``network`` for coverage and plan, and a plan of
        ``plan_tier`` stations).
    """
    from .. import pipeline

    step = Steps(progress, 3)
    notes: list[str] = []
    step("audit")
    if audit is None:
        audit = pipeline.audit_workspace(project, lang=lang)
    facilities = _audited(audit) if not isinstance(audit, str | Path) else _read(Path(audit), "audit")
    step("coverage")
    if coverage is None:
        coverage = pipeline.measure_coverage(project, network=network)
    cov = _coverage_frames(coverage)
    step("plan")
    if plan is None:
        plan = pipeline.plan_sites(project, tier=plan_tier, network=network)
    proposed, before_after, tier = _plan_frames(plan)
    step.finish()

    ws = project.workspace
    frames = {name: to_storage(ws.layer(name)) for name in AREA_LAYERS if name in ws}
    if "roads" in ws:
        frames["paths"] = to_storage(ws.layer("roads"))
    frames["facilities"] = to_storage(facilities)
    frames.update(units=cov["coverage_units"], gaps=cov["coverage_gaps"])
    frames.update(service_areas=cov["service_areas"], uncovered=cov["uncovered_areas"], proposed=proposed)
    frames = _with_townships({k: v for k, v in frames.items() if v is not None})
    units = frames.get("units", _empty())
    radii = (
        units.groupby("tier")["radius_m"].first().astype(float).to_dict()
        if len(units) and "radius_m" in units
        else {}
    )
    return MapData(
        name=ws.settings.name or (project.path.stem if project.path else ""),
        synthetic=ws.settings.synthetic,
        date=data_date(project.path),
        preset=project.preset,
        metric_crs=ws.metric_crs,
        frames=frames,
        summary=cov["coverage_summary"],
        before_after=before_after,
        radii=radii,
        plan_tier=tier,
        notes=tuple(notes),
    )


def data_date(path: Path | None) -> str | None:
    """The day the workspace's layers were last written (``gpkg_contents.last_change``), else the
    file's modification day."""
    if path is None or not Path(path).exists():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            (last,) = db.execute("SELECT max(last_change) FROM gpkg_contents").fetchone()
        if last:
            return str(last)[:10]
    except sqlite3.Error:
        pass
    return pd.Timestamp(Path(path).stat().st_mtime, unit="s").strftime("%Y-%m-%d")


def _audited(audit: AuditResult) -> gpd.GeoDataFrame:
    return audit.summarized().facilities


def _coverage_frames(coverage: CoverageResult | str | Path) -> dict[str, pd.DataFrame]:
    if isinstance(coverage, str | Path):
        layers = _read_layers(Path(coverage), _COVERAGE_LAYERS, "coverage")
    else:
        layers = coverage.layers()
    out = {}
    for name in _COVERAGE_LAYERS:
        frame = layers[name]
        out[name] = to_storage(frame) if isinstance(frame, gpd.GeoDataFrame) else pd.DataFrame(frame)
    return out


def _plan_frames(plan: PlanResult | str | Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame, str | None]:
    layers = _read_layers(Path(plan), _PLAN_LAYERS, "plan") if isinstance(plan, str | Path) else plan.layers()
    summary = layers["plan_summary"]
    tier = str(summary["tier"].iloc[0]) if len(summary) and "tier" in summary else None
    return to_storage(layers["proposed_sites"]), pd.DataFrame(layers["plan_before_after"]), tier


def _read(path: Path, what: str) -> gpd.GeoDataFrame:
    """The audited facilities of an audit folder (or its results GeoPackage)."""
    gpkg = path / "results.gpkg" if path.is_dir() else path
    return _read_layers(gpkg, ("audit_facilities",), what)["audit_facilities"]


def _read_layers(path: Path, names: tuple[str, ...], what: str) -> dict[str, pd.DataFrame]:
    if not path.exists():
        msg = f"{what} results not found: {path}"
        raise InputError(msg)
    try:
        present = {str(name) for name, _ in pyogrio.list_layers(path)}
    except Exception as exc:  # pyogrio raises its own DataSourceError for a file that is not GIS data
        msg = f"{path}: not a GeoPackage written by 'servicegrid {what}' ({exc})"
        raise InputError(msg) from None
    missing = [name for name in names if name not in present]
    if missing:
        msg = f"{path} has no layer {', '.join(missing)}; write it with 'servicegrid {what}'"
        raise InputError(msg)
    return {name: pyogrio.read_dataframe(path, layer=name) for name in names}


def _with_townships(frames: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """Every frame with a ``township_id`` column: through the villages, grids and facilities."""
    villages = frames.get("villages")
    grids = frames.get("grids")
    village_town = _lookup(villages, "id", "township_id")
    grid_village = _lookup(grids, "id", "village_id")
    grid_town = grid_village.map(village_town)
    out = {}
    for name, frame in frames.items():
        frame = frame.reset_index(drop=True)
        own = "id" if name == "townships" else "township_id"
        town = (
            frame[own].astype("string")
            if own in frame.columns
            else pd.Series(pd.NA, index=frame.index, dtype="string")
        )
        if "village_id" in frame.columns and name != "villages":
            town = town.fillna(frame["village_id"].astype("string").map(village_town))
        if "grid_id" in frame.columns and name != "grids":
            town = town.fillna(frame["grid_id"].astype("string").map(grid_town))
        out[name] = frame.assign(township_id=pd.array(town.to_numpy(), dtype="string"))
    if "service_areas" in out and "facilities" in out:
        areas = out["service_areas"]
        by_facility = _lookup(out["facilities"], "id", "township_id")
        town = areas["facility_id"].astype("string").map(by_facility)
        out["service_areas"] = areas.assign(township_id=pd.array(town.to_numpy(), dtype="string"))
    return out


def _lookup(frame: pd.DataFrame | None, key: str, value: str) -> pd.Series:
    if frame is None or not len(frame) or key not in frame or value not in frame:
        return pd.Series(dtype="string")
    table = pd.Series(frame[value].astype("string").to_numpy(), index=frame[key].astype("string").to_numpy())
    return table[~table.index.duplicated()]


def tier_label(preset: Preset, tier: str, lang: Lang) -> str:
    """The tier's name in ``lang`` (its id when the preset does not know it)."""
    found = preset.tiers.get(tier)
    return found.label(lang) if found is not None else tier


def finest_unit_layer(layers: pd.Series | np.ndarray) -> str | None:
    """The finest demand layer present: compounds, then settlements, grids, villages."""
    present = set(pd.Series(layers).dropna().astype(str))
    return next((name for name in ("compounds", "settlements", "grids", "villages") if name in present), None)
