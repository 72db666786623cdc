"""The schema of a standards preset: frozen pydantic models for tiers, items, grids and costs.

A preset is data (``presets/*.yaml``, read by :mod:`servicegrid.standards.loader`); these models
say what a preset may contain and refuse anything else. Every threshold is a :class:`Figure`
(or a :class:`Band`) that names its ``source``: a key of the preset's ``sources`` table (a
document from ``standards-reference.md`` or one of the seed documents), or one of the reserved
words ``seed`` and ``default``. Cross-references (an item id used by a tier, a tier used by the
position system, a source key) are checked when the preset is built, and every problem is
reported with its field path, e.g. ``tiers.village_center.required_items[3]``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterator
from functools import cached_property
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from ..geo import vocabularies

__all__ = [
    "ADMIN_LEVELS",
    "DEMAND_UNITS",
    "GRADES",
    "NUMBER_COLUMNS",
    "RESERVED_SOURCES",
    "SET_COLUMNS",
    "AdminLevel",
    "AreaRule",
    "Band",
    "DemandUnit",
    "Figure",
    "FlagCheck",
    "GradeId",
    "GradingRule",
    "GridRules",
    "HoursRule",
    "ItemDef",
    "Lang",
    "NumberCheck",
    "PositionRule",
    "PositionSystem",
    "Preset",
    "PresetProblems",
    "Scoring",
    "SetCheck",
    "SignageRule",
    "SourceDoc",
    "Term",
    "Tier",
    "UpgradeCosts",
    "Vocabulary",
    "WindowDef",
    "label_key",
    "label_variants",
]

Lang = Literal["zh", "en"]
GradeId = Literal["model", "compliant", "noncompliant"]
GRADES: tuple[GradeId, ...] = get_args(GradeId)
AdminLevel = Literal["county", "township", "village", "community", "compound", "institution", "any"]
ADMIN_LEVELS: tuple[str, ...] = get_args(AdminLevel)
DemandUnit = Literal["compounds", "settlements", "villages", "communities", "grids", "townships", "county"]
DEMAND_UNITS: tuple[str, ...] = get_args(DemandUnit)
SetColumn = Literal["windows", "zones", "rooms"]
SET_COLUMNS: tuple[str, ...] = get_args(SetColumn)
NumberColumn = Literal["staff", "floor_area_m2", "hall_area_m2", "evening_sessions_per_week"]
NUMBER_COLUMNS: tuple[str, ...] = get_args(NumberColumn)
Vocabulary = Literal["items", "windows", "zones", "rooms"]
PerUnit = Literal["county", "township", "community", "village", "compound"]
SourceStatus = Literal["C", "S", "R", "I", "SEED"]

RESERVED_SOURCES = ("seed", "default")
"""Source words every preset accepts: the seed documents as a whole, and a default of servicegrid."""

Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceDoc(_Model):
    """A document a threshold comes from."""

    title: Text
    url: str | None = None
    status: SourceStatus = Field(
        description="C confirmed, S secondary, R unconfirmed, I inferred, SEED seed."
    )
    note: str | None = None


class Figure(_Model):
    """A non-negative number with the source it comes from."""

    value: float = Field(ge=0, allow_inf_nan=False)
    source: Text
    note: str | None = None


class Band(_Model):
    """A range ``[min, max]`` with its source."""

    min: float = Field(ge=0, allow_inf_nan=False)
    max: float = Field(ge=0, allow_inf_nan=False)
    source: Text
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.min > self.max:
            msg = f"min {self.min:g} is larger than max {self.max:g}"
            raise ValueError(msg)
        return self


class Term(_Model):
    """An entry of a vocabulary: its Chinese and English labels and other names it goes by."""

    zh: Text
    en: Text
    aliases: tuple[Text, ...] = ()
    source: Text = "default"
    note: str | None = None

    def label(self, lang: Lang) -> str:
        """The label in ``lang``."""
        return self.zh if lang == "zh" else self.en


class FlagCheck(_Model):
    """Present when the facility lists the item (list column or yes/no column)."""

    kind: Literal["flag"] = "flag"


class NumberCheck(_Model):
    """Present when a numeric facility column reaches ``minimum``; the listed flag decides when blank."""

    kind: Literal["number"]
    column: NumberColumn
    minimum: Figure


class SetCheck(_Model):
    """Present when a set column contains ``members`` (default: the tier's required members)."""

    kind: Literal["set"]
    column: SetColumn
    members: tuple[Ident, ...] | None = None


ItemCheck = Annotated[FlagCheck | NumberCheck | SetCheck, Field(discriminator="kind")]


class ItemDef(Term):
    """A checklist item (one of the 'haves') and how it is checked."""

    check: ItemCheck = FlagCheck()


class WindowDef(Term):
    """A service window (窗口); ``ab_post`` marks a window staffed by an A/B post pair."""

    ab_post: bool = False


MAX_AREA_M2 = 100_000
"""Largest floor-area minimum a preset may set (the data model's own limit for floor areas)."""


class AreaRule(_Model):
    """Minimum area for the compliant and for the model grade (either may be absent)."""

    compliant: Figure | None = None
    model: Figure | None = None

    @field_validator("compliant", "model")
    @classmethod
    def _sane_area(cls, figure: Figure | None) -> Figure | None:
        if figure is not None and figure.value > MAX_AREA_M2:
            msg = f"{figure.value:g} m² is more than any service position has (at most {MAX_AREA_M2:,} m²)"
            raise ValueError(msg)
        return figure

    @model_validator(mode="after")
    def _model_not_below_compliant(self) -> AreaRule:
        if self.compliant is not None and self.model is not None and self.model.value < self.compliant.value:
            msg = (
                f"model minimum {self.model.value:g} m² is below the compliant minimum "
                f"{self.compliant.value:g} m²"
            )
            raise ValueError(msg)
        return self


class SignageRule(_Model):
    """Sign items required for the compliant grade and, in addition, for the model grade."""

    required: tuple[Ident, ...] = ()
    model: tuple[Ident, ...] = ()
    source: Text = "default"
    note: str | None = None


class HoursRule(_Model):
    """Opening-hours and duty rules (坐班值班, 5+2, 白+黑).

    ``schedule_required``: an ``opening_hours`` schedule must be recorded.
    ``min_weekdays_open``: Monday–Friday days with opening hours in the schedule.
    ``min_staff``: staff on duty on a working day. ``weekend_duty``: which grade needs weekend
    and holiday duty. ``min_evening_sessions_model``: evening or off-hours sessions a week the
    model grade needs. ``evening_after``: a schedule interval ending after this time counts as an
    evening session on that day.
    """

    source: Text
    note: str | None = None
    schedule_required: bool = True
    min_weekdays_open: int = Field(0, ge=0, le=5)
    min_staff: int = Field(0, ge=0)
    weekend_duty: Literal["none", "compliant", "model"] = "none"
    min_evening_sessions_model: int = Field(0, ge=0, le=14)
    evening_after: ClockTime = "18:30"

    @property
    def evening_after_min(self) -> int:
        """``evening_after`` in minutes after midnight."""
        hours, minutes = self.evening_after.split(":")
        return int(hours) * 60 + int(minutes)


class GradingRule(_Model):
    """What the model grade needs beyond the compliant grade and the model-level thresholds."""

    min_optional_share: Figure = Figure(value=0.75, source="default")
    min_stars: Figure = Figure(value=7, source="default")

    @model_validator(mode="after")
    def _share(self) -> GradingRule:
        if self.min_optional_share.value > 1:
            msg = f"min_optional_share {self.min_optional_share.value:g} is a share and must be at most 1"
            raise ValueError(msg)
        return self


class Tier(_Model):
    """One tier of service position and its construction standard."""

    zh: Text
    en: Text
    aliases: tuple[Text, ...] = ()
    level: int = Field(ge=1, le=9, description="1 county … 5 below compound; lower is higher.")
    admin_level: AdminLevel
    standard_set: Term | None = None
    required_items: tuple[Ident, ...] = ()
    optional_items: tuple[Ident, ...] = ()
    signage: SignageRule = SignageRule()
    area_min_m2: AreaRule = AreaRule()
    hall_min_m2: AreaRule = AreaRule()
    required_windows: tuple[Ident, ...] = ()
    required_zones: tuple[Ident, ...] = ()
    required_rooms: tuple[Ident, ...] = ()
    hours: HoursRule | None = None
    serves: tuple[DemandUnit, ...] = ()
    walk_radius_m: Figure | None = None
    partial_radius_m: Figure | None = None
    drive_minutes: Figure | None = None

    @field_validator("walk_radius_m", "partial_radius_m")
    @classmethod
    def _positive_radius(cls, figure: Figure | None) -> Figure | None:
        if figure is not None and figure.value <= 0:
            msg = f"a walking radius of {figure.value:g} m reaches nobody; give a positive number of metres"
            raise ValueError(msg)
        return figure

    stand_ins: tuple[Ident, ...] = ()
    grading: GradingRule = GradingRule()
    item_weights: dict[Ident, float] = Field(default_factory=dict)
    new_build_cost: Figure | None = None
    source: Text = "default"

    def label(self, lang: Lang) -> str:
        """The tier name in ``lang``."""
        return self.zh if lang == "zh" else self.en

    @property
    def compliance_items(self) -> tuple[str, ...]:
        """Items the compliant grade needs: the required items and the required signs."""
        return tuple(dict.fromkeys((*self.required_items, *self.signage.required)))

    @property
    def model_items(self) -> tuple[str, ...]:
        """Sign items only the model grade needs."""
        return tuple(i for i in self.signage.model if i not in self.compliance_items)


class Scoring(_Model):
    """Points and stars: ten points a star and ten stars at most (the ten-star model).

    ``groups`` splits the points the "532" way: ``basic`` for the compliance items, ``function``
    for area, hall, windows, zones, rooms and hours, ``extra`` for optional items and the model
    thresholds. Groups that a tier has nothing to check in are left out and the rest rescaled.
    """

    points_per_star: Figure
    max_stars: int = Field(10, ge=1, le=100)
    basic: Figure
    function: Figure
    extra: Figure

    @property
    def max_points(self) -> float:
        """Points for the full number of stars."""
        return self.points_per_star.value * self.max_stars

    @model_validator(mode="after")
    def _groups_add_up(self) -> Scoring:
        total = self.basic.value + self.function.value + self.extra.value
        if self.points_per_star.value <= 0:
            msg = "points_per_star must be positive"
            raise ValueError(msg)
        if abs(total - self.max_points) > 1e-9:
            msg = (
                f"basic + function + extra = {total:g} points but points_per_star × max_stars = "
                f"{self.max_points:g}; make them equal"
            )
            raise ValueError(msg)
        return self


class GridRules(_Model):
    """Grid sizes and staffing (网格, 微网格 十户联网, 网格员)."""

    urban_households: Band
    rural_households: Band
    max_population: Figure | None = None
    min_grid_workers: Figure
    microgrid_households: Band
    microgrid_target_households: Figure
    nesting_min_share: Figure
    hierarchy: tuple[Text, ...] = ()

    @model_validator(mode="after")
    def _share(self) -> GridRules:
        if self.nesting_min_share.value > 1:
            msg = f"nesting_min_share {self.nesting_min_share.value:g} is a share and must be at most 1"
            raise ValueError(msg)
        return self


class PositionRule(_Model):
    """At least ``min_count`` existing facilities of ``tier`` in every unit of kind ``per``."""

    tier: Ident
    per: PerUnit
    min_count: int = Field(1, ge=1)
    source: Text = "seed"


class PositionSystem(_Model):
    """The position system ("1+1+2+N": county, township, community centers, compound stations)."""

    zh: Text
    en: Text
    source: Text = "seed"
    rules: tuple[PositionRule, ...] = ()


class UpgradeCosts(_Model):
    """Default costs of bringing a facility up to the compliant grade (used by siting)."""

    currency: Text = "CNY"
    per_missing_item: Figure
    per_m2_shortfall: Figure
    per_missing_window: Figure
    per_missing_zone: Figure
    per_missing_room: Figure
    item_overrides: dict[Ident, Figure] = Field(default_factory=dict)


class PresetProblems(ValueError):
    """Cross-reference problems of a preset, each with its field path."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{_dotted(p)}: {m}" for p, m in problems))


class Preset(_Model):
    """A standards preset: vocabularies, tiers, grading, grids, the position system and costs."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    version: Text = "0.1.0"
    zh: Text
    en: Text
    description: str = ""
    extends: str | None = None
    sources: dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]*$")], SourceDoc] = Field(
        default_factory=dict
    )
    grades: dict[GradeId, Term]
    items: dict[Ident, ItemDef]
    windows: dict[Ident, WindowDef] = Field(default_factory=dict)
    zones: dict[Ident, Term] = Field(default_factory=dict)
    rooms: dict[Ident, Term] = Field(default_factory=dict)
    tiers: dict[Ident, Tier]
    scoring: Scoring
    walk_speed_m_per_min: Figure
    position_system: PositionSystem
    grids: GridRules
    upgrade_costs: UpgradeCosts

    @model_validator(mode="after")
    def _cross_references(self) -> Preset:
        problems = list(_cross_problems(self))
        if problems:
            raise PresetProblems(problems)
        return self

    # -- lookups ---------------------------------------------------------------------------------

    def label(self, kind: Vocabulary | Literal["tiers", "grades"], key: str, lang: Lang) -> str:
        """The label of ``key`` in the catalogue ``kind``."""
        table = getattr(self, kind)
        return table[key].label(lang)

    @cached_property
    def tier_lookup(self) -> dict[str, str]:
        """Normalised tier names (id, zh, en, aliases and their variants) → tier id."""
        return _lookup({k: (k, t.zh, t.en, *t.aliases) for k, t in self.tiers.items()})

    @cached_property
    def tier_vocabulary(self) -> vocabularies.Vocabulary:
        """The tiers as the vocabulary of the ``tier`` column: ids, names, aliases and their variants."""
        return vocabularies.Vocabulary.from_lookup(
            "tier",
            self.tier_lookup,
            forms=label_variants,
            labels={k: t.zh for k, t in self.tiers.items()},
            cutoff=0.3,
        )

    @cached_property
    def lookups(self) -> dict[str, dict[str, str]]:
        """For each vocabulary, normalised label → id."""
        return {
            kind: _lookup({k: (k, t.zh, t.en, *t.aliases) for k, t in getattr(self, kind).items()})
            for kind in get_args(Vocabulary)
        }


