"""Finding, reading, merging and validating standards presets.

A preset is a YAML file: a built-in name (``cn-default``, a file in ``presets/``) or a path. A
file may ``extends`` another preset (a name, looked up beside the file first and then among the
built-in presets, or a relative path). Inheritance is a deep override: mappings merge key by
key, while lists and ``{value, source}`` figures are replaced whole, so a county that changes a
number must give its source again. A preset that cannot be read, extends a missing preset,
extends itself in a cycle or fails validation is refused with a :class:`StandardsError` naming
the file, the field path and, where the YAML says so, the line.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import StandardsError
from .models import Preset, PresetProblems

__all__ = [
    "PRESET_DIR",
    "PresetInfo",
    "check_preset",
    "list_presets",
    "load_preset",
    "resolve_preset_path",
]

logger = logging.getLogger(__name__)

PRESET_DIR = Path(__file__).resolve().parent / "presets"
"""Where the built-in presets live."""

_SUFFIXES = (".yaml", ".yml")
MAX_PRESET_BYTES = 1_000_000
"""Largest preset file read (the built-in cn-default is about 20 kB)."""
MAX_ALIASES = 100
"""Most YAML aliases (``*name``) a preset may use: a handful serve for shared defaults."""
MAX_NODES = 100_000
"""Most YAML nodes a preset may expand to, aliases expanded (cn-default has a few thousand)."""
_YAMLLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CHECK_TAGS = {"flag", "number", "set"}


@dataclass(frozen=True)
class PresetInfo:
    """A built-in preset as listed by :func:`list_presets`."""

    name: str
    path: Path
    zh: str
    en: str
    extends: str | None


@dataclass(frozen=True)
class _Layer:
    """One file of an inheritance chain: its path, raw mapping and YAML node tree."""

    path: Path
    data: dict[str, Any]
    node: yaml.Node


def list_presets() -> list[PresetInfo]:
    """The built-in presets, by name.

    Examples
    --------
    >>> [p.name for p in list_presets()][:1]
    ['cn-default']
    """
    out = []
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        layer = _read(path)
        out.append(
            PresetInfo(
                name=path.stem,
                path=path,
                zh=str(layer.data.get("zh", "")),
                en=str(layer.data.get("en", "")),
                extends=layer.data.get("extends"),
            )
        )
    return out


def resolve_preset_path(name_or_path: str | os.PathLike[str], *, relative_to: Path | None = None) -> Path:
    """The file of a preset given by built-in name or by path.

    A value with a YAML suffix or a path separator is a path (relative to ``relative_to`` when
    given and the file exists there); anything else is a name, looked up beside ``relative_to``
    first and then among the built-in presets.

    Raises
    ------
    StandardsError
        When no such preset exists; the message lists the built-in presets.
    """
    text = os.fspath(name_or_path)
    is_path = text.endswith(_SUFFIXES) or "/" in text or os.sep in text
    candidates: list[Path] = []
    if is_path:
        path = Path(text).expanduser()
        if not path.is_absolute() and relative_to is not None:
            candidates.append(relative_to / path)
        candidates.append(path)
    else:
        if relative_to is not None:
            candidates += [relative_to / f"{text}{s}" for s in _SUFFIXES]
        candidates += [PRESET_DIR / f"{text}{s}" for s in _SUFFIXES]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    names = ", ".join(p.stem for p in sorted(PRESET_DIR.glob("*.yaml")))
    looked = ", ".join(str(c) for c in dict.fromkeys(candidates))
    msg = (
        f"preset '{text}' not found (looked for {looked}); built-in presets are: {names}; "
        "or give the path of a preset YAML file"
    )
    raise StandardsError(msg)


def load_preset(name_or_path: str | os.PathLike[str] | Preset) -> Preset:
    """Load, merge and validate a preset.

    Parameters
    ----------
    name_or_path
        A built-in preset name (``"cn-default"``), the path of a YAML file, or a Preset (returned
        as it is).

    Raises
    ------
    StandardsError
        Naming the file, field path, line and problem when the preset cannot be used.

    Examples
    --------
    >>> preset = load_preset("cn-default")
    >>> preset.tiers["village_center"].area_min_m2.compliant.value
    200.0
    """
    if isinstance(name_or_path, Preset):
        return name_or_path
    path = resolve_preset_path(name_or_path)
    chain = _chain(path, ())
    merged: dict[str, Any] = {}
    for layer in chain:
        merged = _merge(merged, {k: v for k, v in layer.data.items() if k != "id"})
    top = chain[-1]
    merged["id"] = top.data.get("id", path.stem)
    merged["extends"] = top.data.get("extends")
    try:
        preset = Preset.model_validate(merged)
    except ValidationError as exc:
        raise StandardsError(_describe(exc, chain)) from None
    logger.info("loaded preset %s from %s", preset.id, path)
    return preset


def check_preset(path: str | os.PathLike[str]) -> Preset:
    """Validate the preset file at ``path`` (and what it extends) and return it.

    This is what ``servicegrid standards check FILE`` runs.

    Raises
    ------
    StandardsError
        When the file is missing or the preset is invalid.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such preset file"
        raise StandardsError(msg)
    return load_preset(path)


