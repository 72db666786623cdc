"""The standard of every tier as arrays indexed by tier code, built once per preset.

:func:`requirement_tables` gathers each tier's catalogue items, signs, windows, zones and rooms,
area and hall minimums, hours rules and grading thresholds into arrays, so that the audit
gathers a facility's requirements by its tier code (numpy over facilities, no loop over them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models import Preset
from .records import VOCABULARIES

__all__ = ["RequirementTables", "requirement_tables"]


@dataclass(frozen=True)
class RequirementTables:
    """Requirements of every tier as arrays indexed by tier code."""

    tiers: list[str]
    catalogue: dict[str, list[str]]
    required: dict[str, np.ndarray]  # vocabulary -> (T, K) bool; items: compliance items
    optional: np.ndarray  # (T, I)
    model_items: np.ndarray  # (T, I)
    weights: np.ndarray  # (T, I) weight of each compliance item
    area: dict[str, np.ndarray]  # 'compliant'/'model' -> (T,) float, nan when absent
    hall: dict[str, np.ndarray]
    has_hours: np.ndarray
    schedule_required: np.ndarray
    min_weekdays: np.ndarray
    min_staff: np.ndarray
    weekend_compliant: np.ndarray
    weekend_model: np.ndarray
    min_evenings: np.ndarray
    evening_after: np.ndarray
    min_optional_share: np.ndarray
    min_stars: np.ndarray


def requirement_tables(preset: Preset) -> RequirementTables:
    tiers = list(preset.tiers)
    catalogue = {kind: list(getattr(preset, kind)) for kind in VOCABULARIES}
    col = {kind: {k: j for j, k in enumerate(ids)} for kind, ids in catalogue.items()}
    n_t = len(tiers)
    required = {kind: np.zeros((n_t, len(catalogue[kind])), dtype=bool) for kind in VOCABULARIES}
    optional = np.zeros((n_t, len(catalogue["items"])), dtype=bool)
    model_items = np.zeros_like(optional)
    weights = np.zeros((n_t, len(catalogue["items"])), dtype=float)
    area = {g: np.full(n_t, np.nan) for g in ("compliant", "model")}
    hall = {g: np.full(n_t, np.nan) for g in ("compliant", "model")}
    hours = {
        k: np.zeros(n_t, dtype=int)
        for k in ("has", "sched", "wd", "staff", "we_c", "we_m", "eve", "after", "stars")
    }
    share = np.zeros(n_t)
    for t, tier_id in enumerate(tiers):
        tier = preset.tiers[tier_id]
        for item in tier.compliance_items:
            required["items"][t, col["items"][item]] = True
            weights[t, col["items"][item]] = tier.item_weights.get(item, 1.0)
        for item in tier.optional_items:
            optional[t, col["items"][item]] = True
        for item in tier.model_items:
            model_items[t, col["items"][item]] = True
        for kind in ("windows", "zones", "rooms"):
            for member in getattr(tier, f"required_{kind}"):
                required[kind][t, col[kind][member]] = True
        for grade in ("compliant", "model"):
            figure = getattr(tier.area_min_m2, grade)
            area[grade][t] = np.nan if figure is None else figure.value
            figure = getattr(tier.hall_min_m2, grade)
            hall[grade][t] = np.nan if figure is None else figure.value
        rule = tier.hours
        if rule is not None:
            hours["has"][t] = 1
            hours["sched"][t] = int(rule.schedule_required)
            hours["wd"][t] = rule.min_weekdays_open
            hours["staff"][t] = rule.min_staff
            hours["we_c"][t] = int(rule.weekend_duty == "compliant")
            hours["we_m"][t] = int(rule.weekend_duty in ("compliant", "model"))
            hours["eve"][t] = rule.min_evening_sessions_model
            hours["after"][t] = rule.evening_after_min
        share[t] = tier.grading.min_optional_share.value
        hours["stars"][t] = int(tier.grading.min_stars.value)
    return RequirementTables(
        tiers=tiers,
        catalogue=catalogue,
        required=required,
        optional=optional,
        model_items=model_items,
        weights=weights,
        area=area,
        hall=hall,
        has_hours=hours["has"].astype(bool),
        schedule_required=hours["sched"].astype(bool),
        min_weekdays=hours["wd"],
        min_staff=hours["staff"],
        weekend_compliant=hours["we_c"].astype(bool),
        weekend_model=hours["we_m"].astype(bool),
        min_evenings=hours["eve"],
        evening_after=hours["after"],
        min_optional_share=share,
        min_stars=hours["stars"],
    )
