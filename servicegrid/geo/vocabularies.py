"""Vocabularies: the canonical values of every enumerated column and the words registers use for them.

One :class:`Vocabulary` per enumerated column of the data model (facility ``status``, village,
township and grid ``kind``, candidate ``decision``; facility ``tier`` comes from the standards
preset, which builds its own with :meth:`Vocabulary.from_lookup`). Conforming a layer maps every
synonym to its canonical value; a value no vocabulary knows is an error finding that names the
value, the accepted values and the closest ones, and no stage guesses. Labels are compared after
NFKC normalisation (full-width letters become half-width), case folding and removing spaces,
underscores and hyphens.

Examples
--------
>>> status = VOCABULARIES["facility_status"]
>>> status.normalise(pd.Series(["正常", "暂停使用", None, "under construction"]))[0].tolist()
['existing', 'suspended', 'existing', 'planned']
>>> status.closest("opperating", n=1)
['operating → existing']
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

__all__ = [
    "SERVING_STATUSES",
    "VOCABULARIES",
    "Vocabulary",
    "serving_status",
    "status_breakdown",
    "village_kind",
    "vocabulary_key",
]

_DROP = re.compile(r"[\s_\-]+")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


def vocabulary_key(text: str) -> str:
    """The form labels are compared in: NFKC, case folded, without spaces, underscores, hyphens."""
    return _DROP.sub("", unicodedata.normalize("NFKC", str(text))).casefold()


def _key_only(text: str) -> tuple[str, ...]:
    return (vocabulary_key(text),)


@dataclass(frozen=True)
class Vocabulary:
    """The canonical values of one enumerated column, each with the words that mean it.

    ``blank`` is the canonical value a blank cell takes (``None``: a blank stays blank).
    """

    name: str
    values: Mapping[str, tuple[str, ...]]
    blank: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)  # canonical → label shown to users
    forms: Callable[[str], tuple[str, ...]] = _key_only  # a label's key, then shorter forms to try
    cutoff: float = 0.5  # how close a word must be to be suggested (difflib ratio)
    list_synonyms: bool = True  # messages list synonyms (else each value's label)

    @classmethod
    def from_lookup(
        cls,
        name: str,
        lookup: Mapping[str, str],
        *,
        forms: Callable[[str], tuple[str, ...]],
        labels: Mapping[str, str],
        cutoff: float = 0.5,
    ) -> Vocabulary:
        """A vocabulary from a ready table of label keys → canonical values (the preset's tiers)."""
        values: dict[str, list[str]] = {}
        for label, value in lookup.items():
            values.setdefault(value, []).append(label)
        synonyms = {v: tuple(s) for v, s in values.items()}
        return cls(name, synonyms, forms=forms, labels=labels, cutoff=cutoff, list_synonyms=False)

    @cached_property
    def lookup(self) -> dict[str, str]:
        """Label key → canonical value, for every canonical value and synonym."""
        table: dict[str, str] = {}
        for value, synonyms in self.values.items():
            for word in (value, *synonyms):
                table.setdefault(self.forms(word)[0], value)
        return table

    def find(self, label: str) -> str | None:
        """The canonical value of one label (its key, then its shorter forms), or ``None``."""
        for form in self.forms(label):
            if form in self.lookup:
                return self.lookup[form]
        return None

    def normalise(self, values: pd.Series) -> tuple[pd.Series, np.ndarray]:
        """Canonical values of ``values`` and the mask of values the vocabulary does not know.

        Unknown values come back missing; blanks take :attr:`blank`.
        """
        text = values.astype("string").str.strip()
        blank = (text.isna() | (text == "")).to_numpy()
        distinct = pd.unique(text[~blank].to_numpy(dtype=object))
        mapping = {label: self.find(label) for label in distinct}
        canonical = text.map(mapping).astype("string")
        unknown = ~blank & canonical.isna().to_numpy()
        if self.blank is not None:
            canonical[blank] = self.blank
        return canonical, unknown

    def closest(self, label: str, n: int = 3) -> list[str]:
        """The known words closest to ``label``, each with the value it means ('word → value')."""
        words = {word: value for value, synonyms in self.values.items() for word in (value, *synonyms)}
        keys = {self.forms(word)[0]: word for word in words}
        close = difflib.get_close_matches(self.forms(label)[0], list(keys), n=n, cutoff=self.cutoff)
        return [f"{keys[k]} → {words[keys[k]]}" if keys[k] != words[keys[k]] else keys[k] for k in close]

    def describe(self, *, limit: int = 4) -> str:
        """The accepted values for a message: 'existing (正常, 在用, …), planned (…)'."""
        parts = []
        for value, synonyms in self.values.items():
            if self.list_synonyms:
                shown = ", ".join(synonyms[:limit]) + (", …" if len(synonyms) > limit else "")
            else:
                shown = self.labels.get(value, "")
            parts.append(f"{value} ({shown})" if shown else value)
        return ", ".join(parts) if not self.list_synonyms else "; ".join(parts)

    def unknown_message(self, label: str) -> str:
        """What a finding says about a value the vocabulary does not know."""
        close = self.closest(label)
        hint = f" (closest: {', '.join(close)})" if close else ""
        return f"{self.name} '{label}' is not a known value{hint}; accepted: {self.describe()}"


VOCABULARIES: dict[str, Vocabulary] = {
    "facility_status": Vocabulary(
        "status",
        {
            "existing": _words(
                "正常|在用|运行|运营|已建|现有|启用|开放|使用中|投用|已投用|建成|已建成|existing|operating|open|active|in use|normal|built"
            ),
            "planned": _words(
                "规划|拟建|在建|筹建|待建|计划|计划新建|新建|planned|proposed|under construction|plan"
            ),
            "suspended": _words(
                "暂停使用|暂停|改造中|装修中|维修中|临时关闭|暂停开放|suspended|renovating|under renovation|temporarily closed"
            ),
            "closed": _words(
                "关闭|已关闭|停用|撤销|撤并|已撤并|拆除|已拆除|废弃|closed|closed down|demolished|merged"
            ),
        },
        blank="existing",
        labels={"existing": "现有", "planned": "规划", "suspended": "暂停使用", "closed": "关闭"},
    ),
    "village_kind": Vocabulary(
        "kind",
        {
            "village": _words("行政村|村|农村|村委会|村民委员会|rural|village"),
            "community": _words("社区|城市社区|居委会|居民委员会|社区居委会|urban|community|neighbourhood"),
        },
        labels={"village": "行政村", "community": "社区"},
    ),
    "township_kind": Vocabulary(
        "kind",
        {
            "town": _words("镇|乡|乡镇|民族乡|town|township"),
            "street": _words("街道|街道办|街道办事处|subdistrict|street"),
        },
        labels={"town": "乡镇", "street": "街道"},
    ),
    "grid_kind": Vocabulary(
        "kind",
        {
            "ordinary": _words("综合网格|综合|普通网格|普通|一般网格|基础网格|全科网格|ordinary|general"),
            "dedicated": _words("专属网格|专属|专门网格|dedicated"),
        },
        blank="ordinary",
        labels={"ordinary": "综合网格", "dedicated": "专属网格"},
    ),
    "candidate_decision": Vocabulary(
        "decision",
        {
            "required": _words("必选|必须|必建|保留|required|require|must"),
            "excluded": _words("排除|不选|不用|否决|excluded|exclude"),
        },
        labels={"required": "必选", "excluded": "排除"},
    ),
}

# Facilities that serve residents today; planned ones count too when a stage is asked to.
SERVING_STATUSES = ("existing",)


def serving_status(status: pd.Series, *, include_planned: bool = False) -> np.ndarray:
    """Mask of facilities that serve today (conformed ``status``; blank counts as existing)."""
    serving = (*SERVING_STATUSES, "planned") if include_planned else SERVING_STATUSES
    return status.astype("string").fillna("existing").isin(serving).to_numpy(dtype=bool)


def status_breakdown(status: pd.Series, *, include_planned: bool = False) -> str:
    """'240 counted as serving (existing); left out: 10 planned, 3 suspended, 2 closed'."""
    counts = status.astype("string").fillna("existing").value_counts()
    serving = serving_status(status, include_planned=include_planned)
    kept = ("existing", "planned") if include_planned else ("existing",)
    left = [
        f"{int(counts[v])} {v}" for v in ("planned", "suspended", "closed") if v not in kept and v in counts
    ]
    text = f"{int(serving.sum())} facilities counted as serving ({' and '.join(kept)})"
    return text + (f"; left out: {', '.join(left)}" if left else "")


def village_kind(villages: pd.DataFrame) -> pd.Series:
    """'community' (urban 社区) or 'village' (rural 行政村) per village.

    The ``kind`` column decides (any word of the village-kind vocabulary); where it is blank or
    unknown, a name ending in 社区 or 居委会 makes a community.
    """
    name = (
        villages["name"].astype("string")
        if "name" in villages.columns
        else pd.Series(pd.NA, index=villages.index, dtype="string")
    )
    by_name = (name.str.endswith("社区") | name.str.endswith("居委会")).fillna(False).to_numpy(dtype=bool)
    if "kind" in villages.columns:
        kind, _unknown = VOCABULARIES["village_kind"].normalise(villages["kind"])
        given = kind.notna().to_numpy()
        community = np.where(given, (kind == "community").fillna(False).to_numpy(dtype=bool), by_name)
    else:
        community = by_name
    return pd.Series(np.where(community, "community", "village"), index=villages.index, name="kind")