# -- reading and merging ----------------------------------------------------------------------------


def _read(path: Path) -> _Layer:
    size = path.stat().st_size
    if size > MAX_PRESET_BYTES:
        msg = f"{path}: {size:,} bytes is too large for a preset (at most {MAX_PRESET_BYTES:,})"
        raise StandardsError(msg)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        msg = f"{path}: not UTF-8 text ({exc.reason}); save the preset as UTF-8"
        raise StandardsError(msg) from None
    loader = _YAMLLoader(text)
    try:
        node = loader.get_single_node()
        _check_expansion(path, node)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        msg = f"{path}{where}: not valid YAML ({problem})"
        raise StandardsError(msg) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        msg = f"{path}: a preset must be a YAML mapping (id, zh, en, items, tiers, …)"
        raise StandardsError(msg)
    return _Layer(path=path, data=data, node=node)


def _check_expansion(path: Path, root: yaml.Node | None) -> None:
    """Refuse a document whose aliases expand beyond :data:`MAX_NODES` or number more than
    :data:`MAX_ALIASES` (an alias bomb), before anything is built from it.

    A node reached twice is an alias; the expanded size is counted once per node (memoised), so
    this takes time in the number of distinct nodes however large the expansion would be.
    """
    if root is None:
        return
    size: dict[int, int] = {}
    seen: set[int] = set()
    aliases = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            size[key] = 1 + sum(size.get(id(c), 1) for c in children)
            continue
        if key in seen:
            if key not in size:
                msg = (
                    f"{path}, line {node.start_mark.line + 1}: a YAML alias refers to the value it is inside"
                )
                raise StandardsError(msg)
            aliases += 1
            if aliases > MAX_ALIASES:
                msg = f"{path}: more than {MAX_ALIASES} YAML aliases (*name); write the values out"
                raise StandardsError(msg)
            continue
        seen.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children)
    if size.get(id(root), 1) > MAX_NODES:
        msg = (
            f"{path}: the YAML expands to {size[id(root)]:,} values through its aliases (at most "
            f"{MAX_NODES:,}); write the values out"
        )
        raise StandardsError(msg)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _chain(path: Path, seen: tuple[Path, ...]) -> list[_Layer]:
    """The inheritance chain of ``path``, root first."""
    if path in seen:
        cycle = " -> ".join(p.name for p in (*seen, path))
        msg = f"{seen[-1]}: extends: inheritance cycle {cycle}; remove one 'extends'"
        raise StandardsError(msg)
    layer = _read(path)
    parent = layer.data.get("extends")
    if parent is None:
        return [layer]
    if not isinstance(parent, str) or not parent.strip():
        msg = f"{path}: extends: must be a preset name or a path, got {parent!r}"
        raise StandardsError(msg)
    try:
        parent_path = resolve_preset_path(parent.strip(), relative_to=path.parent)
    except StandardsError as exc:
        msg = f"{path}, line {_line(layer.node, ('extends',))}: extends: {exc}"
        raise StandardsError(msg) from None
    return [*_chain(parent_path, (*seen, path)), layer]


def _is_figure(value: object) -> bool:
    return isinstance(value, dict) and ("value" in value or {"min", "max"} <= value.keys())


def _merge(base: Any, override: Any) -> Any:
    """``override`` laid over ``base``: mappings merge, everything else (and figures) replaces."""
    if isinstance(base, dict) and isinstance(override, dict) and not _is_figure(override):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base[key], value) if key in base else value
        return out
    return override


# -- error messages ---------------------------------------------------------------------------------


def _describe(exc: ValidationError, chain: list[_Layer]) -> str:
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for error in exc.errors():
        cause = (error.get("ctx") or {}).get("error")
        loc = tuple(error["loc"])
        if isinstance(cause, PresetProblems):
            problems += [((*loc, *p), m) for p, m in cause.problems]
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] not in ("missing", "extra_forbidden") and not isinstance(error.get("input"), dict):
            message += f" (got {error.get('input')!r})"
        problems.append((_clean_loc(loc), message))
    top = chain[-1].path
    lines = [f"{top}: invalid standards preset ({len(problems)} problem(s))"]
    for loc, message in problems:
        where = _where(loc, chain)
        lines.append(f"  - {_dotted(loc)}{where}: {message}")
    return "\n".join(lines)


def _clean_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """A pydantic location without the check-kind tag and validator names.

    ``items.staff.check.number.minimum`` becomes ``items.staff.check.minimum``.
    """
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (
            part.startswith("function-") or (out[-1:] == ["check"] and part in _CHECK_TAGS)
        ):
            continue
        out.append(part)
    return tuple(out)


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _where(loc: tuple[str | int, ...], chain: list[_Layer]) -> str:
    """' (file, line N)' of the most specific file that sets ``loc`` or its nearest parent."""
    for depth in range(len(loc), 0, -1):
        for layer in reversed(chain):
            line = _line(layer.node, loc[:depth])
            if line is not None:
                return f" ({layer.path.name}, line {line})"
    return ""


def _line(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    """1-based line of the YAML node at ``loc``, or None when the file does not set it."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if str(k.value) == str(part)]
            if not match:
                return None
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return None
    return None if node is None else node.start_mark.line + 1
