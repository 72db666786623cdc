"""The package layout is the architecture: imports run one way, modules stay small, the CLI starts fast."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "servicegrid"

# What each part may import (besides itself, errors.py, progress.py and the package version).
BELOW = {
    "geo": set(),
    "standards": {"geo"},
    "coverage": {"geo", "standards"},
    "siting": {"geo", "standards", "coverage"},
    "demo": {"geo", "standards"},
    "pipeline": {"geo", "standards", "coverage", "siting", "demo"},
    "maps": {"geo", "standards", "coverage", "siting", "pipeline"},
    "api": {"geo", "standards", "coverage", "siting", "pipeline", "maps"},
    "batch": {"geo", "standards", "coverage", "siting", "pipeline", "maps"},
    "cli": {"geo", "standards", "coverage", "siting", "demo", "pipeline", "maps", "api", "batch"},
}
ANYONE = {"errors", "progress"}


def _part(module: Path) -> str:
    rel = module.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported_parts(module: Path) -> set[tuple[str, int]]:
    """The servicegrid parts ``module`` imports, with the line of each import."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    package = ["servicegrid", *module.relative_to(PACKAGE).parent.parts]
    found = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
            else:
                target = (node.module or "").split(".")
            if target[0] != "servicegrid":
                continue
            names = (
                [".".join([*target, alias.name]) for alias in node.names]
                if len(target) == 1
                else [".".join(target)]
            )
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("servicegrid")]
        for name in names:
            parts = name.split(".")
            if len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in ("__init__.py",))


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(module):
    part = _part(module)
    allowed = set() if part in ANYONE else BELOW[part] | {part}
    wrong = sorted(
        f"line {line}: {part} imports {target}"
        for target, line in _imported_parts(module)
        if target not in allowed | ANYONE | {"__version__"}
    )
    assert not wrong, f"{module.relative_to(PACKAGE)}: " + "; ".join(wrong)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_are_a_few_hundred_lines(module):
    lines = len(module.read_text(encoding="utf-8").splitlines())
    assert lines <= 800, f"{module.relative_to(PACKAGE)} has {lines} lines; split it by what it owns"


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_says_what_it_owns(module):
    tree = ast.parse(module.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{module.relative_to(PACKAGE)} has no module docstring"


def test_the_command_line_starts_without_the_heavy_libraries():
    probe = (
        "import sys, servicegrid.cli; "
        "print(sorted(m for m in ('geopandas', 'scipy', 'highspy', 'shapely', 'pandas', 'dask', 'distributed') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_public_api_is_importable_from_the_top():
    import servicegrid

    for name in servicegrid.__all__:
        assert getattr(servicegrid, name) is not None, name
    from servicegrid import measure_coverage, open_workspace, plan_sites

    # the one way in: the stages come from the pipeline package, not from the engines
    assert open_workspace.__module__ == "servicegrid.pipeline.project"
    assert measure_coverage.__module__ == plan_sites.__module__ == "servicegrid.pipeline.stages"
