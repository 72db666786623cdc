"""Conforming: turning a layer as a register or a GIS file gives it into the data model's types.

:func:`conform_layer` renames Chinese and English header aliases to the canonical column names,
reads numbers that arrive as text (``约400``, ``１２００户`` with full-width digits, ``1,200``,
``30万元``), yes/no words, list text and ids, maps enumerated columns to their canonical values
(:mod:`servicegrid.geo.vocabularies`) and returns the frame together with a finding for every
value it could not read — it never stops at the first one. A value that cannot be read becomes
blank in the frame and an error finding naming the layer, id, row, field, the value and what was
expected. :func:`conform` is the strict form the importers use: it raises one
:class:`~servicegrid.errors.InputError` that names every bad column at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError
from .findings import concat_findings, findings, no_findings
from .schema import ColumnSpec, LayerSpec, layer_spec
from .vocabularies import VOCABULARIES, Vocabulary

__all__ = [
    "Conformed",
    "alias_conflicts",
    "conform",
    "conform_layer",
    "normalise_header",
    "parse_bool",
    "parse_number",
    "rename_aliases",
    "split_list",
]

_LIST_SPLIT = re.compile(r"(?:\s*[;；、,，|]\s*)+")
_TRUE = {"1", "y", "yes", "true", "t", "是", "有", "√", "✓", "✔", "对"}
_FALSE = {"0", "n", "no", "false", "f", "否", "无", "没有", "×", "✗", "x", "-"}
# Registers write "no value" in many ways; these are blanks, not numbers gone wrong.
_PLACEHOLDERS = {
    "-",
    "--",
    "—",
    "——",
    "–",
    "/",
    "\\",
    "无",
    "暂无",
    "未知",
    "不详",
    "n/a",
    "na",
    "null",
    "none",
}
_NUMBER = re.compile(
    r"^(?P<approx>约为|大约|约计|约|近)?"
    r"(?P<value>[-+]?\d+(?:\.\d*)?|[-+]?\.\d+)"
    r"(?P<wan>万)?(?P<more>余|多)?"
    r"(?:m2|平方米|平米|平|户|人|元|个|间|次|名)?"
    r"(?P<about>左右)?$",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # what Excel (and openpyxl) refuse
_BRACKETED = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")
_HEADER_DROP = re.compile(r"[\s_\-()（）\[\]【】]")


def normalise_header(text: object) -> str:
    """A header as it is compared with the aliases: NFKC, bracketed remarks such as the unit in
    ``户数(户)`` or ``面积（㎡）`` dropped, no spaces, underscores or hyphens, case folded.

    Examples
    --------
    >>> [normalise_header(h) for h in ("户数(户)", "人口（人）", "面积(㎡)", " Floor_Area ")]
    ['户数', '人口', '面积', 'floorarea']
    """
    plain = unicodedata.normalize("NFKC", str(text))
    dropped = _BRACKETED.sub("", plain)
    return _HEADER_DROP.sub("", dropped if dropped.strip() else plain).casefold()


def rename_aliases(frame: pd.DataFrame, spec: LayerSpec) -> pd.DataFrame:
    """``frame`` with alias headers renamed to canonical names; unknown columns kept as they are.

    When several headers mean one column (``户数`` and ``总户数``), the canonical name wins, then
    the alias listed first in the data model; the others are kept under their own headers (and
    :func:`conform_layer` reports them, see :func:`alias_conflicts`).
    """
    renames = {}
    for target, headers in _alias_groups(frame.columns, spec).items():
        if headers[0] != target:
            renames[headers[0]] = target
    return frame.rename(columns=renames)


def alias_conflicts(columns: Iterable[object], spec: LayerSpec) -> dict[str, list[str]]:
    """Canonical columns that more than one header of ``columns`` means, with those headers
    (the one used first).

    Examples
    --------
    >>> from servicegrid.geo.schema import layer_spec
    >>> alias_conflicts(["名称", "户数", "总户数(户)"], layer_spec("compounds"))
    {'households': ['户数', '总户数(户)']}
    """
    return {k: v for k, v in _alias_groups(columns, spec).items() if len(v) > 1}


def _alias_groups(columns: Iterable[object], spec: LayerSpec) -> dict[str, list[str]]:
    """Headers of ``columns`` by the canonical column they mean, in order of precedence."""
    rank: dict[str, tuple[str, int]] = {}
    for col in spec.columns:
        for i, alias in enumerate((col.name, *col.aliases)):
            rank.setdefault(normalise_header(alias), (col.name, i))
    groups: dict[str, list[tuple[int, int, str]]] = {}
    for order, column in enumerate(columns):
        if column == "geometry":
            continue
        exact = column in spec.column_names
        target, i = (column, -1) if exact else rank.get(normalise_header(column), (None, 0))
        if target is not None:
            groups.setdefault(str(target), []).append((i, order, str(column)))
    return {target: [c for _i, _o, c in sorted(found)] for target, found in groups.items()}


@dataclass(frozen=True)
class _Parsed:
    """Values read from one column, and what went wrong with which rows."""

    values: pd.Series
    bad: np.ndarray  # rows that cannot be read: an error each
    message: np.ndarray  # per bad row, what is wrong with it
    approximate: np.ndarray  # rows read from an approximate value (约400): a warning each


def _text(values: pd.Series) -> pd.Series:
    """Text of ``values``, NFKC-normalised (full-width digits and letters become half-width)."""
    text = values.astype("string")
    distinct = pd.unique(text.dropna().to_numpy(dtype=object))
    mapping = {v: unicodedata.normalize("NFKC", v).strip() for v in distinct}
    return text.map(mapping).astype("string")


def _numbers(values: pd.Series, *, whole: bool, unit: str) -> _Parsed:
    n = len(values)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        number = values.astype(float)
        bad = np.zeros(n, dtype=bool)
        approximate = np.zeros(n, dtype=bool)
    else:
        text = _text(values).str.replace(",", "", regex=False).str.replace(" ", "", regex=False)
        blank = (text.isna() | (text == "") | text.str.casefold().isin(_PLACEHOLDERS)).to_numpy(dtype=bool)
        parts = text.str.extract(_NUMBER)
        bad = ~blank & parts["value"].isna().to_numpy()
        number = pd.to_numeric(parts["value"], errors="coerce").astype(float)
        wan = parts["wan"].notna().to_numpy()
        number = number.where(~wan, number * 10_000)
        approximate = (
            ~blank & (parts["approx"].notna() | parts["more"].notna() | parts["about"].notna()).to_numpy()
        )
    message = np.full(n, "", dtype=object)
    message[bad] = [f"{v!r} is not a number" for v in values.to_numpy(dtype=object)[bad]]
    if whole:
        fraction = np.isfinite(number.to_numpy()) & (number.to_numpy() != np.round(number.to_numpy()))
        if fraction.any():
            message[fraction] = [
                f"{v:g} is not a whole number{f' of {unit}' if unit else ''}" for v in number[fraction]
            ]
            bad = bad | fraction
    return _Parsed(number.where(~bad), bad, message, approximate & ~bad)


def _bools(values: pd.Series) -> _Parsed:
    n = len(values)
    if pd.api.types.is_bool_dtype(values):
        none = np.zeros(n, dtype=bool)
        return _Parsed(values.astype("boolean"), none, np.full(n, "", dtype=object), none)
    text = _text(values).str.casefold()
    blank = (text.isna() | (text == "")).to_numpy()
    is_true = text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)
    bad = ~blank & ~is_true & ~is_false
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[is_true] = True
    out[is_false] = False
    message = np.full(n, "", dtype=object)
    message[bad] = [
        f"{v!r} is not yes/no (use 是/否, 有/无, Y/N, 1/0)" for v in values.to_numpy(dtype=object)[bad]
    ]
    return _Parsed(out, bad, message, np.zeros(n, dtype=bool))


def _terms(values: pd.Series, vocabulary: Vocabulary) -> _Parsed:
    canonical, unknown = vocabulary.normalise(values)
    message = np.full(len(values), "", dtype=object)
    raw = values.astype("string").str.strip().to_numpy(dtype=object)
    cache: dict[str, str] = {}
    for i in np.flatnonzero(unknown):
        label = raw[i]
        if label not in cache:
            cache[label] = vocabulary.unknown_message(label)
        message[i] = cache[label]
    return _Parsed(canonical, unknown, message, np.zeros(len(values), dtype=bool))


def parse_number(
    values: pd.Series, *, source: str | None, layer: str, field: str, header: str | None = None
) -> pd.Series:
    """Numbers from a column that may hold text such as '300平方米', '1,200' or '30万元'.

    Raises
    ------
    InputError
        Naming the first row whose value is not a number.
    """
    parsed = _numbers(values, whole=False, unit="")
    _raise_first(parsed, source=source, layer=layer, field=field, header=header)
    return parsed.values


def parse_bool(
    values: pd.Series, *, source: str | None, layer: str, field: str, header: str | None = None
) -> pd.Series:
    """Booleans from 是/否, 有/无, Y/N, 1/0, true/false (blank stays missing)."""
    parsed = _bools(values)
    _raise_first(parsed, source=source, layer=layer, field=field, header=header)
    return parsed.values


def _raise_first(parsed: _Parsed, **where: str | None) -> None:
    if parsed.bad.any():
        pos = int(np.flatnonzero(parsed.bad)[0])
        raise InputError(str(parsed.message[pos]), row=pos + 1, **where)


def split_list(values: pd.Series) -> pd.Series:
    """Normalised list text: entries separated by '; ' whatever the separators were.

    '/' is not a separator: labels such as 有党务(村/居务)公开栏 contain it.
    """
    text = (
        values.astype("string")
        .str.replace(_LIST_SPLIT, "; ", regex=True)
        .str.strip()
        .str.strip(";")
        .str.strip()
    )
    return text.replace("", pd.NA)


def _as_text(values: pd.Series) -> pd.Series:
    """Text with integral floats shown without '.0' (ids read from Excel come as 101.0)."""
    if pd.api.types.is_float_dtype(values):
        whole = values.notna() & (values == np.floor(values))
        text = values.astype("string")
        text[whole.to_numpy()] = values[whole].astype("int64").astype("string")
        return text.str.strip()
    return values.astype("string").str.strip().replace("", pd.NA)


@dataclass(frozen=True)
class Conformed:
    """A layer in the data model's types, and a finding for every value that could not be read."""

    frame: gpd.GeoDataFrame
    findings: pd.DataFrame


