"""Validation of a workspace: every problem at once, each with where it is and what to do.

:func:`validate_layers` runs all checks and returns a :class:`ValidationReport` with one
finding per problem (severity, layer, id, row, field, check, message) and the workspace with
invalid geometries repaired (``make_valid``, keeping the polygonal part) so later stages can
run on it. Errors make ``servicegrid validate`` exit non-zero; warnings do not.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .conform import conform_layer, rename_aliases
from .crs import in_china
from .findings import FINDING_COLUMNS, concat_findings, count_errors, findings_json, no_findings
from .findings import findings as _findings
from .hierarchy import fill_parent_ids
from .schema import LAYERS
from .spatial_checks import (
    check_gcj_offset,
    check_nesting,
    check_outside_area,
    check_overlaps,
    check_point_compounds,
    check_uncovered,
    feature_ids,
    gcj_offset_findings,
    placeable,
)
from .vocabularies import Vocabulary
from .workspace import Workspace

__all__ = ["FINDING_COLUMNS", "ValidationReport", "gcj_offset_findings", "validate_layers"]

logger = logging.getLogger(__name__)

DEMAND_LAYERS = ("compounds", "settlements", "villages", "grids")
POLYGON_LAYERS = ("townships", "villages", "grids", "microgrids", "compounds")


@dataclass(frozen=True)
class ValidationReport:
    """Findings of :func:`validate_layers` and the workspace conformed, with parent ids filled
    and safe repairs applied; ``notes`` says what was filled in."""

    findings: pd.DataFrame
    workspace: Workspace
    notes: tuple[str, ...] = ()

    @property
    def errors(self) -> int:
        """Number of error findings."""
        return count_errors(self.findings)

    @property
    def warnings(self) -> int:
        """Number of warning findings."""
        return int((self.findings["severity"] == "warning").sum())

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return self.errors == 0

    def to_json(self) -> str:
        """The findings as a JSON document (UTF-8, Chinese kept readable)."""
        return findings_json(self.findings)


_no_findings = no_findings


def validate_layers(
    workspace: Workspace,
    *,
    vocabularies: Mapping[str, Vocabulary] | None = None,
    paths: gpd.GeoSeries | None = None,
    fill_parents: bool = True,
) -> ValidationReport:
    """Conform ``workspace``, fill its blank parent ids, run every check and collect all findings.

    Parameters
    ----------
    workspace
        The workspace to check (layers in WGS-84), conformed here if it is not yet.
    vocabularies
        Vocabularies beyond the data model's own, by name; the standards preset gives ``tier``,
        so that facilities and candidates with a tier it does not know are reported. Without
        it tiers are not checked.
    paths
        Walking paths (any CRS) to test point layers against for a GCJ-02 offset, e.g. the edges
        of the walking network; default: the workspace's ``roads`` layer.
    fill_parents
        Fill blank parent ids by spatial join (:func:`~servicegrid.geo.hierarchy.fill_parent_ids`)
        before the checks that use them.

    Returns
    -------
    ValidationReport
        Findings sorted errors first, and the workspace conformed, with parent ids filled and
        invalid geometries repaired.
    """
    found: list[pd.DataFrame] = [_check_settings(workspace), _check_required_layers(workspace)]
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name, raw in workspace.layers.items():
        frame, problems = _conform_and_repair(name, raw.reset_index(drop=True), vocabularies)
        layers[name] = frame
        found.extend(problems)
    repaired = workspace.with_layers(**layers)
    notes: tuple[str, ...] = ()
    if fill_parents:
        filled = fill_parent_ids(repaired)
        repaired, notes = filled.workspace, filled.notes
        layers = dict(repaired.layers)
    placed = {name: frame[placeable(frame)] for name, frame in layers.items()}
    placed = {name: frame for name, frame in placed.items() if len(frame)}
    if placed:
        crs = Workspace(None, placed).metric_crs
        metric = {name: frame.to_crs(crs) for name, frame in placed.items()}
        found.append(_check_references(layers))  # ids only: every feature counts
        found.append(check_nesting(metric))
        found.extend(check_overlaps(name, metric[name]) for name in POLYGON_LAYERS if name in metric)
        found.append(check_point_compounds(metric.get("compounds")))
        found.append(check_uncovered(metric, parent="villages", child="grids"))
        found.append(check_uncovered(metric, parent="townships", child="villages"))
        found.append(check_outside_area(metric))
        roads = paths if paths is not None else placed.get("roads", gpd.GeoSeries([], crs=4326)).geometry
        found.append(check_gcj_offset(placed, roads, crs=crs))
        found.append(_check_codes(layers))
    found.append(_check_blank_households(layers, concat_findings(found)))
    return ValidationReport(concat_findings(found), repaired, notes)


def _check_settings(workspace: Workspace) -> pd.DataFrame:
    if not workspace.settings_problems:
        return no_findings()
    keys, messages = zip(*sorted(workspace.settings_problems), strict=True)
    return concat_findings(
        _findings(
            "error", "servicegrid_settings", "invalid_setting", f"{message}; the default is used", field=key
        )
        for key, message in zip(keys, messages, strict=True)
    )


def _check_required_layers(workspace: Workspace) -> pd.DataFrame:
    out = []
    if "facilities" not in workspace:
        out.append(
            _findings(
                "error",
                "facilities",
                "missing_layer",
                "the workspace has no facilities; import the service-center register with "
                "'servicegrid import facilities REGISTER.xlsx --into WORKSPACE.gpkg'",
            )
        )
    if not any(name in workspace for name in DEMAND_LAYERS):
        out.append(
            _findings(
                "error",
                "compounds",
                "missing_layer",
                "the workspace has no demand layer (compounds, settlements, villages or grids); import at least one",
            )
        )
    return pd.concat(out, ignore_index=True) if out else _no_findings()


def _conform_and_repair(
    name: str, frame: gpd.GeoDataFrame, vocabularies: Mapping[str, Vocabulary] | None
) -> tuple[gpd.GeoDataFrame, list[pd.DataFrame]]:
    """Types, required columns, geometry problems, ids, value ranges and swapped coordinates."""
    spec = LAYERS[name]
    conformed = conform_layer(frame, name, vocabularies=vocabularies)
    problems: list[pd.DataFrame] = [conformed.findings, _check_blank_required(name, frame, conformed.frame)]
    frame = conformed.frame
    for col in spec.columns:
        if col.required and col.name not in frame.columns:
            problems.append(
                _findings(
                    "error",
                    name,
                    "missing_column",
                    f"required column '{col.name}' is missing (accepted headers: {', '.join((col.name, *col.aliases))})",
                    field=col.name,
                )
            )
    ids = feature_ids(frame)
    rows = np.arange(1, len(frame) + 1)
    geom = frame.geometry.array
    empty = shapely.is_missing(geom) | shapely.is_empty(geom)
    if empty.any():
        problems.append(
            _findings(
                "error",
                name,
                "empty_geometry",
                "the geometry is empty; draw the feature or delete the row",
                ids=ids[empty],
                rows=rows[empty],
            )
        )
    type_ok = _geometry_type_ok(geom, spec.geometry) | empty
    if not type_ok.all():
        kinds = shapely.get_type_id(geom[~type_ok])
        names = np.array(
            [
                "Point",
                "LineString",
                "LinearRing",
                "Polygon",
                "MultiPoint",
                "MultiLineString",
                "MultiPolygon",
                "GeometryCollection",
            ]
        )[kinds]
        problems.append(
            _findings(
                "error",
                name,
                "geometry_type",
                [f"{k} where {name} need a {spec.geometry.replace('_or_', ' or ')} geometry" for k in names],
                ids=ids[~type_ok],
                rows=rows[~type_ok],
            )
        )
    invalid = ~empty & ~shapely.is_valid(geom)
    if invalid.any():
        reasons = shapely.is_valid_reason(geom[invalid])
        fixed = shapely.make_valid(geom[invalid])
        if spec.geometry in ("polygon", "polygon_or_point"):
            fixed = _polygonal_part(fixed)
        safe = ~shapely.is_empty(fixed)
        new_geom = geom.copy()
        idx = np.flatnonzero(invalid)
        new_geom[idx[safe]] = fixed[safe]
        frame = frame.set_geometry(gpd.GeoSeries(new_geom, index=frame.index, crs=frame.crs))
        if safe.any():
            problems.append(
                _findings(
                    "warning",
                    name,
                    "invalid_geometry",
                    [
                        f"invalid geometry ({r}) repaired with make_valid; check the shape"
                        for r in reasons[safe]
                    ],
                    ids=ids[invalid][safe],
                    rows=rows[invalid][safe],
                )
            )
        if (~safe).any():
            problems.append(
                _findings(
                    "error",
                    name,
                    "invalid_geometry",
                    [f"invalid geometry ({r}) cannot be repaired safely; redraw it" for r in reasons[~safe]],
                    ids=ids[invalid][~safe],
                    rows=rows[invalid][~safe],
                )
            )
    if "id" in frame.columns:
        missing = ids.isna().to_numpy()
        if missing.any():
            problems.append(
                _findings(
                    "error",
                    name,
                    "missing_id",
                    "the id is blank; give every feature an id",
                    rows=rows[missing],
                    field="id",
                )
            )
        dup = ids.duplicated(keep=False).to_numpy() & ~missing
        if dup.any():
            first_row = pd.Series(rows[dup]).groupby(ids[dup].to_numpy()).transform("min").to_numpy()
            problems.append(
                _findings(
                    "error",
                    name,
                    "duplicate_id",
                    [
                        f"id '{i}' is used more than once (first at row {r}); ids must be unique"
                        for i, r in zip(ids[dup], first_row, strict=True)
                    ],
                    ids=ids[dup],
                    rows=rows[dup],
                    field="id",
                )
            )
    problems.extend(_check_ranges(name, frame, ids, rows))
    problems.append(_check_swapped(name, frame, ids, rows, ~empty))
    return frame, problems


def _check_blank_required(name: str, raw: pd.DataFrame, frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Required values (other than ids, checked apart) left blank in the source."""
    renamed = rename_aliases(raw, LAYERS[name])
    out = []
    for col in LAYERS[name].columns:
        if not col.required or col.name == "id" or col.name not in renamed.columns:
            continue
        text = renamed[col.name].astype("string").str.strip()
        blank = (text.isna() | (text == "")).to_numpy()
        if blank.any():
            out.append(
                _findings(
                    "error",
                    name,
                    "missing_value",
                    f"the {col.name} is blank; every {name[:-1]} needs one",
                    ids=feature_ids(frame)[blank],
                    rows=np.flatnonzero(blank) + 1,
                    field=col.name,
                )
            )
    return concat_findings(out)


