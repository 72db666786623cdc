"""How facilities record what they have: list columns and yes/no columns, read against a preset.

A facility register says what each facility has in two ways, which may be mixed:

- **list columns** ``items``, ``windows``, ``zones``, ``rooms``: ids or labels separated by
  ``;`` ``；`` ``、`` ``,`` ``，`` ``/`` or ``|`` (``有党旗(国旗)；有制度上墙`` or ``flag; rules_posted``);
- **yes/no columns**, one per entry, headed by its id or label (``有党旗(国旗)``, ``党员服务``,
  ``flag``) with 是/否, 有/无, Y/N, 1/0 or true/false.

An entry is present when either says so. A yes/no ``否`` for an entry the list names is a
contradiction and is reported. Labels are compared after NFKC normalisation (full-width brackets
and letters become half-width), case folding and removing spaces; a label also matches without
its bracketed part and without a leading 有 (``党旗`` finds ``有党旗(国旗)``). Unknown labels are
reported with the closest known ones. Everything is vectorised: one explode, one lookup and one
scatter into a boolean matrix per vocabulary.
"""

from __future__ import annotations

import difflib
import logging
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError, StandardsError
from ..geo.conform import conform, parse_bool, rename_aliases
from ..geo.schema import layer_spec
from .models import Preset, Vocabulary, label_key, label_variants

__all__ = [
    "VOCABULARIES",
    "FacilityRecords",
    "StandardsWarning",
    "conform_facilities",
    "parse_records",
    "resolve_tiers",
]

logger = logging.getLogger(__name__)

VOCABULARIES: tuple[Vocabulary, ...] = ("items", "windows", "zones", "rooms")
_ISSUE_COLUMNS = ["facility_id", "field", "label", "problem", "suggestions"]
_MAX_WARNINGS = 20

# Separators of list text, and a stand-in for separators inside brackets such as 党务(村/居务).
_SPLIT = re.compile(r"\s*[;；、,，/|]\s*")
_BRACKETED = re.compile(r"\(([^()]*)\)")
_KEEP = "\u2215"
_SEPARATORS = "[;；、,，/|]"  # without a whitespace class pandas stays on pyarrow; parts are stripped
_SPLIT_IN_BRACKETS = r"\([^()]*[;；、,，/|][^()]*\)"


class StandardsWarning(UserWarning):
    """Facility data the audit could read only in part: unknown labels, contradictions, gaps."""


@dataclass(frozen=True)
class FacilityRecords:
    """What each facility has, as boolean matrices aligned with the facilities frame.

    Attributes
    ----------
    tier
        Resolved tier id per facility.
    matrices
        For each vocabulary ('items', 'windows', 'zones', 'rooms') a boolean DataFrame, one
        row per facility (same index) and one column per id of the preset's catalogue.
    provided
        For each vocabulary, whether the register has any column recording it.
    issues
        One row per problem: facility_id, field, label, problem ('unknown' or
        'contradiction') and suggestions.
    """

    tier: pd.Series
    matrices: dict[str, pd.DataFrame]
    provided: dict[str, bool]
    issues: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_ISSUE_COLUMNS))

    def __getitem__(self, kind: str) -> pd.DataFrame:
        return self.matrices[kind]


def resolve_tiers(
    values: pd.Series, preset: Preset, *, ids: pd.Series | None = None, strict: bool = True
) -> pd.Series:
    """Tier ids for tier ids or names (``村``, ``社区党群服务中心``, ``红扁担驿站`` …).

    With ``strict=False`` unknown and blank tiers come back as missing values instead.

    Raises
    ------
    StandardsError
        Naming the facilities whose tier is blank or unknown, the closest tiers and the valid ones.

    Examples
    --------
    >>> from servicegrid.standards.loader import load_preset
    >>> resolve_tiers(pd.Series(["村", "红扁担驿站", "town_center"]), load_preset("cn-default")).tolist()
    ['village_center', 'compound_station', 'town_center']
    """
    ids = ids if ids is not None else pd.Series(values.index.astype(str), index=values.index)
    resolved = _resolve(values, preset.tier_lookup)
    bad = resolved.isna()
    if bad.any() and strict:
        valid = ", ".join(f"{k} ({t.zh})" for k, t in preset.tiers.items())
        shown = pd.DataFrame({"id": ids[bad].astype(str), "tier": values[bad].astype("string")})
        parts = []
        for label, group in shown.fillna({"tier": ""}).groupby("tier", sort=False):
            who = _first(group["id"].tolist())
            if label == "":
                parts.append(f"blank tier for facility {who}")
                continue
            close = preset.tier_vocabulary.closest(label)
            hint = f" (closest: {', '.join(close)})" if close else ""
            parts.append(f"unknown tier '{label}' for facility {who}{hint}")
        msg = f"facilities: {'; '.join(parts)}. Valid tiers: {valid}"
        raise StandardsError(msg)
    return resolved.astype("string").rename("tier")


