"""Running an audit from the command line: audit a workspace, write every export, report the grades.

:func:`run_audit` is what ``servicegrid audit`` calls; the :class:`AuditRun` it returns holds the
result, the files written and the grades-by-tier table for the terminal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.table import Table

from ..geo.workspace import Workspace
from ._common import check_lang, pick
from .audit import AuditResult, audit_workspace
from .export import write_audit
from .headers import _COUNT_SHEET, _h
from .models import Lang, Preset

__all__ = ["AuditRun", "run_audit"]


@dataclass(frozen=True)
class AuditRun:
    """An audit written to disk: the result, the output folder and the files."""

    result: AuditResult
    out_dir: Path
    files: tuple[Path, ...]

    def grades_by_tier(self) -> pd.DataFrame:
        """Existing facilities per tier and grade, plus the total row."""
        return self.result.grades_by_tier()

    def table(self) -> Table:
        """The grades-by-tier table for the terminal (tiers without facilities left out)."""
        lang = self.result.lang
        county = self.grades_by_tier()
        shown = county[(county["n"] > 0) | (county["tier"] == "total")]
        table = Table(title=pick(lang, "评估结果：各层级评级", "Audit: grades by tier"))
        for column in ("tier_label", *_COUNT_SHEET[:4], "rate_meets", "n_planned"):
            table.add_column(_h(column, lang), justify="left" if column == "tier_label" else "right")
        for row in shown.itertuples(index=False):
            rate = "–" if pd.isna(row.rate_meets) else f"{row.rate_meets:.0%}"
            table.add_row(
                str(row.tier_label),
                *(str(int(getattr(row, c))) for c in _COUNT_SHEET[:4]),
                rate,
                str(int(row.n_planned)),
            )
        return table


def run_audit(
    workspace: Workspace,
    *,
    preset: Preset | str | None = None,
    lang: Lang = "zh",
    out_dir: str | os.PathLike[str],
) -> AuditRun:
    """Audit a workspace and write every export; what ``servicegrid audit`` runs.

    Parameters
    ----------
    workspace
        The workspace (:func:`servicegrid.geo.workspace.read_workspace`).
    preset
        Preset, built-in name or YAML path; default ``workspace.settings.preset``.
    lang
        'zh' (default) or 'en' for labels, reasons and headers.
    out_dir
        Output folder.

    Returns
    -------
    AuditRun
        ``run.table()`` is the grades-by-tier summary to print; ``run.files`` the files written.
    """
    check_lang(lang)
    result = audit_workspace(workspace, preset=preset, lang=lang)
    files = write_audit(out_dir, result, lang=lang)
    return AuditRun(result=result, out_dir=Path(out_dir), files=tuple(files))