# -- label normalisation -----------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_PAREN_CONTENT = re.compile(r"\([^()]*\)")
_PAREN_CHARS = re.compile(r"[()]")


def label_key(text: str) -> str:
    """The form labels are compared in: NFKC (full-width to half-width), casefolded, no spaces.

    Examples
    --------
    >>> label_key("有党旗（国旗）")
    '有党旗(国旗)'
    >>> label_key(" Party Room ")
    'partyroom'
    """
    return _SPACE.sub("", unicodedata.normalize("NFKC", str(text)).casefold())


def label_variants(text: str) -> tuple[str, ...]:
    """A label's key and the shorter forms people write: without the bracketed part, without 有.

    Examples
    --------
    >>> label_variants("有党旗(国旗)")
    ('有党旗(国旗)', '有党旗', '有党旗国旗', '党旗(国旗)', '党旗', '党旗国旗')
    """
    key = label_key(text)
    forms = [key, _PAREN_CONTENT.sub("", key), _PAREN_CHARS.sub("", key)]
    forms += [f[1:] for f in forms if f.startswith("有") and len(f) > 1]
    return tuple(dict.fromkeys(f for f in forms if f))


def _lookup(names: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Label → id. Exact keys first; a shortened variant that two ids share is left out."""
    exact: dict[str, str] = {}
    for key, labels in names.items():
        for text in labels:
            exact.setdefault(label_key(text), key)
    derived: dict[str, set[str]] = {}
    for key, labels in names.items():
        for text in labels:
            for form in label_variants(text)[1:]:
                derived.setdefault(form, set()).add(key)
    out = dict(exact)
    for form, keys in derived.items():
        if form not in out and len(keys) == 1:
            out[form] = next(iter(keys))
    return out


# -- cross-reference checks ------------------------------------------------------------------------


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _walk_figures(obj: object, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, source) of every Figure, Band and sourced entry below ``obj``."""
    if isinstance(obj, Figure | Band | SourceDoc):
        if not isinstance(obj, SourceDoc):
            yield (*path, "source"), obj.source
        return
    if isinstance(obj, BaseModel):
        source = getattr(obj, "source", None)
        if "source" in type(obj).model_fields and isinstance(source, str):
            yield (*path, "source"), source
        for name in type(obj).model_fields:
            yield from _walk_figures(getattr(obj, name), (*path, name))
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _walk_figures(value, (*path, key))
    elif isinstance(obj, tuple):
        for i, value in enumerate(obj):
            yield from _walk_figures(value, (*path, i))


def _cross_problems(p: Preset) -> Iterator[tuple[tuple[str | int, ...], str]]:
    known_sources = set(p.sources) | set(RESERVED_SOURCES)
    for path, source in _walk_figures(p, ()):
        if path and path[0] == "sources":
            continue
        if source not in known_sources:
            yield (
                path,
                (
                    f"unknown source '{source}'; add it to the 'sources' table or use one of: "
                    f"{', '.join(sorted(known_sources))}"
                ),
            )
    vocab = {kind: getattr(p, kind) for kind in get_args(Vocabulary)}
    for item_id, item in p.items.items():
        check = item.check
        if isinstance(check, SetCheck) and check.members is not None:
            for i, member in enumerate(check.members):
                if member not in vocab[check.column]:
                    yield ("items", item_id, "check", "members", i), _unknown(check.column, member, vocab)
    for tier_id, tier in p.tiers.items():
        base: tuple[str | int, ...] = ("tiers", tier_id)
        for field in ("required_items", "optional_items"):
            for i, item_id in enumerate(getattr(tier, field)):
                if item_id not in p.items:
                    yield (*base, field, i), _unknown("items", item_id, vocab)
        for field in ("required", "model"):
            for i, item_id in enumerate(getattr(tier.signage, field)):
                if item_id not in p.items:
                    yield (*base, "signage", field, i), _unknown("items", item_id, vocab)
        both = set(tier.required_items) & set(tier.optional_items)
        if both:
            yield (*base, "optional_items"), f"{', '.join(sorted(both))} also in required_items"
        for column in SET_COLUMNS:
            for i, member in enumerate(getattr(tier, f"required_{column}")):
                if member not in vocab[column]:
                    yield (*base, f"required_{column}", i), _unknown(column, member, vocab)
        for key, weight in tier.item_weights.items():
            if key not in p.items:
                yield (*base, "item_weights", key), _unknown("items", key, vocab)
            elif weight <= 0:
                yield (*base, "item_weights", key), f"weight {weight:g} must be positive"
        for i, other in enumerate(tier.stand_ins):
            if other not in p.tiers:
                yield (*base, "stand_ins", i), f"unknown tier '{other}'; tiers are: {', '.join(p.tiers)}"
            elif p.tiers[other].level >= tier.level:
                yield (
                    (*base, "stand_ins", i),
                    (
                        f"'{other}' (level {p.tiers[other].level}) is not a higher tier than "
                        f"'{tier_id}' (level {tier.level}); only higher tiers may stand in"
                    ),
                )
        if tier.partial_radius_m is not None and tier.walk_radius_m is None:
            yield (*base, "partial_radius_m"), "set walk_radius_m too (partial_radius_m extends it)"
        if (
            tier.partial_radius_m is not None
            and tier.walk_radius_m is not None
            and tier.partial_radius_m.value < tier.walk_radius_m.value
        ):
            yield (
                (*base, "partial_radius_m", "value"),
                (
                    f"{tier.partial_radius_m.value:g} m is shorter than walk_radius_m "
                    f"{tier.walk_radius_m.value:g} m"
                ),
            )
    yield from _alias_clashes(p)
    for i, rule in enumerate(p.position_system.rules):
        if rule.tier not in p.tiers:
            yield (
                ("position_system", "rules", i, "tier"),
                (f"unknown tier '{rule.tier}'; tiers are: {', '.join(p.tiers)}"),
            )
    for key in p.upgrade_costs.item_overrides:
        if key not in p.items:
            yield ("upgrade_costs", "item_overrides", key), _unknown("items", key, vocab)
    missing_grades = [g for g in GRADES if g not in p.grades]
    if missing_grades:
        yield ("grades",), f"labels missing for grade(s): {', '.join(missing_grades)}"


def _unknown(kind: str, key: str, vocab: dict[str, dict[str, Term]]) -> str:
    close = difflib.get_close_matches(key, list(vocab[kind]), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown {kind[:-1]} id '{key}' (not in the '{kind}' catalogue){hint}"


def _alias_clashes(p: Preset) -> Iterator[tuple[tuple[str | int, ...], str]]:
    seen: dict[str, str] = {}
    for tier_id, tier in p.tiers.items():
        for j, text in enumerate((tier_id, tier.zh, tier.en, *tier.aliases)):
            key = label_key(text)
            other = seen.setdefault(key, tier_id)
            if other != tier_id:
                where: tuple[str | int, ...] = (
                    ("tiers", tier_id, "aliases", j - 3) if j >= 3 else ("tiers", tier_id)
                )
                yield where, f"name '{text}' already names tier '{other}'; a name must resolve to one tier"
