"""Audit summaries: grades by tier per township and county, and the position-system check.

The position system ("1+1+2+N" in the seeds: one county center, one center per township, a
center in each community, a station in each compound; and a center in each village) is a list of
rules in the preset: at least ``min_count`` existing facilities of a tier in every unit of a
kind. Units come from the townships, villages (communities are villages of kind 'community') and
compounds layers; a facility is counted in the unit its id column names, or else the unit polygon
it lies in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..geo.crs import STORAGE_CRS
from ..geo.vocabularies import VOCABULARIES, village_kind
from ._common import (
    UNASSIGNED,
    check_lang,
    pick,
    with_string_ids,
)
from .loader import load_preset
from .models import GRADES, Lang, Preset

__all__ = ["AuditSummary", "facility_status", "place_facilities", "summarize_audit"]

logger = logging.getLogger(__name__)


_PER_LABEL = {
    "county": ("全县", "county"),
    "township": ("乡镇(街道)", "township"),
    "community": ("社区", "community"),
    "village": ("行政村", "village"),
    "compound": ("小区", "compound"),
}
_PER_KEY = {
    "township": "township_id",
    "community": "village_id",
    "village": "village_id",
    "compound": "compound_id",
}


@dataclass(frozen=True)
class AuditSummary:
    """Counts and rates of an audit, and the position-system check.

    Attributes
    ----------
    facilities
        The facility audit with ``township_id``, ``village_id`` and ``compound_id`` filled by
        spatial join where the register left them blank, and ``status_class``
        ('existing', 'planned', 'suspended', 'closed'); only existing facilities are counted by
        grade, planned and suspended (temporarily out of service) ones are counted apart.
    county
        One row per tier and a total row: counts by grade of existing facilities and rates.
    by_township
        The same per township and tier (long format).
    townships
        One row per township (polygons when the townships layer is given): totals, counts per
        tier and the share of units meeting each position rule.
    positions
        One row per position rule and unit (county, township, community, village, compound):
        facilities of the rule's tier there, how many meet their standard, how many are planned.
    position_summary
        Units and units satisfied per rule, for the county (``township_id`` '') and each township.
    """

    facilities: gpd.GeoDataFrame
    county: pd.DataFrame
    by_township: pd.DataFrame
    townships: gpd.GeoDataFrame
    positions: gpd.GeoDataFrame
    position_summary: pd.DataFrame


def facility_status(values: pd.Series) -> np.ndarray:
    """'existing', 'planned', 'suspended' or 'closed' for status text (the status vocabulary; blank
    is existing, a word it does not know 'unknown', which no count takes)."""
    canonical, unknown = VOCABULARIES["facility_status"].normalise(values)
    return canonical.fillna("unknown").where(~unknown, "unknown").to_numpy(dtype=object)


def _fill_within(points: gpd.GeoDataFrame, column: str, units: gpd.GeoDataFrame | None) -> pd.Series:
    """``points[column]`` with blanks filled by the id of the unit polygon each point lies in."""
    current = (
        points[column].astype("string")
        if column in points.columns
        else pd.Series(pd.NA, index=points.index, dtype="string")
    )
    blank = current.isna() & points.geometry.notna().to_numpy() & ~points.geometry.is_empty.to_numpy()
    if units is None or not blank.any() or units.crs is None or points.crs is None:
        return current
    probe = gpd.GeoDataFrame(geometry=points.geometry[blank].to_crs(units.crs))
    joined = gpd.sjoin(probe, units[["id", units.geometry.name]], predicate="within", how="inner")
    found = joined.loc[~joined.index.duplicated(keep="first"), "id"].astype("string")
    return current.fillna(found.reindex(current.index))


def place_facilities(
    audit: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame | None,
    villages: gpd.GeoDataFrame | None,
    compounds: gpd.GeoDataFrame | None,
) -> gpd.GeoDataFrame:
    """The audited facilities with their compound, village and township ids (blank ones found by
    the polygon each lies in, or through its compound and village; no township: ``UNASSIGNED``)
    and their status class: the per-facility table of :func:`summarize_audit`."""
    townships, villages, compounds = (
        with_string_ids(townships),
        with_string_ids(villages),
        with_string_ids(compounds),
    )
    out = audit.copy()
    out["compound_id"] = _fill_within(out, "compound_id", compounds)
    village = _fill_within(out, "village_id", villages)
    if compounds is not None and "village_id" in compounds.columns:
        via = out["compound_id"].map(compounds.set_index("id")["village_id"].astype("string"))
        village = village.fillna(via.astype("string"))
    out["village_id"] = village
    township = _fill_within(out, "township_id", townships)
    if villages is not None and "township_id" in villages.columns:
        via = out["village_id"].map(villages.set_index("id")["township_id"].astype("string"))
        township = township.fillna(via.astype("string"))
    out["township_id"] = township.fillna(UNASSIGNED)
    status = out["status"] if "status" in out.columns else pd.Series(pd.NA, index=out.index)
    out["status_class"] = facility_status(status)
    return out


def _grade_counts(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    existing = frame[frame["status_class"] == "existing"]
    counts = (
        existing.groupby([*keys, "grade"], dropna=False, observed=True)
        .size()
        .unstack("grade", fill_value=0)
        .reindex(columns=list(GRADES), fill_value=0)
    )
    counts.columns = [f"n_{g}" for g in GRADES]
    others = {
        f"n_{status}": frame[frame["status_class"] == status]
        .groupby(keys, dropna=False, observed=True)
        .size()
        for status in ("planned", "suspended")
    }
    # a tier or township with only planned or suspended facilities still gets its row
    index = counts.index.union(others["n_planned"].index).union(others["n_suspended"].index)
    counts = counts.reindex(index, fill_value=0)
    for name, other in others.items():
        counts[name] = other.reindex(index, fill_value=0).astype(int) if len(index) else 0
    return counts


def _with_rates(counts: pd.DataFrame) -> pd.DataFrame:
    n = counts[[f"n_{g}" for g in GRADES]].sum(axis=1)
    out = counts.assign(n=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["rate_meets"] = np.where(n > 0, (out["n_model"] + out["n_compliant"]) / n.where(n > 0, 1), np.nan)
        out["rate_model"] = np.where(n > 0, out["n_model"] / n.where(n > 0, 1), np.nan)
    order = [
        "n",
        "n_model",
        "n_compliant",
        "n_noncompliant",
        "rate_meets",
        "rate_model",
        "n_planned",
        "n_suspended",
    ]
    return out[order]


def summarize_audit(
    audit: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    *,
    preset: Preset | str = "cn-default",
    lang: Lang = "zh",
    county_name: str = "",
) -> AuditSummary:
    """Counts by township, tier and grade, and the position-system check ("1+1+2+N").

    Only existing facilities count (status blank or anything but planned / closed); planned ones
    are counted apart. A facility whose township, village or compound id is blank is placed by the
    polygon it lies in.

    Parameters
    ----------
    audit
        Output of :func:`audit_facilities`.
    townships, villages, compounds
        The workspace layers (any may be None). Villages whose ``kind`` is 'community' (or whose
        name ends in 社区) are communities.
    preset
        The preset the audit used (for the position rules and labels).
    lang
        Language of the label columns.
    county_name
        Name of the county for the county-level unit.

    Returns
    -------
    AuditSummary
    """
    check_lang(lang)
    preset = load_preset(preset)
    townships, villages, compounds = (
        with_string_ids(townships),
        with_string_ids(villages),
        with_string_ids(compounds),
    )
    fac = place_facilities(audit, townships, villages, compounds)
    tiers = list(preset.tiers)
    tier_label = {t: preset.tiers[t].label(lang) for t in tiers}
    fac_tier = fac.assign(tier=pd.Categorical(fac["tier"], categories=tiers))

    county = _with_rates(_grade_counts(fac_tier, ["tier"]).reindex(tiers, fill_value=0))
    counted = ["n_model", "n_compliant", "n_noncompliant", "n_planned", "n_suspended"]
    total = _with_rates(county[counted].sum().to_frame().T)
    county = pd.concat([county, total.set_axis(["total"])])
    county.insert(0, "tier_label", [*(tier_label[t] for t in tiers), pick(lang, "合计", "Total")])
    county = county.rename_axis("tier").reset_index()

    names = _township_names(townships, fac, lang)
    by_township = _with_rates(_grade_counts(fac_tier, ["township_id", "tier"]))
    by_township = by_township.reset_index()
    by_township["tier"] = by_township["tier"].astype(str)
    by_township.insert(1, "township_name", by_township["township_id"].map(names))
    by_township.insert(3, "tier_label", by_township["tier"].map(tier_label))

    positions = _positions(fac, preset, townships, villages, compounds, lang, county_name)
    position_summary = _position_summary(positions, names, lang)
    wide = _township_layer(townships, names, fac_tier, position_summary, tiers)
    return AuditSummary(
        facilities=fac,
        county=county,
        by_township=by_township,
        townships=wide,
        positions=positions,
        position_summary=position_summary,
    )


def _township_names(townships: gpd.GeoDataFrame | None, fac: pd.DataFrame, lang: Lang) -> dict[str, str]:
    names: dict[str, str] = {}
    if townships is not None:
        label = townships["name"] if "name" in townships.columns else townships["id"]
        names |= dict(
            zip(townships["id"].astype(str), label.fillna(townships["id"]).astype(str), strict=True)
        )
    for tid in fac["township_id"].dropna().astype(str).unique():
        names.setdefault(tid, tid)
    names[UNASSIGNED] = pick(lang, "未归属乡镇", "no township")
    return names


def _units(
    per: str,
    lang: Lang,
    townships: gpd.GeoDataFrame | None,
    villages: gpd.GeoDataFrame | None,
    compounds: gpd.GeoDataFrame | None,
    fac: pd.DataFrame,
    county_name: str,
) -> gpd.GeoDataFrame:
    """The units a position rule counts in: id, name, township_id, geometry (storage CRS)."""
    cols = ["unit_id", "unit_name", "township_id"]

    def frame(src: gpd.GeoDataFrame, township: pd.Series) -> gpd.GeoDataFrame:
        name = src["name"] if "name" in src.columns else src["id"]
        return gpd.GeoDataFrame(
            {"unit_id": src["id"].astype(str), "unit_name": name.astype("string"), "township_id": township},
            geometry=src.geometry.to_crs(STORAGE_CRS).to_numpy(),
            crs=STORAGE_CRS,
        )

    if per == "county":
        geom = [townships.to_crs(STORAGE_CRS).union_all()] if townships is not None else [None]
        return gpd.GeoDataFrame(
            {
                "unit_id": ["county"],
                "unit_name": [county_name or pick(lang, "全县", "county")],
                "township_id": [UNASSIGNED],
            },
            geometry=geom,
            crs=STORAGE_CRS,
        )
    if per == "township":
        if townships is not None:
            return frame(townships, townships["id"].astype(str))
        ids = sorted(set(fac["township_id"].dropna().astype(str)) - {UNASSIGNED})
        return gpd.GeoDataFrame(
            {"unit_id": ids, "unit_name": ids, "township_id": ids},
            geometry=[None] * len(ids),
            crs=STORAGE_CRS,
        )
    if per in ("community", "village"):
        if villages is None:
            return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=STORAGE_CRS)
        chosen = villages[village_kind(villages) == per]
        township = chosen["township_id"].astype("string") if "township_id" in chosen.columns else None
        return frame(chosen, township.fillna(UNASSIGNED) if township is not None else UNASSIGNED)
    if compounds is None:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=STORAGE_CRS)
    village = compounds["village_id"].astype("string") if "village_id" in compounds.columns else None
    township = pd.Series(UNASSIGNED, index=compounds.index, dtype="string")
    if village is not None and villages is not None and "township_id" in villages.columns:
        township = village.map(villages.set_index("id")["township_id"].astype("string")).fillna(UNASSIGNED)
    return frame(compounds, township)


def _positions(
    fac: pd.DataFrame,
    preset: Preset,
    townships: gpd.GeoDataFrame | None,
    villages: gpd.GeoDataFrame | None,
    compounds: gpd.GeoDataFrame | None,
    lang: Lang,
    county_name: str,
) -> gpd.GeoDataFrame:
    parts = []
    for i, rule in enumerate(preset.position_system.rules):
        units = _units(rule.per, lang, townships, villages, compounds, fac, county_name)
        of_tier = fac[fac["tier"] == rule.tier]
        key = _PER_KEY.get(rule.per)
        keys = pd.Series("county", index=of_tier.index) if key is None else of_tier[key].astype("string")
        existing = (of_tier["status_class"] == "existing").to_numpy()
        planned = (of_tier["status_class"] == "planned").to_numpy()
        meets = existing & of_tier["meets_standard"].to_numpy(dtype=bool)
        n = keys[existing].value_counts()
        n_meets = keys[meets].value_counts()
        n_planned = keys[planned].value_counts()
        tier_name = preset.tiers[rule.tier].label(lang)
        per_zh, per_en = _PER_LABEL[rule.per]
        if rule.per == "county":
            label = pick(
                lang, f"全县{rule.min_count}个{tier_name}", f"{rule.min_count} {tier_name} in the county"
            )
        else:
            label = pick(
                lang,
                f"每个{per_zh}{rule.min_count}个{tier_name}",
                f"{rule.min_count} {tier_name} per {per_en}",
            )
        count = units["unit_id"].map(n).fillna(0).astype(int)
        count_meets = units["unit_id"].map(n_meets).fillna(0).astype(int)
        parts.append(
            units.assign(
                rule=i,
                rule_label=label,
                tier=rule.tier,
                per=rule.per,
                min_count=rule.min_count,
                n_facilities=count,
                n_meeting_standard=count_meets,
                n_planned=units["unit_id"].map(n_planned).fillna(0).astype(int),
                ok=count >= rule.min_count,
                ok_standard=count_meets >= rule.min_count,
            )
        )
    if not parts:
        return gpd.GeoDataFrame(geometry=[], crs=STORAGE_CRS)
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)


def _position_summary(positions: gpd.GeoDataFrame, names: dict[str, str], lang: Lang) -> pd.DataFrame:
    if positions.empty:
        return pd.DataFrame(
            columns=["township_id", "township_name", "rule", "rule_label", "tier", "per", "units", "units_ok"]
        )
    keys = ["rule", "rule_label", "tier", "per"]
    frame = pd.DataFrame(positions.drop(columns="geometry"))

    def agg(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
        out = df.groupby(by, sort=True).agg(
            units=("unit_id", "size"),
            units_ok=("ok", "sum"),
            units_meeting_standard=("ok_standard", "sum"),
            n_facilities=("n_facilities", "sum"),
            n_planned=("n_planned", "sum"),
        )
        out["rate_ok"] = out["units_ok"] / out["units"]
        out["rate_meeting_standard"] = out["units_meeting_standard"] / out["units"]
        return out.reset_index()

    county = agg(frame, keys).assign(township_id=UNASSIGNED)
    county["township_name"] = pick(lang, "全县", "county")
    local = agg(frame[frame["per"] != "county"], ["township_id", *keys])
    local["township_name"] = local["township_id"].map(names)
    out = pd.concat([county, local], ignore_index=True)
    first = ["township_id", "township_name", *keys]
    return out[first + [c for c in out.columns if c not in first]]


def _township_layer(
    townships: gpd.GeoDataFrame | None,
    names: dict[str, str],
    fac: pd.DataFrame,
    position_summary: pd.DataFrame,
    tiers: list[str],
) -> gpd.GeoDataFrame:
    totals = _with_rates(_grade_counts(fac, ["township_id"]))
    per_tier = (
        fac[fac["status_class"] == "existing"]
        .groupby(["township_id", "tier"], observed=False)
        .size()
        .unstack("tier", fill_value=0)
        .reindex(columns=tiers, fill_value=0)
        .add_prefix("n_")
    )
    meets = (
        fac[(fac["status_class"] == "existing") & fac["meets_standard"]]
        .groupby(["township_id", "tier"], observed=False)
        .size()
        .unstack("tier", fill_value=0)
        .reindex(columns=tiers, fill_value=0)
        .add_prefix("meets_")
    )
    local = position_summary[position_summary["township_id"] != UNASSIGNED]
    pos = local.pivot_table(index="township_id", columns="tier", values="rate_ok", aggfunc="mean").add_prefix(
        "position_rate_"
    )
    ids = list(townships["id"].astype(str)) if townships is not None else []
    ids += [t for t in names if t not in ids and t != UNASSIGNED]
    if (fac["township_id"] == UNASSIGNED).any():
        ids.append(UNASSIGNED)
    table = pd.DataFrame(index=pd.Index(ids, name="township_id"))
    table = table.join(totals).join(per_tier).join(meets).join(pos)
    counts = [c for c in table.columns if c.startswith(("n_", "meets_")) or c == "n"]
    table[counts] = table[counts].fillna(0).astype(int)
    table.insert(0, "township_name", [names.get(t, t) for t in table.index])
    if townships is not None:
        geom = townships.to_crs(STORAGE_CRS).set_index(townships["id"].astype(str)).geometry
        geometry = geom.reindex(table.index).to_numpy()
        code = (
            townships.set_index(townships["id"].astype(str))["code"] if "code" in townships.columns else None
        )
        if code is not None:
            table.insert(1, "code", code.reindex(table.index).astype("string").to_numpy())
    else:
        geometry = [None] * len(table)
    return gpd.GeoDataFrame(table.reset_index(), geometry=list(geometry), crs=STORAGE_CRS)
