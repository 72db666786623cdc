"""Audit exports: the output folder written whole, with the workbooks, CSV, GeoJSON and result layers.

:func:`write_audit` writes, into ``out_dir``::

    townships/<code>_<name>.xlsx   one per township (see :mod:`.workbook`; the id without a code)
    county_summary.xlsx            the county workbook (see :mod:`.workbook`)
    audit.csv                      every facility (UTF-8 with BOM so Excel and WPS read Chinese)
    audit.geojson                  every facility (WGS-84)
    results.gpkg                   layers audit_facilities, audit_townships, audit_positions,
                                   audit_grids, audit_microgrids (other layers of the file kept)

Everything is written into a staging folder beside ``out_dir`` first and moved in at the end, so
a failure leaves ``out_dir`` as it was. ``servicegrid audit`` runs the audit through
:func:`servicegrid.pipeline.audit_layers` and writes it with :func:`write_audit`.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from ..geo.crs import STORAGE_CRS, to_storage
from ..geo.workspace import clean_stale_temps, write_layers
from ._common import UNASSIGNED, check_lang
from .audit import AuditResult
from .headers import _h
from .models import Lang
from .workbook import _county_workbook, _plain, _township_workbook, township_file_names

__all__ = ["write_audit"]

logger = logging.getLogger(__name__)


def _csv(path: Path, result: AuditResult, lang: Lang) -> None:
    facilities = to_storage(result.summarized().facilities)
    frame = pd.DataFrame(facilities.drop(columns=facilities.geometry.name))
    points = facilities.geometry
    is_point = points.notna().to_numpy() & (points.geom_type == "Point").to_numpy()
    frame["lon"] = np.where(is_point, points.x.where(is_point), np.nan)
    frame["lat"] = np.where(is_point, points.y.where(is_point), np.nan)
    frame.rename(columns={c: _h(c, lang) for c in frame.columns}).to_csv(
        path, index=False, encoding="utf-8-sig"
    )


def _geojson(path: Path, result: AuditResult) -> None:
    facilities = to_storage(result.summarized().facilities)
    pyogrio.write_dataframe(facilities, path, driver="GeoJSON", layer_options={"RFC7946": "YES"})


def _layers(result: AuditResult) -> dict[str, object]:
    layers = {
        "audit_facilities": result.summarized().facilities,
        "audit_townships": result.summarized().townships,
        "audit_positions": result.summarized().positions,
    }
    if result.grids is not None:
        layers["audit_grids"] = result.grids.grids
        if len(result.grids.microgrids):
            layers["audit_microgrids"] = result.grids.microgrids
    return {k: (v if v.crs is not None else v.set_crs(STORAGE_CRS)) for k, v in layers.items()}


def write_audit(
    out_dir: str | os.PathLike[str],
    result: AuditResult,
    *,
    lang: Lang | None = None,
    gpkg_name: str = "results.gpkg",
) -> list[Path]:
    """Write the audit workbooks, CSV, GeoJSON and result layers into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing). Other files in it are kept; the
        ``townships`` subfolder is replaced whole.
    result
        Output of :func:`~servicegrid.standards.audit.audit_layers`.
    lang
        Header language; default the language the audit was run in.
    gpkg_name
        Name of the results GeoPackage inside ``out_dir`` (layers it already has are kept).

    Returns
    -------
    list of Path
        The files written, in ``out_dir``.
    """
    lang = lang or result.lang
    check_lang(lang)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(out_dir)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.{os.getpid()}.", dir=out_dir.parent))
    try:
        towns_dir = stage / "townships"
        towns_dir.mkdir()
        townships = result.summarized().townships
        codes = townships["code"] if "code" in townships.columns else pd.Series(None, index=townships.index)
        present = set(result.summarized().facilities["township_id"])
        keep = ~((townships["township_id"] == UNASSIGNED) & ~townships["township_id"].isin(present))
        rows = townships[keep.to_numpy()]
        codes = codes[keep.to_numpy()]
        file_names = township_file_names(
            list(codes), list(rows["township_name"]), list(rows["township_id"]), lang=lang
        )
        for tid, name, code, file_name in zip(
            rows["township_id"], rows["township_name"], codes, file_names, strict=True
        ):
            _township_workbook(towns_dir / file_name, result, tid, _plain(name), _plain(code) or None, lang)
        _county_workbook(stage / "county_summary.xlsx", result, lang)
        _csv(stage / "audit.csv", result, lang)
        _geojson(stage / "audit.geojson", result)
        existing = out_dir / gpkg_name
        if existing.exists():
            shutil.copyfile(existing, stage / gpkg_name)
        write_layers(stage / gpkg_name, _layers(result), description="servicegrid audit")
        written = _move_in(stage, out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    logger.info("wrote %d audit files into %s", len(written), out_dir)
    return written


def _move_in(stage: Path, out_dir: Path) -> list[Path]:
    """Move the staged files into ``out_dir``: the townships folder swapped whole, files replaced."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    old = out_dir / "townships"
    if old.exists():
        os.replace(old, stage / "townships.old")
    os.replace(stage / "townships", old)
    written += sorted(old.iterdir())
    for item in sorted(stage.iterdir()):
        if item.is_file():
            os.replace(item, out_dir / item.name)
            written.append(out_dir / item.name)
    return written
