"""Workspaces open in another program (issue 10, item 17) and files a killed run left (item 18):
a real SQLite connection in another process holds the GeoPackage open in WAL mode."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from servicegrid.errors import InputError
from servicegrid.geo.workspace import (
    OPEN_ELSEWHERE,
    atomic_path,
    clean_stale_temps,
    read_workspace,
    write_layers,
)
from tests.builders import clean_layers

# What QGIS does: open the GeoPackage in WAL mode and commit an edit, keeping the connection.
HOLDER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1])
con.execute("PRAGMA journal_mode=WAL")
con.execute("CREATE TABLE qgis_edit (note TEXT)")
con.execute("INSERT INTO qgis_edit VALUES ('committed in QGIS')")
con.commit()
if sys.argv[2] == "exclusive":
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("BEGIN EXCLUSIVE")
print("ready", flush=True)
time.sleep(60)
"""


def hold(path: Path, mode: str = "wal") -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), mode], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "ready"
    return holder


def stop(holder: subprocess.Popen) -> None:
    holder.kill()  # as a crash would: no checkpoint, the -wal stays behind
    holder.wait()


def edit_survives(path: Path) -> bool:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT note FROM qgis_edit").fetchall() == [("committed in QGIS",)]
    finally:
        con.close()


def test_writing_into_a_workspace_open_in_wal_mode_is_refused_and_loses_nothing(tmp_path):
    path = tmp_path / "county.gpkg"
    write_layers(path, clean_layers())
    holder = hold(path)
    try:
        assert Path(f"{path}-wal").stat().st_size > 0  # the edit is only in the WAL
        with pytest.raises(InputError, match="county.gpkg: is open in another program"):
            write_layers(path, {"facilities": clean_layers()["facilities"]})
    finally:
        stop(holder)
    assert not list(tmp_path.glob(".county.*"))  # no temporary copy left
    assert edit_survives(path)


def test_a_wal_left_by_a_crashed_program_is_folded_in_before_writing(tmp_path):
    path = tmp_path / "county.gpkg"
    write_layers(path, clean_layers())
    stop(hold(path))
    assert Path(f"{path}-wal").stat().st_size > 0
    write_layers(path, {"facilities": clean_layers()["facilities"]})
    assert edit_survives(path)  # before: the copy without the WAL lost it ("malformed")
    assert len(read_workspace(path).layers["facilities"]) == 2


def test_a_locked_workspace_says_it_is_open_in_another_program(tmp_path):
    path = tmp_path / "county.gpkg"
    write_layers(path, clean_layers())
    holder = hold(path, "exclusive")
    try:
        with pytest.raises(InputError) as info:
            read_workspace(path)
    finally:
        stop(holder)
    assert str(info.value) == f"{path}: {OPEN_ELSEWHERE}"
    assert "not a readable GeoPackage" not in str(info.value)


def test_rewritten_files_keep_the_umask_not_the_private_temp_mode(tmp_path):
    path = tmp_path / "county.gpkg"
    old = os.umask(0o022)
    try:
        write_layers(path, clean_layers())
        assert path.stat().st_mode & 0o777 == 0o644
        os.chmod(path, 0o664)  # a group-writable workspace stays so when rewritten
        write_layers(path, {"facilities": clean_layers()["facilities"]})
        assert path.stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(old)


def test_temporary_files_of_a_killed_run_are_cleaned_up_but_not_a_live_ones(tmp_path):
    target = tmp_path / "coverage.gpkg"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    left = tmp_path / f".coverage.{dead.stdout.strip()}.abcd1234.gpkg"
    left.write_bytes(b"half written")
    Path(f"{left}-journal").write_bytes(b"")
    live = tmp_path / f".coverage.{os.getppid()}.efgh5678.gpkg"  # our parent runs: not ours to remove
    live.write_bytes(b"being written")
    old_style = tmp_path / ".coverage.k2j3h4g5.gpkg"
    old_style.write_bytes(b"from an older version")
    stale = time.time() - 3600
    os.utime(old_style, (stale, stale))
    other = tmp_path / ".coverage-notes.txt"
    other.write_text("the user's own file")
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["coverage.gpkg", live.name, other.name])
    assert clean_stale_temps(target) == []
