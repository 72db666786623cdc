"""Saving walking networks to disk, and loading them through a cache that is never stale.

:func:`write_network` and :func:`read_network` store a :class:`~.network.StreetNetwork` as one
uncompressed ``.npz`` file. :func:`load_network` builds a network once (with the builder of
:mod:`.sources` or :mod:`.osmnx_graphs` that fits the input) and caches it beside the workspace,
keyed by the input's content, the options and the builder itself (:func:`builder_key`), so later
runs load it in a fraction of a second and a changed builder never serves an old network. When
it writes a new entry it removes the entries a previous builder wrote, so the cache folder does
not grow with every upgrade.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse import csr_array

from .. import __version__
from ..errors import NetworkError
from ..geo.workspace import atomic_path
from . import network as _network_module
from . import osmnx_graphs as _osmnx_module
from . import sources as _sources_module
from .network import StreetNetwork, segment_index_arrays, segment_index_from_arrays, with_segment_index
from .osmnx_graphs import network_from_graphml
from .sources import _check_osm_path, network_from_lines, network_from_osm

__all__ = [
    "BUILDER_VERSION",
    "CACHE_SUFFIX",
    "builder_key",
    "load_network",
    "read_network",
    "write_network",
]

logger = logging.getLogger(__name__)

#: The layout of saved network files, and a manual switch: bump it to rebuild cached networks
#: for a reason :func:`builder_key` cannot see (a dependency that now reads files differently).
BUILDER_VERSION = "1"

#: How cached network files end; ``load_network`` names them ``<source>.<key>.network.npz``.
CACHE_SUFFIX = ".network.npz"


@functools.cache
def builder_key() -> str:
    """The fingerprint of the network builder: servicegrid's version and the builder's code.

    A hash of ``servicegrid.__version__``, :data:`BUILDER_VERSION` and the bytes of the modules
    that build and store networks (:mod:`.network`, :mod:`.sources`, :mod:`.osmnx_graphs` and this
    one), read once per process. Any edit to them, or a new release, changes the key, so cached
    networks are rebuilt rather than served stale.
    """
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"servicegrid {__version__}; builder {BUILDER_VERSION};".encode())
    for module in (_network_module, _sources_module, _osmnx_module):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


_ARRAYS = (
    "node_xy",
    "node_ids",
    "edge_u",
    "edge_v",
    "edge_length",
    "edge_way",
    "edge_coords",
    "edge_offsets",
    "component",
)


def write_network(network: StreetNetwork, path: str | os.PathLike[str], *, key: str = "") -> Path:
    """Save ``network`` to ``path`` (.npz, uncompressed), atomically.

    Geometries are stored as their vertex arrays (``edge_coords`` + ``edge_offsets``): rebuilding
    LineStrings from them is faster than parsing WKB and loses nothing.
    """
    path = Path(path)
    meta = {
        "builder_version": BUILDER_VERSION,
        "builder": builder_key(),
        "key": key,
        "crs": network.crs.to_wkt(),
        "source": network.source,
        "problems": list(network.problems),
    }
    arrays = {name: getattr(network, name) for name in _ARRAYS}
    arrays |= segment_index_arrays(network.segment_index)  # built once, here, for every later run
    graph = network.graph
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.savez(
            handle,
            meta=np.array(json.dumps(meta, ensure_ascii=False)),
            graph_data=graph.data,
            graph_indices=graph.indices,
            graph_indptr=graph.indptr,
            **arrays,
        )
    return path


def read_network(path: str | os.PathLike[str], *, key: str | None = None) -> StreetNetwork:
    """Load a network saved by :func:`write_network`.

    Raises
    ------
    NetworkError
        The file is not a saved network (or is truncated or corrupt), was written by another
        builder version, or (when ``key`` is given) was built from other input.
    """
    path = Path(path)
    try:
        meta, arrays, graph_parts, index = _read_parts(path)
    except _UNREADABLE as exc:
        msg = f"{path}: not a saved servicegrid network ({exc})"
        raise NetworkError(msg) from exc
    if meta.get("builder_version") != BUILDER_VERSION:
        msg = f"{path}: saved by network builder version {meta.get('builder_version')}, now {BUILDER_VERSION}"
        raise NetworkError(msg)
    if key is not None and meta.get("key") != key:
        msg = f"{path}: built from other input"
        raise NetworkError(msg)
    n = arrays["node_xy"].shape[0]
    network = StreetNetwork(
        crs=CRS.from_wkt(meta["crs"]),
        graph=csr_array(graph_parts, shape=(n, n)),
        source=meta.get("source", ""),
        problems=tuple(meta.get("problems", ())),
        **arrays,
    )
    return with_segment_index(network, segment_index_from_arrays(index)) if index else network


# What reading a file that is not a complete saved network raises: a truncated or damaged zip,
# a file of another kind, an empty file, a plain .npy array, a member or metadata missing.
_UNREADABLE = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile)


def _read_parts(
    path: Path,
) -> tuple[dict[str, Any], dict[str, np.ndarray], tuple[np.ndarray, ...], dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if not isinstance(meta, dict):
            msg = "its metadata is not a mapping"
            raise TypeError(msg)
        arrays = {name: data[name] for name in _ARRAYS}
        graph_parts = (data["graph_data"], data["graph_indices"], data["graph_indptr"])
        index = {name: data[name] for name in data.files if name.startswith("piece_")}
    return meta, arrays, graph_parts, index


def _written_by(path: Path) -> str | None:
    """The builder key a cached network was written with, or None when the file cannot say."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
    except _UNREADABLE:
        return None
    return meta.get("builder") if isinstance(meta, dict) else None


