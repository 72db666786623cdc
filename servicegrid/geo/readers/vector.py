"""Reading vector files: GeoPackage, GeoJSON, KML/KMZ and Shapefile.

Every format goes through GDAL (pyogrio). The glue around it: the encoding of a shapefile's .dbf
without .cpg and of a GeoJSON that is not UTF-8 is detected (:mod:`servicegrid.geo.encoding`);
a GeoPackage's layer is chosen (the only spatial one, or ``source_layer``); KML folders are
combined and the columns the KML driver adds are dropped; a KMZ's main document is read through
GDAL's /vsizip/ so that its ExtendedData fields survive. GDAL's errors become
:class:`~servicegrid.errors.InputError` naming the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors

from ...errors import InputError
from ..encoding import (
    EncodingGuess,
    codec_label,
    detect_dbf_encoding,
    detect_text_encoding,
    normalize_codec,
    sibling,
)

_VECTOR_SUFFIXES = {
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".shp": "Shapefile",
}

# Columns the LIBKML driver adds to every placemark, which carry no planning data.
_KML_NOISE = (
    "id",
    "timestamp",
    "begin",
    "end",
    "altitudeMode",
    "tessellate",
    "extrude",
    "visibility",
    "drawOrder",
    "icon",
    "snippet",
)


def _gdal_message(exc: Exception) -> str:
    return str(exc).split("; It might help", 1)[0].strip()


def _read_ogr(
    path: Path | str, layer: str | None, *, encoding: str | None, kind: str, source: str
) -> gpd.GeoDataFrame:
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding, force_2d=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        msg = f"cannot be read as {kind}; the file may be truncated, corrupt or of another format ({_gdal_message(exc)})"
        raise InputError(msg, source=source) from exc
    except UnicodeDecodeError as exc:
        label = codec_label(encoding) if encoding else "UTF-8"
        msg = f"the file's text is not valid {label}; pass its encoding with --encoding (e.g. gbk or gb18030)"
        raise InputError(msg, source=source) from exc
    return frame


def _read_geojson(
    path: Path, layer: str, notes: list[str], *, encoding: str | None, source: str
) -> gpd.GeoDataFrame:
    """A GeoJSON layer; text that is not UTF-8 (as the standard requires) is detected and reported."""
    if encoding is not None:
        codec = normalize_codec(encoding)
        if codec is None:
            msg = f"unknown encoding {encoding!r}; use e.g. utf-8, gbk, gb18030 or big5"
            raise InputError(msg, source=source)
        notes.append(f"encoding {codec_label(codec)} as given")
        return _read_ogr(path, layer, encoding=codec, kind="GeoJSON", source=source)
    try:
        return pyogrio.read_dataframe(path, layer=layer, force_2d=True)
    except UnicodeDecodeError:
        guess = detect_text_encoding(path.read_bytes(), source=source)
        notes.append(f"{guess.reason} (GeoJSON should be UTF-8; the file is not)")
        return _read_ogr(path, layer, encoding=guess.encoding, kind="GeoJSON", source=source)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
        return _read_ogr(path, layer, encoding=None, kind="GeoJSON", source=source)


def _list_layers(path: Path | str, kind: str, *, source: str) -> np.ndarray:
    try:
        return pyogrio.list_layers(path)
    except pyogrio.errors.DataSourceError as exc:
        msg = f"cannot be read as {kind}; the file may be truncated, corrupt or of another format ({_gdal_message(exc)})"
        raise InputError(msg, source=source) from exc


def _kmz_document(path: Path) -> str:
    """The GDAL path of the main KML document inside a KMZ archive.

    The LIBKML driver reading a .kmz directly drops the placemarks' ExtendedData fields, so the
    main document (``doc.kml``, else the first .kml at the top of the archive) is read through
    GDAL's /vsizip/ file system instead.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            documents = [n for n in archive.namelist() if n.lower().endswith(".kml")]
    except (zipfile.BadZipFile, OSError) as exc:
        msg = f"cannot be read as KMZ: it is not a zip archive (the file may be truncated or corrupt: {exc})"
        raise InputError(msg, source=path.name) from exc
    if not documents:
        msg = "the KMZ archive holds no .kml document"
        raise InputError(msg, source=path.name)
    top = [n for n in documents if "/" not in n]
    main = "doc.kml" if "doc.kml" in documents else (top or documents)[0]
    return f"/vsizip/{path.resolve()}/{main}"


def _read_vector(
    path: Path, suffix: str, notes: list[str], *, source_layer: str | None, encoding: str | None
) -> gpd.GeoDataFrame:
    kind = _VECTOR_SUFFIXES[suffix]
    source = path.name
    if suffix == ".shp":
        if sibling(path, ".dbf") is None:
            msg = (
                f"the shapefile has no {path.stem}.dbf beside it: without its attribute table the "
                "features have no ids, names or households; copy the .dbf (and .prj, .cpg) next to the .shp"
            )
            raise InputError(msg, source=source)
        guess: EncodingGuess | None = detect_dbf_encoding(path, encoding=encoding)
        if guess is not None and guess.reason:
            notes.append(guess.reason)
        return _read_ogr(path, None, encoding=guess.encoding if guess else None, kind=kind, source=source)
    gdal_path: Path | str = _kmz_document(path) if suffix == ".kmz" else path
    layers = _list_layers(gdal_path, kind, source=source)
    names = [str(n) for n in layers[:, 0]] if len(layers) else []
    if suffix in (".kml", ".kmz"):
        return _read_kml(gdal_path, names, notes, source_layer=source_layer, kind=kind, source=source)
    if source_layer is not None:
        if source_layer not in names:
            msg = f"no layer '{source_layer}'; the layers are: {', '.join(names) or '(none)'}"
            raise InputError(msg, source=source)
        chosen = source_layer
    else:
        spatial = [str(n) for n, g in layers if g is not None]
        if not spatial:
            msg = "the file holds no layer with geometry"
            raise InputError(msg, source=source)
        if len(spatial) > 1:
            msg = (
                f"the file holds {len(spatial)} layers: {', '.join(spatial)}; choose one with --source-layer"
            )
            raise InputError(msg, source=source)
        chosen = spatial[0]
        if len(names) > 1:
            notes.append(f"layer '{chosen}' read (the only one with geometry)")
    if kind == "GeoJSON":
        return _read_geojson(path, chosen, notes, encoding=encoding, source=source)
    return _read_ogr(path, chosen, encoding=None, kind=kind, source=source)


def _read_kml(
    path: Path | str, names: list[str], notes: list[str], *, source_layer: str | None, kind: str, source: str
) -> gpd.GeoDataFrame:
    if source_layer is not None and source_layer not in names:
        msg = f"no folder '{source_layer}'; the folders are: {', '.join(names) or '(none)'}"
        raise InputError(msg, source=source)
    chosen = [source_layer] if source_layer is not None else names
    frames = []
    for name in chosen:  # one read per KML folder
        frame = _read_ogr(path, name, encoding=None, kind=kind, source=source)
        if len(frame):
            frames.append(frame.assign(kml_folder=name))
    if not frames:
        msg = "the file holds no placemarks"
        raise InputError(msg, source=source)
    if len(frames) > 1:
        folders = ", ".join(f"'{f['kml_folder'].iloc[0]}' ({len(f)})" for f in frames)
        notes.append(f"{len(frames)} KML folders combined: {folders}")
    combined = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    noise = [c for c in _KML_NOISE if c in combined.columns]
    return combined.drop(columns=noise)