def conform_layer(
    frame: gpd.GeoDataFrame,
    layer: str,
    *,
    id_prefix: str | None = None,
    vocabularies: Mapping[str, Vocabulary] | None = None,
) -> Conformed:
    """``frame`` with canonical column names and types for ``layer``, and its findings.

    Alias headers are renamed, numbers and yes/no values parsed, list columns normalised,
    enumerated columns mapped to their canonical values (``vocabularies`` adds or replaces
    vocabularies by name, e.g. ``{"tier": ...}`` from the standards preset; a column whose
    vocabulary is not available is kept as text), ids made text, and a missing ``id``
    generated from the row order (``<id_prefix><row>``). Columns the data model does not know
    are kept unchanged. Conforming a conformed frame changes nothing and finds nothing.
    """
    spec = layer_spec(layer)
    known = {**VOCABULARIES, **(vocabularies or {})}
    renamed = rename_aliases(frame, spec)
    ids = _as_text(renamed["id"]) if "id" in renamed.columns else pd.Series(pd.NA, index=frame.index)
    renamed, stripped = _strip_control(renamed, spec, ids)
    columns: dict[str, pd.Series] = {}
    found = [no_findings(), stripped, _conflict_findings(frame.columns, spec)]
    for col in spec.columns:
        if col.name not in renamed.columns:
            continue
        values = renamed[col.name]
        parsed = _parse(values, col, known)
        if parsed is None:
            if col.kind == "list":
                columns[col.name] = split_list(values)
            elif col.name in ("id", "code") or col.references is not None:
                columns[col.name] = _text(_as_text(values)).replace("", pd.NA)  # ids: full-width digits too
            else:
                columns[col.name] = _as_text(values)
            continue
        columns[col.name] = parsed.values
        found.append(_column_findings(parsed, values, spec, col, ids))
    out = renamed.assign(**columns)
    if "id" not in out.columns or out["id"].isna().all():
        prefix = id_prefix if id_prefix is not None else f"{spec.name[:1].upper()}"
        out["id"] = pd.array([f"{prefix}{i + 1}" for i in range(len(out))], dtype="string")
    ordered = [c for c in spec.column_names if c in out.columns]
    rest = [c for c in out.columns if c not in ordered and c != out.geometry.name]
    return Conformed(out[[*ordered, *rest, out.geometry.name]], concat_findings(found))