def _prune(folder: Path, *, keep: Path) -> None:
    """Delete the cached networks in ``folder`` that another builder wrote, or that are unreadable.

    Entries of the current builder stay, whatever input they were built from: other files, other
    CRSs or options may be asked for again. Only the small metadata member of each entry is read.
    """
    current = builder_key()
    for entry in sorted(folder.glob(f"*{CACHE_SUFFIX}")):
        if entry == keep or entry.name.startswith(".") or not entry.is_file():
            continue
        if _written_by(entry) == current:
            continue
        try:
            entry.unlink()
        except OSError as exc:
            logger.warning("could not remove the stale cached network %s (%s)", entry, exc)
        else:
            logger.info("removed the stale cached network %s (written by another builder)", entry)


def _hash_file(path: Path, digest: Any) -> None:
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)


def load_network(
    source: str | os.PathLike[str] | gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    cache_dir: str | os.PathLike[str] | None,
    crs: CRS | str | int | None = None,
    include_private: bool = False,
) -> StreetNetwork:
    """Build the network of ``source``, or load it from the cache when it was built before.

    Parameters
    ----------
    source : path or GeoDataFrame
        An OpenStreetMap file (see :data:`~.sources.OSM_SUFFIXES`), an osmnx ``.graphml`` file,
        or the roads layer.
    cache_dir : path or None
        Folder for cached networks (usually beside the workspace); ``None`` disables the cache.
        Entries are named ``<source>.<key>.network.npz`` where the key hashes the input's
        bytes, the builder (:func:`builder_key`), the CRS and the options, so any change to the
        input or to the builder rebuilds it. An entry that cannot be read is rebuilt. Writing a
        new entry removes the entries written by another builder (and unreadable ones).
    crs : pyproj.CRS, str or int, optional
        Metric CRS to build in (pass the workspace's metric CRS).
    include_private : bool
        Keep private ways (OSM sources only, see :func:`~.sources.is_walkable`).

    Raises
    ------
    NetworkError
        The source cannot be read or holds no walkable path.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"builder={builder_key()};private={include_private};".encode())
    crs_text = "" if crs is None else CRS.from_user_input(crs).to_wkt()
    digest.update(crs_text.encode())
    if isinstance(source, gpd.GeoDataFrame | gpd.GeoSeries):
        geoms = source.geometry if isinstance(source, gpd.GeoDataFrame) else source
        digest.update(b"roads;")
        digest.update(str(geoms.crs.to_wkt() if geoms.crs else "").encode())
        digest.update(b"".join(shapely.to_wkb(geoms.to_numpy(), hex=False).tolist()))
        stem = "roads"

        def build() -> StreetNetwork:
            return network_from_lines(source, crs=crs)

    else:
        path = Path(source)
        name = path.name.lower()
        if not path.is_file():
            msg = f"{path}: no such file"
            raise NetworkError(msg)
        if name.endswith(".graphml"):

            def build() -> StreetNetwork:
                return network_from_graphml(path, crs=crs)

        else:
            _check_osm_path(path)

            def build() -> StreetNetwork:
                return network_from_osm(path, crs=crs, include_private=include_private)

        digest.update(b"file;")
        _hash_file(path, digest)
        stem = path.name
    key = digest.hexdigest()
    if cache_dir is None:
        return build()
    cache = Path(cache_dir) / f"{stem}.{key}{CACHE_SUFFIX}"
    if cache.is_file():
        try:
            network = read_network(cache, key=key)
        except NetworkError as exc:
            logger.warning("ignoring the cached network %s (%s); rebuilding it", cache, exc)
        else:
            logger.info("loaded the cached network %s", cache)
            return network
    network = build()
    try:
        write_network(network, cache, key=key)
    except OSError as exc:
        logger.warning("could not cache the network in %s (%s); it will be rebuilt next time", cache, exc)
    else:
        logger.info("cached the network in %s", cache)
        _prune(cache.parent, keep=cache)
    return network
