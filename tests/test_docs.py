"""The documentation tells the truth: the data model doc lists every column and header alias."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicegrid.geo.schema import LAYERS
from servicegrid.geo.vocabularies import VOCABULARIES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("layer", list(LAYERS))
def test_data_model_documents_every_column_and_alias(layer):
    doc = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    section = doc.split(f"### `{layer}`", 1)[1].split("\n### ", 1)[0]
    for column in LAYERS[layer].columns:
        row = next((line for line in section.splitlines() if line.startswith(f"| `{column.name}` |")), None)
        assert row is not None, f"{layer}.{column.name} is not documented"
        for alias in column.aliases:
            assert alias in row, f"{layer}.{column.name}: header alias {alias!r} is not documented"


@pytest.mark.parametrize("name", list(VOCABULARIES))
def test_data_model_documents_every_vocabulary(name):
    doc = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    section = doc.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
    for value, words in VOCABULARIES[name].values.items():
        row = next((line for line in section.splitlines() if line.startswith(f"| `{value}` |")), None)
        assert row is not None, f"{name}: value {value} is not documented"
        assert row == f"| `{value}` | {', '.join(words)} |", f"{name}: the words for {value} differ"


def test_enumerated_columns_name_a_known_vocabulary():
    named = {c.vocabulary for spec in LAYERS.values() for c in spec.columns if c.vocabulary}
    assert named == {*VOCABULARIES, "tier"}


def test_readme_opens_with_the_two_newcomer_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```", 2)[1].splitlines()[1:]
    install_demo, install_test = [line for line in block if line.strip()]
    assert install_demo.startswith("python3 -m venv .venv")
    assert install_demo.endswith("servicegrid demo")
    assert '".[test]"' in install_test
    assert install_test.endswith("pytest -q")