def _conflict_findings(columns: Iterable[object], spec: LayerSpec) -> pd.DataFrame:
    """Two headers meaning one column: an error for values (which one holds the households?), a
    warning for ids and parent ids (a register's 序号 beside its 编号, a parent's name beside its
    code), where the first in the data model's order is used."""
    out = [no_findings()]
    for target, headers in alias_conflicts(columns, spec).items():
        col = spec.column(target)
        named = " and ".join(f"'{h}'" for h in headers)
        named += " both" if len(headers) == 2 else " all"
        if col.name == "id" or col.references is not None:
            severity, message = "warning", f"columns {named} mean {target}; '{headers[0]}' is used"
        else:
            severity = "error"
            message = f"columns {named} mean {target}; keep one of them (delete or rename the others)"
        out.append(findings(severity, spec.name, "duplicate_column", message, field=target))
    return concat_findings(out)


def _strip_control(
    frame: gpd.GeoDataFrame, spec: LayerSpec, ids: pd.Series
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Text cells with control characters (which Excel and openpyxl refuse) stripped, a warning each."""
    columns: dict[str, pd.Series] = {}
    found = [no_findings()]
    for name in frame.columns:
        values = frame[name]
        if name == frame.geometry.name or not (
            pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
        ):
            continue
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "mixed", "mixed-integer"):
            continue
        has = values.str.contains(_CONTROL, regex=True, na=False).to_numpy(dtype=bool)
        if not has.any():
            continue
        columns[name] = values.where(~has, values.str.replace(_CONTROL, "", regex=True))
        codes = (
            values[has]
            .str.findall(_CONTROL)
            .map(lambda cs: ", ".join(f"U+{ord(c):04X}" for c in sorted(set(cs))))
        )
        found.append(
            findings(
                "warning",
                spec.name,
                "control_characters",
                [
                    f"control character(s) {c} removed; Excel and GIS programs cannot store them"
                    for c in codes
                ],
                ids=ids.to_numpy(dtype=object)[has],
                rows=np.flatnonzero(has) + 1,
                field=str(name),
            )
        )
    return (frame.assign(**columns) if columns else frame), concat_findings(found)


def _parse(values: pd.Series, col: ColumnSpec, known: Mapping[str, Vocabulary]) -> _Parsed | None:
    """The column read by its kind, or ``None`` for plain text and list columns."""
    if col.kind in ("int", "float"):
        parsed = _numbers(values, whole=col.kind == "int", unit=col.unit)
        if col.kind == "int":
            rounded = parsed.values.round().astype("Int64")
            return _Parsed(rounded, parsed.bad, parsed.message, parsed.approximate)
        return parsed
    if col.kind == "bool":
        return _bools(values)
    if col.vocabulary is not None and col.vocabulary in known:
        return _terms(values, known[col.vocabulary])
    return None


def _column_findings(
    parsed: _Parsed, raw: pd.Series, spec: LayerSpec, col: ColumnSpec, ids: pd.Series
) -> pd.DataFrame:
    """One finding per bad value (error) and per approximate one (warning)."""
    parts = []
    rows = np.arange(1, len(parsed.bad) + 1)
    id_values = ids.to_numpy(dtype=object)
    if parsed.bad.any():
        parts.append(
            findings(
                "error",
                spec.name,
                "wrong_type" if col.vocabulary is None else f"unknown_{col.name}",
                parsed.message[parsed.bad],
                ids=id_values[parsed.bad],
                rows=rows[parsed.bad],
                field=col.name,
            )
        )
    if parsed.approximate.any():
        pairs = zip(
            raw.to_numpy(dtype=object)[parsed.approximate],
            parsed.values.to_numpy(dtype=object)[parsed.approximate],
            strict=True,
        )
        parts.append(
            findings(
                "warning",
                spec.name,
                "approximate_value",
                [f"approximate value {r!r} read as {v}" for r, v in pairs],
                ids=id_values[parsed.approximate],
                rows=rows[parsed.approximate],
                field=col.name,
            )
        )
    return concat_findings(parts)


def conform(
    frame: gpd.GeoDataFrame,
    layer: str,
    *,
    source: str | None = None,
    id_prefix: str | None = None,
    vocabularies: Mapping[str, Vocabulary] | None = None,
    notes: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """:func:`conform_layer` for importers: the conformed frame, or one error naming every bad column.

    Warnings (approximate values, control characters stripped) are added to ``notes``, one per
    field and kind, with the rows.

    Raises
    ------
    InputError
        Located at the first bad value (source, layer, row, field as the file heads it), with
        the count of bad values in that column and the first bad value of every other column.
    """
    out = conform_layer(frame, layer, id_prefix=id_prefix, vocabularies=vocabularies)
    errors = out.findings[out.findings["severity"] == "error"]
    if notes is not None:
        notes.extend(_warning_notes(out.findings[out.findings["severity"] == "warning"]))
    if len(errors) == 0:
        return out.frame
    spec = layer_spec(layer)
    header = {new: old for new, old in zip(rename_aliases(frame, spec).columns, frame.columns, strict=True)}
    by_field = errors.groupby("field", sort=False)
    first = errors.iloc[0]
    column_level = pd.isna(first["row"])
    message = str(first["message"])
    if not column_level:
        message += f" ({_counted(errors[errors['field'] == first['field']], ' in this column')})"
    others = [
        f"field '{header.get(f, f)}'{_at_row(group['row'].iloc[0])}: {group['message'].iloc[0]}"
        + (f" ({_counted(group, '')})" if len(group) > 1 else "")
        for f, group in by_field
        if f != first["field"]
    ]
    if others:
        message += "; also " + "; ".join(others)
    raise InputError(
        message,
        source=source,
        layer=spec.name,
        row=None if column_level else int(first["row"]),
        field=None if column_level else str(first["field"]),
        header=None if column_level else header.get(first["field"], first["field"]),
    )


def _counted(group: pd.DataFrame, where: str) -> str:
    """How many values of one column are bad like the first (``'abc' is not a number``), and how
    many are bad otherwise (a fraction among the words)."""
    kinds = group["message"].astype(str).str.split(" is not ", n=1).str[-1]
    same = int((kinds == kinds.iloc[0]).sum())
    other = len(group) - same
    return f"{same} such value(s){where}" + (f", and {other} other bad value(s)" if other else "")


def _at_row(row: object) -> str:
    return "" if pd.isna(row) else f" row {int(row)}"


def _warning_notes(found: pd.DataFrame) -> list[str]:
    """One sentence per (field, check) of warning findings: the first message and the rows."""
    out = []
    for (field, _check), group in found.groupby(["field", "check"], sort=False, dropna=False):
        rows = group["row"].dropna().astype(int).tolist()
        shown = ", ".join(map(str, rows[:10])) + (" …" if len(rows) > 10 else "")
        out.append(f"field '{field}': {group['message'].iloc[0]} ({len(group)} value(s); rows {shown})")
    return out