def parse_records(facilities: pd.DataFrame, preset: Preset, *, source: str | None = None) -> FacilityRecords:
    """Read what each facility has into boolean matrices (facility × id) for every vocabulary.

    Parameters
    ----------
    facilities
        The facilities layer (raw register columns are conformed first, so Chinese headers
        such as 层级 and 窗口 are understood).
    preset
        The preset whose catalogues give the ids and labels.
    source
        File name for error messages.

    Returns
    -------
    FacilityRecords
        Tiers, matrices and the problems found; each problem is also issued as a
        :class:`StandardsWarning`.

    Raises
    ------
    StandardsError
        For a blank or unknown tier.
    InputError
        For a yes/no column holding a value that is not yes/no.
    """
    frame = conform_facilities(facilities, source=source)
    ids = frame["id"].astype("string")
    tier = resolve_tiers(frame["tier"], preset, ids=ids)
    canonical = set(layer_spec("facilities").column_names) | {frame.geometry.name}
    yes_no = _yes_no_columns([c for c in frame.columns if c not in canonical], preset)
    matrices: dict[str, pd.DataFrame] = {}
    provided: dict[str, bool] = {}
    issues: list[pd.DataFrame] = []
    for kind in VOCABULARIES:
        catalogue = list(getattr(preset, kind))
        listed = np.zeros((len(frame), len(catalogue)), dtype=bool)
        has_list = kind in frame.columns
        if has_list:
            listed, unknown = _list_matrix(frame[kind], preset, kind)
            issues.append(_unknown_issues(unknown, ids, preset, kind))
        present = listed.copy()
        columns = [(c, key) for c, k, key in yes_no if k == kind]
        read = []
        for column, key in columns:
            try:
                answer = parse_bool(frame[column], source=source, layer="facilities", field=column)
            except InputError:
                if not _any_yes_no(frame[column]):
                    warnings.warn(
                        f"facilities: column '{column}' names {kind[:-1]} {key} but holds no yes/no values; ignored",
                        StandardsWarning,
                        stacklevel=2,
                    )
                    continue
                raise
            read.append(column)
            j = catalogue.index(key)
            said_yes = answer.eq(True).fillna(False).to_numpy(dtype=bool)
            said_no = answer.eq(False).fillna(False).to_numpy(dtype=bool)
            clash = said_no & listed[:, j]
            if clash.any():
                issues.append(
                    pd.DataFrame(
                        {
                            "facility_id": ids.to_numpy()[clash],
                            "field": column,
                            "label": getattr(preset, kind)[key].zh,
                            "problem": "contradiction",
                            "suggestions": f"column '{column}' says no but '{kind}' lists it; counted as present",
                        }
                    )
                )
            present[:, j] |= said_yes
        provided[kind] = has_list or bool(read)
        matrices[kind] = pd.DataFrame(present, index=frame.index, columns=catalogue)
    table = (
        pd.concat([i for i in issues if len(i)], ignore_index=True) if any(len(i) for i in issues) else None
    )
    table = table if table is not None else pd.DataFrame(columns=_ISSUE_COLUMNS)
    _warn(table)
    return FacilityRecords(tier=tier, matrices=matrices, provided=provided, issues=table)


# -- internals -----------------------------------------------------------------------------------------


def conform_facilities(facilities: pd.DataFrame, *, source: str | None = None) -> pd.DataFrame:
    """:func:`~servicegrid.geo.schema.conform` for the facilities layer, list columns left as text.

    Headers are renamed and numbers and yes/no values parsed as ``conform`` does; the list
    columns (items, windows, zones, rooms) are kept as they are, since :func:`parse_records`
    splits them itself (faster, and without splitting labels such as 党务(村/居务)公开栏).
    """
    spec = layer_spec("facilities")
    renamed = rename_aliases(facilities, spec)
    lists = [c for c in VOCABULARIES if c in renamed.columns]
    core = conform(renamed.drop(columns=lists), "facilities", source=source)
    return core.assign(**{c: renamed[c].astype("string").to_numpy() for c in lists})


def _lookup_one(label: str, table: dict[str, str]) -> str | None:
    """The id of one label: its key, then its shorter forms (without brackets, without 有)."""
    for form in label_variants(label):
        if form in table:
            return table[form]
    return None


def _resolve(labels: pd.Series, table: dict[str, str]) -> pd.Series:
    """Ids for labels (NA where unknown), looking up each distinct label once."""
    codes, uniques = pd.factorize(labels.astype("string"), use_na_sentinel=True)
    found = np.array([_lookup_one(str(u), table) for u in uniques] + [None], dtype=object)
    return pd.Series(found[codes], index=labels.index, dtype="string")


