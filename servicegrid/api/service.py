"""The running service: loading the workspace, the version stamp every worker checks, serialized writes.

:class:`Service` opens the workspace through the pipeline (:func:`~servicegrid.pipeline.open_workspace`,
:func:`~servicegrid.pipeline.load_network`, :func:`~servicegrid.pipeline.audit_workspace`), builds the
first :class:`~.state.State` and keeps the current one. With several workers (processes) on one
workspace:

- every update holds a file lock beside the workspace (``.servicegrid-cache/<name>.lock``), so
  updates are serialized across processes; inside it the worker first catches up with the
  changes of the others, then writes the facilities layer atomically
  (:func:`servicegrid.geo.workspace.write_layers`: a temporary copy replaces the file only when
  complete, so a crash mid-write leaves the previous version) and bumps the version stamp
  (``.servicegrid-cache/<name>.version.json``);
- every request stats the stamp (a microsecond); when it moved, the worker reads the facilities
  layer again and rebuilds only what the changed facilities touch.

Other edits of the workspace file while the service runs (``servicegrid import``) are not
watched: restart the service after them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .. import __version__
from ..errors import InputError
from ..geo.workspace import atomic_path, read_workspace, write_layers
from ..pipeline import (
    CACHE_FOLDER,
    audit_workspace,
    load_network,
    measure_coverage,
    open_workspace,
    require_valid,
)
from .problems import Problem
from .settings import ApiSettings
from .state import Lazy, State, build_state
from .units import build_units
from .updates import Change, apply_changes, changed_ids, edit_layer

__all__ = ["Service"]

logger = logging.getLogger(__name__)


class Service:
    """One workspace served: its current state, loading, refreshing and updating it."""

    def __init__(self, settings: ApiSettings) -> None:
        if settings.workspace is None:
            msg = "no workspace to serve; give the workspace GeoPackage (SERVICEGRID_WORKSPACE)"
            raise InputError(msg)
        self.settings = settings
        self.path = Path(settings.workspace).resolve()
        self.cache = self.path.parent / CACHE_FOLDER
        self.stamp_path = self.cache / f"{self.path.name}.version.json"
        self.lock_path = self.cache / f"{self.path.name}.lock"
        self._state: State | None = None
        self._seen: tuple[int, int, int] | None = None
        self._refresh_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.ready = threading.Event()
        self.failed: str | None = None
        self.started_at = time.time()
        self.load_seconds: float | None = None

    # -- loading --------------------------------------------------------------------------------

    def load(self, *, warm: bool = True) -> None:
        """Open the workspace, load the network, audit, build the indexes; then warm the rest."""
        t0 = time.perf_counter()
        try:
            state = self._first_state()
        except Exception as exc:
            self.failed = str(exc)
            logger.error("the service cannot start: %s", exc)
            raise
        self._state = state
        self.load_seconds = time.perf_counter() - t0
        self.ready.set()
        logger.info("ready in %.2f s: %s", self.load_seconds, state.network.summary())
        if warm:
            state.units  # noqa: B018 - computed now rather than on the first lookup or update

    def _first_state(self) -> State:
        project = open_workspace(self.path, preset=self.settings.preset)
        require_valid(project)
        network = load_network(project, self.settings.network)
        if network is None:
            msg = (
                "the workspace has no roads layer and no walking network was given (--network FILE): "
                "the service answers distances on foot along a network"
            )
            raise InputError(msg, source=self.path)
        audit = audit_workspace(project, lang=self.settings.lang)
        source, digest = _network_identity(self.settings.network, project)
        self.cache.mkdir(parents=True, exist_ok=True)
        self._seen = _signature(self.stamp_path)
        return build_state(
            project,
            network,
            audit,
            version=self._read_stamp().get("version", 0),
            network_source=source,
            network_hash=digest,
            lang=self.settings.lang,
            lazies=self._lazies,
        )

    def _lazies(self, state: State) -> dict[str, Lazy[Any]]:
        limit = state.project.settings.snap_limit_m
        lang = self.settings.lang
        return {
            "units": Lazy(
                lambda: build_units(
                    state.project.workspace,
                    state.network,
                    state.walk_tiers,
                    state.facilities.xy,
                    state.index.facility_snap,
                    state.facilities.tier,
                    state.facilities.serving,
                    limit,
                )
            ),
            "coverage": Lazy(lambda: measure_coverage(state.project, network=state.network)),
            "audit": Lazy(lambda: audit_workspace(state.project, lang=lang)),  # type: ignore[arg-type]
            "audit_dir": Lazy(lambda: self._write_audit(state)),
        }

    def _write_audit(self, state: State) -> Path:
        """The audit workbooks of ``state`` (written once per version into the cache folder)."""
        from ..standards.export import write_audit

        base = self.cache / "api-audit"
        out = base / f"{self.path.stem}.v{state.version}.{os.getpid()}"
        write_audit(out, state.full_audit, lang=self.settings.lang)  # type: ignore[arg-type]
        for old in base.glob(f"{self.path.stem}.v*.{os.getpid()}"):
            if old != out:
                shutil.rmtree(old, ignore_errors=True)
        return out

    # -- the current state ----------------------------------------------------------------------

    def state(self) -> State:
        """The current state; first catching up when another worker changed the workspace."""
        state = self._state
        if state is None:
            raise Problem(
                503,
                self.failed or "the service is loading the workspace and its network",
                kind="not-ready",
                headers={"Retry-After": "2"},
            )
        if _signature(self.stamp_path) != self._seen:
            self._refresh()
            state = self._state
        return state  # type: ignore[return-value]

    def _refresh(self) -> None:
        with self._refresh_lock:
            seen = _signature(self.stamp_path)
            if seen == self._seen:
                return
            state = self._state
            assert state is not None
            version = int(self._read_stamp().get("version", 0))
            if version > state.version:
                stored = read_workspace(self.path).layer("facilities")
                ids = changed_ids(state.project.raw.layer("facilities"), stored)
                if ids:
                    self._state, _ = apply_changes(
                        state, stored, ids, version=version, lang=self.settings.lang, lazies=self._lazies
                    )
                    logger.info("caught up with version %d: %d facilities changed", version, len(ids))
                else:
                    self._state = _with_version(state, version)
            self._seen = seen

    def _read_stamp(self) -> dict[str, Any]:
        try:
            return json.loads(self.stamp_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    # -- updates --------------------------------------------------------------------------------

    def change(self, change: Change) -> dict[str, Any]:
        """Apply one facility change: checked, written atomically, stamped; returns the diff."""
        t0 = time.perf_counter()
        try:
            with self._write_lock, FileLock(self.lock_path, timeout=self.settings.lock_timeout_s):
                self.state()  # catch up with the other workers first
                self._refresh()
                state = self._state
                assert state is not None
                stored = edit_layer(state.project.raw.layer("facilities"), change)
                version = max(int(self._read_stamp().get("version", 0)), state.version) + 1
                new_state, diff = apply_changes(
                    state,
                    stored,
                    [change.facility_id],
                    version=version,
                    lang=self.settings.lang,
                    lazies=self._lazies,
                )
                try:
                    write_layers(self.path, {"facilities": stored})
                except Exception as exc:
                    logger.exception("could not write the workspace")
                    raise Problem(
                        500,
                        f"the workspace could not be written ({type(exc).__name__}); nothing was changed",
                        kind="write-failed",
                    ) from exc
                self._write_stamp(version, change)
                self._state = new_state
                self._seen = _signature(self.stamp_path)
        except Timeout:
            raise Problem(
                503,
                f"another update held the workspace for more than {self.settings.lock_timeout_s:g} s; try again",
                kind="busy",
                headers={"Retry-After": "5"},
            ) from None
        return {"version": version, "seconds": round(time.perf_counter() - t0, 4), **diff}

    def _write_stamp(self, version: int, change: Change) -> None:
        stamp = {
            "version": version,
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "facility_id": change.facility_id,
            "change": change.mode,
            "servicegrid": __version__,
        }
        with atomic_path(self.stamp_path) as tmp:
            tmp.write_text(json.dumps(stamp, ensure_ascii=False), encoding="utf-8")

    def stamp(self) -> dict[str, Any]:
        """The version stamp as stored (empty before the first update)."""
        return self._read_stamp()


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_ino, st.st_size)


def _with_version(state: State, version: int) -> State:
    from dataclasses import replace

    return replace(state, version=version)


def _network_identity(source: Path | None, project: Any) -> tuple[str, str]:
    """What the network was built from, and a hash of it (the file's bytes, or the roads layer)."""
    digest = hashlib.blake2b(digest_size=8)
    if source is not None:
        with Path(source).open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                digest.update(chunk)
        return str(Path(source).name), digest.hexdigest()
    import shapely

    roads = project.workspace.layer("roads")
    digest.update(b"".join(shapely.to_wkb(roads.geometry.to_numpy()).tolist()))
    return "roads layer", digest.hexdigest()
