"""Tests for servicegrid.coverage.cache: saved networks, the cache key and pruning stale entries."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import shapely
from scipy.spatial import cKDTree

from servicegrid.coverage import cache as cache_module
from servicegrid.coverage import network as network_module
from servicegrid.coverage import osmnx_graphs as osmnx_module
from servicegrid.coverage import sources as sources_module
from servicegrid.coverage.cache import load_network, read_network, write_network
from servicegrid.coverage.sources import network_from_lines
from servicegrid.errors import NetworkError
from tests.conftest import shared_path

from .conftest import METRIC, NINGHUA, assert_same_network, lattice_lines


def test_cache_reloads_an_identical_network_and_rebuilds_when_a_byte_changes(tmp_path):
    src = tmp_path / "ninghua.osm"
    shutil.copyfile(shared_path(*NINGHUA), src)
    cache = tmp_path / "cache"
    first = load_network(src, cache_dir=cache)
    files = sorted(cache.glob("*.network.npz"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    second = load_network(src, cache_dir=cache)
    assert_same_network(first, second)
    assert files[0].stat().st_mtime_ns == stamp  # read, not rewritten
    assert second.source == first.source

    # Move one node of a walkable way by changing one digit: a new cache entry and a new graph.
    text = src.read_text(encoding="utf-8")
    node = int(first.node_ids[0])
    start = text.index(f'<node id="{node}"')
    lat_at = text.index('lat="', start) + len('lat="') + 5
    digit = text[lat_at]
    src.write_text(text[:lat_at] + ("1" if digit != "1" else "2") + text[lat_at + 1 :], encoding="utf-8")
    third = load_network(src, cache_dir=cache)
    assert len(sorted(cache.glob("*.network.npz"))) == 2
    assert not np.array_equal(third.node_xy, first.node_xy)


def test_cache_key_includes_the_crs(tmp_path):
    src = shared_path(*NINGHUA)
    a = load_network(src, cache_dir=tmp_path)
    b = load_network(src, cache_dir=tmp_path, crs="EPSG:32650")
    assert a.crs.to_epsg() == 4548
    assert b.crs.to_epsg() == 32650
    assert len(list(tmp_path.glob("*.network.npz"))) == 2


def test_corrupt_cache_entry_is_rebuilt(tmp_path, caplog):
    src = shared_path(*NINGHUA)
    first = load_network(src, cache_dir=tmp_path)
    (entry,) = tmp_path.glob("*.network.npz")
    entry.write_bytes(b"not a zip file")
    again = load_network(src, cache_dir=tmp_path)
    assert_same_network(first, again)
    assert "ignoring the cached network" in caplog.text
    assert_same_network(first, read_network(entry))


def test_write_and_read_round_trip_keeps_geometry(tmp_path):
    net = network_from_lines(lattice_lines(4, 25.0), crs=METRIC)
    back = read_network(write_network(net, tmp_path / "n.npz"))
    assert_same_network(net, back)
    assert shapely.equals(back.edge_geometry, net.edge_geometry).all()


# --------------------------------------------------------------------------------------------
# The builder key and pruning


def counting_builds(monkeypatch) -> list[int]:
    """Count the roads layers ``load_network`` builds (instead of loading them from the cache)."""
    builds: list[int] = []

    def build(roads, **kwargs):
        builds.append(1)
        return network_from_lines(roads, **kwargs)

    monkeypatch.setattr(cache_module, "network_from_lines", build)
    return builds


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.network.npz"))


def test_cached_network_is_reused_when_nothing_changed(tmp_path, monkeypatch):
    builds = counting_builds(monkeypatch)
    roads = lattice_lines(4, 25.0)
    first = load_network(roads, cache_dir=tmp_path, crs=METRIC)
    (entry,) = entries(tmp_path)
    stamp = entry.stat().st_mtime_ns
    again = load_network(roads.copy(), cache_dir=tmp_path, crs=METRIC)
    assert builds == [1]
    assert entries(tmp_path) == [entry]
    assert entry.stat().st_mtime_ns == stamp
    assert_same_network(first, again)


def test_a_changed_builder_rebuilds_and_removes_the_stale_entries(tmp_path, monkeypatch):
    builds = counting_builds(monkeypatch)
    roads = lattice_lines(4, 25.0)
    load_network(roads, cache_dir=tmp_path, crs=METRIC)
    load_network(lattice_lines(3, 10.0), cache_dir=tmp_path, crs=METRIC)  # another input
    stale = entries(tmp_path)
    assert len(stale) == 2
    (tmp_path / "junk.network.npz").write_bytes(b"not a network")
    (tmp_path / "notes.txt").write_text("not a cache entry", encoding="utf-8")

    monkeypatch.setattr(cache_module, "builder_key", lambda: "0123456789abcdef")
    rebuilt = load_network(roads, cache_dir=tmp_path, crs=METRIC)
    assert len(builds) == 3
    (entry,) = entries(tmp_path)  # the stale entries of both inputs and the junk are gone
    assert entry not in stale
    assert (tmp_path / "notes.txt").exists()
    assert_same_network(rebuilt, read_network(entry))
    with np.load(entry) as data:
        assert json.loads(str(data["meta"]))["builder"] == "0123456789abcdef"
    load_network(roads, cache_dir=tmp_path, crs=METRIC)
    assert len(builds) == 3  # the new entry serves the new builder


def test_entries_of_the_current_builder_are_kept_whatever_their_input(tmp_path):
    load_network(lattice_lines(4, 25.0), cache_dir=tmp_path, crs=METRIC)
    load_network(lattice_lines(3, 10.0), cache_dir=tmp_path, crs=METRIC)
    load_network(lattice_lines(3, 10.0), cache_dir=tmp_path, crs="EPSG:32649")
    assert len(entries(tmp_path)) == 3


def test_builder_key_changes_with_the_version_and_the_builder_code(tmp_path, monkeypatch):
    key = cache_module.builder_key()
    assert key == cache_module.builder_key()
    assert len(key) == 16
    compute = cache_module.builder_key.__wrapped__  # uncached, to see the patched inputs
    assert compute() == key
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    assert compute() != key
    monkeypatch.undo()
    for module in (sources_module, network_module, osmnx_module, cache_module):
        edited = tmp_path / f"{module.__name__}.py"
        edited.write_bytes(Path(module.__file__).read_bytes() + b"\n# edited\n")
        with monkeypatch.context() as patch:
            patch.setattr(module, "__file__", str(edited))
            assert compute() != key, module.__name__
    assert compute() == key


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "garbage":
        path.write_bytes(b"not a zip file")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flipped byte":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    elif how == "plain array":
        with path.open("wb") as handle:
            np.save(handle, np.arange(3))


@pytest.mark.parametrize("how", ["garbage", "empty", "truncated", "flipped byte", "plain array"])
def test_a_corrupt_cache_file_is_rebuilt_rather_than_raising(tmp_path, monkeypatch, caplog, how):
    builds = counting_builds(monkeypatch)
    roads = lattice_lines(4, 25.0)
    first = load_network(roads, cache_dir=tmp_path, crs=METRIC)
    (entry,) = entries(tmp_path)
    damage(entry, how)
    with pytest.raises(NetworkError, match="not a saved servicegrid network"):
        read_network(entry)
    again = load_network(roads, cache_dir=tmp_path, crs=METRIC)
    assert len(builds) == 2
    assert "ignoring the cached network" in caplog.text
    assert_same_network(first, again)
    assert entries(tmp_path) == [entry]
    assert_same_network(first, read_network(entry))


def _snap_all(net, pts):
    from servicegrid.coverage.snapping import snap_points

    return snap_points(net, pts, max_distance=500)


class _CountedTree(cKDTree):
    built = 0

    def __init__(self, *args, **kwargs):
        type(self).built += 1
        super().__init__(*args, **kwargs)


def test_a_saved_network_snaps_with_its_stored_index_exactly_as_a_fresh_one(tmp_path, monkeypatch):
    net = network_from_lines(lattice_lines(30, 40.0), crs=METRIC)
    path = write_network(net, tmp_path / "n.network.npz")
    monkeypatch.setattr(network_module, "cKDTree", _CountedTree)
    _CountedTree.built = 0
    again = read_network(path)
    assert _CountedTree.built == 0  # the tree came from the file
    assert "segment_index" in again.__dict__  # restored, not to be built on the first snap
    stored, fresh = again.segment_index, net.segment_index
    np.testing.assert_array_equal(stored.start, fresh.start)
    np.testing.assert_array_equal(stored.tree.data, fresh.tree.data)
    pts = np.random.default_rng(4).uniform(-50, 1050, (300, 2))
    a, b = _snap_all(again, pts), _snap_all(net, pts)
    np.testing.assert_array_equal(a.edge, b.edge)
    np.testing.assert_array_equal(a.offset, b.offset)
    np.testing.assert_array_equal(a.position, b.position)


def test_a_tree_another_scipy_stored_is_built_again(tmp_path, monkeypatch):
    net = network_from_lines(lattice_lines(30, 40.0), crs=METRIC)
    path = write_network(net, tmp_path / "n.network.npz")
    with np.load(path) as data:
        parts = {k: data[k] for k in data.files}
    parts["piece_scipy"] = np.array("0.1")  # another scipy wrote the tree's state: not trusted
    np.savez(path, **parts)
    monkeypatch.setattr(network_module, "cKDTree", _CountedTree)
    _CountedTree.built = 0
    again = read_network(path)
    assert _CountedTree.built == 1
    pts = np.random.default_rng(5).uniform(-50, 1050, (200, 2))
    np.testing.assert_array_equal(_snap_all(again, pts).edge, _snap_all(net, pts).edge)