def _protect_brackets(text: pd.Series) -> pd.Series:
    """Separators inside brackets (党务(村/居务)) replaced by a stand-in so they do not split."""
    has = text.str.contains(_SPLIT_IN_BRACKETS, regex=True).fillna(False).to_numpy(dtype=bool)
    if not has.any():
        return text
    out = text.copy()
    out[has] = text[has].str.replace(
        _BRACKETED, lambda m: "(" + _SPLIT.sub(_KEEP, m.group(1)) + ")", regex=True
    )
    return out


def _list_matrix(values: pd.Series, preset: Preset, kind: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Boolean matrix (facility × catalogue id) of a list column, and the unknown entries."""
    catalogue = list(getattr(preset, kind))
    text = pd.Series(values.to_numpy(dtype=object), index=np.arange(len(values))).astype("string")
    text = _protect_brackets(text.str.normalize("NFKC"))
    parts = text.str.replace(_SEPARATORS, ";", regex=True).str.split(";").explode()
    parts = parts.str.strip()
    parts = parts[parts.notna() & (parts != "")].str.replace(_KEEP, "/", regex=False)
    found = _resolve(parts, preset.lookups[kind])
    matrix = np.zeros((len(values), len(catalogue)), dtype=bool)
    hit = found.notna().to_numpy()
    codes = found[hit].map({k: i for i, k in enumerate(catalogue)}).to_numpy(dtype=np.int64)
    matrix[parts.index.to_numpy()[hit], codes] = True
    unknown = pd.DataFrame({"row": parts.index[~hit], "label": parts[~hit].to_numpy()})
    return matrix, unknown


def _any_yes_no(values: pd.Series) -> bool:
    """Whether any distinct value of a column reads as yes or no."""
    for value in values.dropna().astype(str).str.strip().unique():
        try:
            parse_bool(pd.Series([value]), source=None, layer="facilities", field="")
        except InputError:
            continue
        if value:
            return True
    return False


def _yes_no_columns(columns: list[object], preset: Preset) -> list[tuple[str, str, str]]:
    """(column, vocabulary, id) for every extra column whose header names a catalogue entry."""
    out = []
    for column in columns:
        for kind in VOCABULARIES:
            table = preset.lookups[kind]
            key = next((table[v] for v in label_variants(str(column)) if v in table), None)
            if key is not None:
                out.append((str(column), kind, key))
                break
    return out


def _unknown_issues(unknown: pd.DataFrame, ids: pd.Series, preset: Preset, kind: str) -> pd.DataFrame:
    if unknown.empty:
        return pd.DataFrame(columns=_ISSUE_COLUMNS)
    catalogue = getattr(preset, kind)
    names = {label_key(t.zh): f"{t.zh} [{k}]" for k, t in catalogue.items()}
    names.update({label_key(a): f"{t.zh} [{k}]" for k, t in catalogue.items() for a in t.aliases})
    names.update({k: f"{t.zh} [{k}]" for k, t in catalogue.items()})
    distinct = unknown["label"].drop_duplicates()
    suggestions = {
        label: ", ".join(
            dict.fromkeys(names[c] for c in difflib.get_close_matches(label_key(label), list(names), 3, 0.4))
        )
        for label in distinct
    }
    return pd.DataFrame(
        {
            "facility_id": ids.to_numpy()[unknown["row"].to_numpy()],
            "field": kind,
            "label": unknown["label"].to_numpy(),
            "problem": "unknown",
            "suggestions": unknown["label"].map(suggestions).to_numpy(),
        }
    )


def _warn(issues: pd.DataFrame) -> None:
    if issues.empty:
        return
    grouped = issues.groupby(["problem", "field", "label"], sort=False)
    for n, ((problem, column, label), group) in enumerate(grouped):
        if n == _MAX_WARNINGS:
            rest = grouped.ngroups - _MAX_WARNINGS
            warnings.warn(
                f"facilities: {rest} more problem label(s) not shown", StandardsWarning, stacklevel=3
            )
            break
        who = _first(group["facility_id"].astype(str).tolist())
        if problem == "unknown":
            hint = group["suggestions"].iloc[0]
            close = f"; closest known: {hint}" if hint else "; no close match"
            text = f"facilities, field '{column}': unknown {column[:-1]} '{label}' (facility {who}){close}"
        else:
            text = f"facilities, field '{column}': {group['suggestions'].iloc[0]} (facility {who})"
        warnings.warn(text, StandardsWarning, stacklevel=3)


def _first(values: list[str], n: int = 5) -> str:
    shown = ", ".join(values[:n])
    return shown if len(values) <= n else f"{shown} and {len(values) - n} more"