def _geometry_type_ok(geom: np.ndarray, kind: str) -> np.ndarray:
    type_id = shapely.get_type_id(geom)
    polygon = np.isin(type_id, (3, 6))
    point = type_id == 0
    line = np.isin(type_id, (1, 5))
    return {"polygon": polygon, "point": point, "line": line, "polygon_or_point": polygon | point}[kind]


def _polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """The polygons of each geometry (collections from make_valid may carry stray lines)."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    keep = np.isin(shapely.get_type_id(parts), (3, 6))
    out = np.full(len(geoms), shapely.Polygon(), dtype=object)
    if keep.any():
        merged = shapely.multipolygons(parts[keep], indices=owner[keep])
        present = np.unique(owner[keep])
        single = shapely.get_num_geometries(merged) == 1
        merged = np.where(single, shapely.get_geometry(merged, 0), merged)
        out[present] = merged
    return out


def _check_ranges(name: str, frame: pd.DataFrame, ids: pd.Series, rows: np.ndarray) -> list[pd.DataFrame]:
    out = []
    for col in LAYERS[name].columns:
        if col.kind not in ("int", "float") or col.name not in frame.columns:
            continue
        values = pd.to_numeric(frame[col.name], errors="coerce").astype(float).to_numpy()
        bad = np.zeros(len(values), dtype=bool)
        if col.minimum is not None:
            bad |= values < col.minimum
        if col.maximum is not None:
            bad |= values > col.maximum
        if bad.any():
            unit = f" {col.unit}" if col.unit else ""
            lo = "" if col.minimum is None else f"{col.minimum:g}"
            hi = "" if col.maximum is None else f"{col.maximum:g}"
            out.append(
                _findings(
                    "error",
                    name,
                    "impossible_value",
                    [
                        f"{v:g}{unit} is impossible for {col.name} (expected {lo}–{hi}{unit})"
                        for v in values[bad]
                    ],
                    ids=ids[bad],
                    rows=rows[bad],
                    field=col.name,
                )
            )
    if {"households", "population"} <= set(frame.columns):
        hh = pd.to_numeric(frame["households"], errors="coerce").astype(float).to_numpy()
        pop = pd.to_numeric(frame["population"], errors="coerce").astype(float).to_numpy()
        odd = (pop < hh) & (hh > 0)
        if odd.any():
            out.append(
                _findings(
                    "warning",
                    name,
                    "population_below_households",
                    [
                        f"population {p:g} is below households {h:g}; are the columns swapped?"
                        for p, h in zip(pop[odd], hh[odd], strict=True)
                    ],
                    ids=ids[odd],
                    rows=rows[odd],
                    field="population",
                )
            )
    return out


def _check_swapped(
    name: str, frame: gpd.GeoDataFrame, ids: pd.Series, rows: np.ndarray, present: np.ndarray
) -> pd.DataFrame:
    """Features whose x looks like a Chinese latitude and y like a longitude."""
    pts = frame.geometry.array[present]
    if len(pts) == 0:
        return _no_findings()
    rep = shapely.point_on_surface(pts)
    x, y = shapely.get_x(rep), shapely.get_y(rep)
    swapped = in_china(y, x) & ~in_china(x, y)
    if not swapped.any():
        return _no_findings()
    return _findings(
        "error",
        name,
        "swapped_coordinates",
        [
            f"position ({a:.5f}, {b:.5f}) looks like latitude/longitude swapped; re-import with "
            "--lon and --lat naming the right columns"
            for a, b in zip(x[swapped], y[swapped], strict=True)
        ],
        ids=ids[present][swapped],
        rows=rows[present][swapped],
    )


def _check_references(layers: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    out = []
    for name, frame in layers.items():
        for col in LAYERS[name].columns:
            if col.references is None or col.name not in frame.columns:
                continue
            values = frame[col.name].astype("string")
            given = values.notna().to_numpy()
            if col.references not in layers:
                if given.any():
                    out.append(
                        _findings(
                            "warning",
                            name,
                            "unchecked_reference",
                            f"{int(given.sum())} {col.name} value(s) cannot be checked: the workspace has no "
                            f"{col.references} layer",
                            field=col.name,
                        )
                    )
                continue
            known = (
                set(layers[col.references]["id"].astype("string").dropna())
                if "id" in layers[col.references]
                else set()
            )
            orphan = given & ~values.isin(known).fillna(False).to_numpy()
            if orphan.any():
                out.append(
                    _findings(
                        "error",
                        name,
                        "orphan_reference",
                        [f"{col.name} '{v}' does not exist in {col.references}" for v in values[orphan]],
                        ids=feature_ids(frame)[orphan],
                        rows=np.flatnonzero(orphan) + 1,
                        field=col.name,
                    )
                )
    return pd.concat(out, ignore_index=True) if out else _no_findings()


def _check_blank_households(layers: Mapping[str, gpd.GeoDataFrame], found: pd.DataFrame) -> pd.DataFrame:
    """Demand units without households: coverage by households and plans cannot weigh them.

    A value that could not be read is an error of its own (in ``found``), not a blank."""
    out = []
    unreadable = found[(found["severity"] == "error") & (found["field"] == "households")]
    for name in DEMAND_LAYERS:
        frame = layers.get(name)
        if frame is None or len(frame) == 0:
            continue
        blank = (
            frame["households"].isna().to_numpy(copy=True)
            if "households" in frame
            else np.ones(len(frame), bool)
        )
        rows = unreadable.loc[unreadable["layer"] == name, "row"].dropna().astype(int).to_numpy()
        blank[rows[(rows >= 1) & (rows <= len(frame))] - 1] = False
        if not blank.any():
            continue
        what = "have no households recorded" if blank.all() else "have blank households"
        ids = frame["id"].astype("string").fillna("?").to_numpy(dtype=object)[blank] if "id" in frame else []
        shown = f" ({', '.join(ids[:5])}{', …' if len(ids) > 5 else ''})" if len(ids) else ""
        out.append(
            _findings(
                "warning",
                name,
                "blank_households",
                f"{int(blank.sum()):,} of {len(frame):,} {name} {what}{shown}: coverage by households leaves "
                "them out, and a plan weighs each as the median of the units that have a figure (as 1 when "
                "none has)",
                field="households",
            )
        )
    return concat_findings(out)


def _check_codes(layers: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """A village's statistical code must start with its township's 9-digit code."""
    villages, townships = layers.get("villages"), layers.get("townships")
    if villages is None or townships is None:
        return _no_findings()
    if not {"code", "township_id"} <= set(villages.columns) or "code" not in townships.columns:
        return _no_findings()
    town_code = pd.Series(
        townships["code"].astype("string").to_numpy(), index=townships["id"].astype("string")
    )
    town_code = town_code[~town_code.index.duplicated()]
    expected = villages["township_id"].astype("string").map(town_code).astype("string").str.slice(0, 9)
    code = villages["code"].astype("string")
    bad = (code.notna() & expected.notna() & (code.str.slice(0, 9) != expected)).to_numpy()
    if not bad.any():
        return _no_findings()
    return _findings(
        "warning",
        "villages",
        "code_mismatch",
        [
            f"code {c} does not start with its township's code {e}"
            for c, e in zip(code[bad], expected[bad], strict=True)
        ],
        ids=feature_ids(villages)[bad],
        rows=np.flatnonzero(bad) + 1,
        field="code",
    )
