"""The audit: every facility against the standard of its tier, and the county's positions and grids.

:func:`audit_facilities` grades each facility model (示范型), compliant (达标型) or below standard
(不达标), scores it on the ten-star scale and says what it lacks. Requirements are gathered into
per-tier arrays once and gathered per facility by tier code, so the whole audit is numpy over
facilities (a loop runs over catalogue entries and tiers only).

Grading, for a facility of tier T:

- **compliant** when every compliance item of T is present (required items and required signs),
  the floor area and hall area reach T's compliant minimums, every required window, zone and room
  is present and the hours rule holds (schedule posted and readable, weekdays open, staff on duty,
  weekend duty where the compliant grade needs it);
- **model** when compliant and also: the model area and hall minimums, the model-only signs, the
  model hours rule (weekend duty, evening sessions), at least ``grading.min_optional_share`` of the
  optional items, and at least ``grading.min_stars`` stars;
- **noncompliant** otherwise. A value the register leaves blank (an area, a staff count) is not
  evidence, so the check it feeds fails and the reason says it was not recorded.

Score: the preset's ``scoring`` splits the points into ``basic`` (compliance items, by their
weights), ``function`` (area, hall, windows, zones and rooms by share present, hours) and ``extra``
(optional items, model signs, model area and hall, model hours). Each group earns its points times
the share it fulfils; groups with nothing to check for the tier are dropped and the rest rescaled
to the full points. Stars are whole multiples of ``points_per_star``.

:func:`audit_layers` runs this with the township summaries (:mod:`.summary`) and the grid
checks (:mod:`.grids`) over a whole workspace.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import StandardsError
from ._common import (
    check_lang,
    column_values,
    join_masked,
)
from .grading import area_checks, hours_checks, reasons, stars_score, upgrade_cost
from .grids import GridAudit, audit_grids
from .loader import load_preset, resolve_preset_path
from .models import GRADES, Lang, Preset
from .records import VOCABULARIES, FacilityRecords, StandardsWarning, conform_facilities, parse_records
from .requirements import RequirementTables, requirement_tables
from .summary import AuditSummary, place_facilities, summarize_audit

__all__ = ["AuditResult", "audit_facilities", "audit_layers"]

logger = logging.getLogger(__name__)


# -- facility audit -----------------------------------------------------------------------------------


def audit_facilities(
    facilities: gpd.GeoDataFrame,
    preset: Preset | str,
    *,
    lang: Lang = "zh",
    records: FacilityRecords | None = None,
    source: str | None = None,
) -> gpd.GeoDataFrame:
    """Grade every facility against the standard of its tier.

    Parameters
    ----------
    facilities
        The facilities layer (see ``servicegrid.geo.schema.LAYERS['facilities']``); raw register
        headers are understood.
    preset
        A :class:`Preset` or a preset name / path.
    lang
        Language of the label columns and of ``reason``: 'zh' or 'en'.
    records
        Already parsed records (:func:`~servicegrid.standards.records.parse_records`), to avoid
        parsing twice.
    source
        File name for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per facility, same index and geometry: ``tier``, ``grade``
        ('model' / 'compliant' / 'noncompliant') and ``grade_label``, ``score`` (0–100) and
        ``stars``, ``missing_*`` ids and ``missing_*_label`` labels for items, windows, zones,
        rooms, optional and model-only items, ``*_present`` ids of what the facility has (after
        the number and set checks), area and hall minimums and shortfalls in m², the
        hours check, ``meets_standard``, ``upgrade_cost`` (to the compliant grade, currency of
        the preset; NaN when the area is unknown) and a one-line ``reason``.

    Raises
    ------
    StandardsError
        When a facility's tier is blank or unknown (naming the facilities and the valid tiers).
    """
    check_lang(lang)
    preset = load_preset(preset)
    frame = conform_facilities(facilities, source=source)
    rec = records if records is not None else parse_records(frame, preset, source=source)
    tab = requirement_tables(preset)
    n = len(frame)
    code = pd.Categorical(rec.tier, categories=tab.tiers).codes.astype(np.int64)
    _warn_absent(frame, rec, tab, code)

    items = rec["items"].to_numpy(dtype=bool).copy()
    have = {kind: rec[kind].to_numpy(dtype=bool) for kind in ("windows", "zones", "rooms")}
    need = {kind: tab.required[kind][code] for kind in VOCABULARIES}
    for j, item_id in enumerate(tab.catalogue["items"]):
        check = preset.items[item_id].check
        if check.kind == "number":
            value = column_values(frame, check.column, "float")
            if value is not None:
                known = ~np.isnan(value)
                items[:, j] = np.where(known, np.nan_to_num(value) >= check.minimum.value, items[:, j])
        elif check.kind == "set":
            index = {k: i for i, k in enumerate(tab.catalogue[check.column])}
            if check.members is not None:
                cols = [index[m] for m in check.members]
                items[:, j] = have[check.column][:, cols].all(axis=1)
            else:
                members = need[check.column]
                decided = members.any(axis=1)
                ok = (~members | have[check.column]).all(axis=1)
                items[:, j] = np.where(decided, ok, items[:, j])

    missing = {"items": need["items"] & ~items}
    for kind in ("windows", "zones", "rooms"):
        missing[kind] = need[kind] & ~have[kind]
    missing_optional = tab.optional[code] & ~items
    missing_model = tab.model_items[code] & ~items

    floor = column_values(frame, "floor_area_m2", "float")
    floor = np.full(n, np.nan) if floor is None else floor
    hall = column_values(frame, "hall_area_m2", "float")
    hall = np.full(n, np.nan) if hall is None else hall
    area = area_checks(floor, tab.area, code)
    hall_checks = area_checks(hall, tab.hall, code)
    hours = hours_checks(frame, tab, code, lang)

    compliant = (
        ~missing["items"].any(axis=1)
        & area["ok_compliant"]
        & hall_checks["ok_compliant"]
        & ~missing["windows"].any(axis=1)
        & ~missing["zones"].any(axis=1)
        & ~missing["rooms"].any(axis=1)
        & hours["ok_compliant"]
    )
    optional_total = tab.optional[code].sum(axis=1)
    optional_share = np.where(
        optional_total > 0, (tab.optional[code] & items).sum(axis=1) / np.maximum(optional_total, 1), 1.0
    )
    score = stars_score(
        preset, tab, code, items, need, have, area, hall_checks, hours, optional_total, optional_share
    )
    stars = np.minimum(
        np.floor(score / preset.scoring.points_per_star.value + 1e-9), preset.scoring.max_stars
    )
    model = (
        compliant
        & area["ok_model"]
        & hall_checks["ok_model"]
        & hours["ok_model"]
        & ~missing_model.any(axis=1)
        & (optional_share + 1e-9 >= tab.min_optional_share[code])
        & (stars >= tab.min_stars[code])
    )
    grade = np.where(model, "model", np.where(compliant, "compliant", "noncompliant"))

    labels = {
        kind: [getattr(preset, kind)[k].label(lang) for k in tab.catalogue[kind]] for kind in VOCABULARIES
    }
    sep = "、" if lang == "zh" else ", "
    out: dict[str, object] = {
        "id": frame["id"].to_numpy(),
        "name": column_values(frame, "name", "str") if "name" in frame.columns else np.full(n, None),
        "tier": np.array(tab.tiers, dtype=object)[code],
        "tier_label": np.array([preset.tiers[t].label(lang) for t in tab.tiers], dtype=object)[code],
    }
    for col in ("status", "township_id", "village_id", "compound_id"):
        out[col] = frame[col].to_numpy() if col in frame.columns else np.full(n, None)
    grade_labels = {g: preset.grades[g].label(lang) for g in GRADES}
    out |= {
        "grade": grade,
        "grade_label": pd.Series(grade).map(grade_labels).to_numpy(),
        "meets_standard": grade != "noncompliant",
        "score": np.round(score, 1),
        "stars": stars.astype(np.int64),
    }
    for kind in VOCABULARIES:
        out[f"missing_{kind}"] = join_masked(missing[kind], tab.catalogue[kind], "; ")
        out[f"missing_{kind}_label"] = join_masked(missing[kind], labels[kind], sep)
    out["n_missing_items"] = missing["items"].sum(axis=1)
    out["items_present"] = join_masked(items, tab.catalogue["items"], "; ")
    for kind in ("windows", "zones", "rooms"):
        out[f"{kind}_present"] = join_masked(have[kind], tab.catalogue[kind], "; ")
    out["missing_optional"] = join_masked(missing_optional, tab.catalogue["items"], "; ")
    out["missing_optional_label"] = join_masked(missing_optional, labels["items"], sep)
    out["missing_model_items"] = join_masked(missing_model, tab.catalogue["items"], "; ")
    out["missing_model_items_label"] = join_masked(missing_model, labels["items"], sep)
    out |= {
        "floor_area_m2": floor,
        "area_min_m2": tab.area["compliant"][code],
        "area_model_m2": tab.area["model"][code],
        "area_shortfall_m2": area["short_compliant"],
        "area_shortfall_model_m2": area["short_model"],
        "hall_area_m2": hall,
        "hall_min_m2": tab.hall["compliant"][code],
        "hall_shortfall_m2": hall_checks["short_compliant"],
        "hall_shortfall_model_m2": hall_checks["short_model"],
        "opening_hours": column_values(frame, "opening_hours", "str")
        if "opening_hours" in frame.columns
        else np.full(n, None),
        "weekdays_open": hours["weekdays_open"],
        "weekend_duty": hours["weekend"],
        "evening_sessions": hours["evenings"],
        "hours_ok": hours["ok_compliant"],
        "hours_model_ok": hours["ok_model"],
        "hours_problem": hours["problem"],
        "optional_share": np.round(optional_share, 3),
        "upgrade_cost": upgrade_cost(preset, tab, missing, area, compliant),
    }
    out["reason"] = reasons(
        lang,
        grade,
        grade_labels,
        out,
        area,
        hall_checks,
        hours,
        stars,
        tab.min_stars[code],
        optional_share,
        code,
        tab,
    )
    result = gpd.GeoDataFrame(
        pd.DataFrame(out, index=frame.index), geometry=frame.geometry.to_numpy(), crs=frame.crs
    )
    logger.info(
        "audited %d facilities: %s",
        n,
        ", ".join(f"{g} {int((grade == g).sum())}" for g in GRADES),
    )
    return result


def _warn_absent(frame: pd.DataFrame, rec: FacilityRecords, tab: RequirementTables, code: np.ndarray) -> None:
    """Warn about register columns that are absent although some facility's tier needs them."""
    needed = {kind: bool(tab.required[kind][code].any()) for kind in VOCABULARIES}
    absent = [k for k in VOCABULARIES if needed[k] and not rec.provided[k]]
    checks = {
        "floor_area_m2": ~np.isnan(tab.area["compliant"][code]),
        "hall_area_m2": ~np.isnan(tab.hall["compliant"][code]),
        "opening_hours": tab.schedule_required[code] | (tab.min_weekdays[code] > 0),
        "staff": tab.min_staff[code] > 0,
    }
    absent += [c for c, used in checks.items() if c not in frame.columns and bool(np.any(used))]
    if absent:
        warnings.warn(
            f"facilities: the register records no {', '.join(absent)}; every requirement on them counts "
            "as unmet (add the columns to audit them)",
            StandardsWarning,
            stacklevel=3,
        )


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit of a workspace produced (written out by ``export.write_audit``)."""

    preset: Preset
    lang: Lang
    facilities: gpd.GeoDataFrame
    summary: AuditSummary | None
    grids: GridAudit | None
    issues: pd.DataFrame
    messages: tuple[str, ...] = ()
    county_name: str = ""

    def summarized(self) -> AuditSummary:
        """The township and county summaries (refused for an audit made with ``summarize=False``)."""
        if self.summary is None:
            msg = "this audit was made with summarize=False: it has no township or county summaries"
            raise ValueError(msg)
        return self.summary

    def grades_by_tier(self) -> pd.DataFrame:
        """Existing facilities per tier and grade, with the total row (the county table)."""
        return self.summarized().county


def audit_layers(
    workspace: object,
    *,
    preset: Preset | str | None = None,
    lang: Lang = "zh",
    summarize: bool = True,
) -> AuditResult:
    """Audit the facilities, position system and grids of a workspace.

    Parameters
    ----------
    workspace
        A :class:`servicegrid.geo.workspace.Workspace`.
    preset
        Preset, name or path; default the workspace setting (a relative path is taken relative
        to the workspace file).
    lang
        'zh' or 'en'.
    summarize
        False: grade the facilities and place them in their townships, villages and compounds,
        without the township and county counts, the position check or the grids (``summary``
        and ``grids`` are None) — what a single changed facility needs.

    Returns
    -------
    AuditResult
        Every standards warning raised on the way is also kept in ``messages``.
    """
    from ..geo.workspace import Workspace

    check_lang(lang)
    if not isinstance(workspace, Workspace):
        msg = f"expected a servicegrid Workspace, got {type(workspace).__name__}"
        raise TypeError(msg)
    if not isinstance(preset, Preset):
        base = workspace.path.parent if workspace.path is not None else None
        preset = load_preset(resolve_preset_path(preset or workspace.settings.preset, relative_to=base))
    if "facilities" not in workspace:
        msg = "the workspace has no facilities to audit; add a 'facilities' layer"
        raise StandardsError(msg)
    source = str(workspace.path) if workspace.path is not None else None
    facilities = workspace.layer("facilities")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StandardsWarning)
        records = parse_records(facilities, preset, source=source)
        audit = audit_facilities(facilities, preset, lang=lang, records=records, source=source)
        layer = {
            name: workspace.layer(name) if name in workspace else None
            for name in ("townships", "villages", "compounds")
        }
        if summarize:
            summary: AuditSummary | None = summarize_audit(
                audit,
                layer["townships"],
                layer["villages"],
                layer["compounds"],
                preset=preset,
                lang=lang,
                county_name=workspace.settings.name,
            )
            placed = summary.facilities
        else:
            summary = None
            placed = place_facilities(audit, layer["townships"], layer["villages"], layer["compounds"])
        grids = (
            audit_grids(
                workspace.layer("grids"),
                workspace.layer("microgrids") if "microgrids" in workspace else None,
                layer["villages"],
                preset,
                lang=lang,
            )
            if summarize and "grids" in workspace
            else None
        )
    messages = tuple(
        dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, StandardsWarning))
    )
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return AuditResult(
        preset=preset,
        lang=lang,
        facilities=placed,
        summary=summary,
        grids=grids,
        issues=records.issues,
        messages=messages,
        county_name=workspace.settings.name,
    )
