"""Many counties at once on Dask: each county's workspace an independent task, the province summary
at the end.

:func:`run_batch` is what ``servicegrid batch`` runs: it names a folder per county
(:func:`~.county.county_jobs`), connects to Dask (:func:`connect`: a ``LocalCluster`` of worker
processes on this machine, one per core with one thread each, or an existing scheduler), submits
:func:`~.county.run_county` once per county, collects the counties as they finish — a county
that fails is reported and the others go on — and writes ``summary.xlsx``
(:func:`~.summary.write_summary`). Workers read the workspaces and write the results by their
paths, so with a remote scheduler every worker must see the same files (a shared disk) and have
servicegrid installed.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..progress import Progress
from .county import CountyJob, CountySummary, Lang, county_jobs, run_county
from .summary import write_summary

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["BatchResult", "connect", "default_workers", "run_batch"]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
"""How long to try reaching a scheduler, and to wait for its first worker (seconds)."""


@dataclass(frozen=True)
class BatchResult:
    """Every county's summary (in the order given), the province workbook and what ran them."""

    counties: tuple[CountySummary, ...]
    summary: Path
    engine: str

    @property
    def failed(self) -> tuple[CountySummary, ...]:
        """The counties that did not finish."""
        return tuple(c for c in self.counties if not c.ok)


def default_workers() -> int:
    """Worker processes of the local cluster: the cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)


@contextmanager
def connect(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    timeout: float = CONNECT_TIMEOUT_S,
) -> Iterator[tuple[Client, str]]:
    """A Dask client and a line saying what it runs on; closed (and a local cluster stopped) on exit.

    Parameters
    ----------
    scheduler
        ``None``: a ``LocalCluster`` on this machine, ``workers`` processes (default: one per
        core, :func:`default_workers`) of one thread each, without a dashboard. Else a scheduler's
        address (``tcp://host:8786``) or its scheduler file (``dask scheduler --scheduler-file``).
    timeout
        Seconds to reach the scheduler and for its first worker to join.

    Raises
    ------
    InputError
        Naming ``--scheduler`` when the scheduler cannot be reached or has no workers, and
        ``--workers`` when it is below 1 or given with a scheduler.
    """
    from distributed import Client, LocalCluster

    if workers is not None and workers < 1:
        msg = f"--workers {workers}: give 1 or more"
        raise InputError(msg)
    if scheduler is None:
        n = workers or default_workers()
        with (
            LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            yield client, f"local cluster: {n} worker process{'es' if n > 1 else ''}, 1 thread each"
        return
    if workers is not None:
        msg = "--workers sizes the local cluster; a scheduler's workers are started with it (dask worker ADDRESS)"
        raise InputError(msg)
    client = _client(scheduler, timeout)
    with client:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            msg = (
                f"--scheduler {scheduler}: no worker joined the scheduler within {timeout:g} s; "
                f"start some with 'dask worker {client.scheduler.address}'"
            )
            raise InputError(msg) from None
        n = len(client.nthreads())
        yield client, f"scheduler {client.scheduler.address}: {n} worker{'s' if n > 1 else ''}"


def _client(scheduler: str, timeout: float) -> Client:
    from distributed import Client

    try:
        if Path(scheduler).is_file():
            return Client(scheduler_file=scheduler, timeout=timeout, set_as_default=False)
        return Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, ValueError, TimeoutError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        msg = f"--scheduler {scheduler}: cannot connect to a Dask scheduler ({reason})"
        raise InputError(msg) from None


def run_batch(
    workspaces: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    network_dir: str | os.PathLike[str] | None = None,
    lang: Lang = "zh",
    maps: bool = True,
    timeout: float = CONNECT_TIMEOUT_S,
    progress: Progress | None = None,
) -> BatchResult:
    """Run every stage on each county's workspace as an independent Dask task; write each
    county's files into ``out/<county>/`` and the province summary into ``out/summary.xlsx``.

    Each county's walking network is :func:`~.county.find_network`'s (a
    ``<stem>-walk.osm.pbf``/``.osm``/… in ``network_dir`` or beside the workspace), else its
    ``roads`` layer. ``progress`` is told ``(step, counties done, counties)`` as each county
    finishes. A county that fails does not stop the others: it is in the result with
    ``status="failed"`` and its reason.

    Raises
    ------
    InputError
        Before any county runs: bad ``out``, ``network_dir`` or workspaces given twice, or a
        scheduler that cannot be reached (see :func:`connect`).
    """
    jobs = county_jobs(workspaces, out, network_dir=network_dir, lang=lang, maps=maps)
    out = Path(out).resolve()
    _check_writable(out)
    total = len(jobs)
    if progress is not None:
        where = "connecting to the scheduler" if scheduler else "starting the local cluster"
        progress(where, 0, total)
    if scheduler is None and workers is None:
        workers = min(default_workers(), total)  # no idle processes for a few counties
    with connect(scheduler, workers=workers, timeout=timeout) as (client, engine):
        logger.info("batch of %d counties on %s", total, engine)
        counties = _gather(client, jobs, progress)
    summary = write_summary(out / "summary.xlsx", counties, lang=lang)
    return BatchResult(counties, summary, engine)


def _gather(client: Client, jobs: list[CountyJob], progress: Progress | None) -> tuple[CountySummary, ...]:
    """Submit one task per county and collect them as they finish."""
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]
    futures = {
        client.submit(run_county, job, key=f"servicegrid-county-{i}-{run}", pure=False): i
        for i, job in enumerate(jobs)
    }
    found: dict[int, CountySummary] = {}
    for done, future in enumerate(as_completed(futures, loop=client.loop), start=1):
        i = futures[future]
        found[i] = _collect(future, jobs[i])
        future.release()
        if progress is not None:
            progress(f"{found[i].name}: {found[i].status}", done, len(jobs))
    return tuple(found[i] for i in range(len(jobs)))


def _collect(future: Future, job: CountyJob) -> CountySummary:
    """The county's summary, or a failed one naming what went wrong in its task."""
    from concurrent.futures import CancelledError

    if future.status == "finished":
        return future.result()
    try:
        exc = future.exception()
    except CancelledError:
        reason = "cancelled: the scheduler or its workers went away"
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        logger.info("%s: the task raised", job.workspace, exc_info=exc)
    return CountySummary(job.workspace, job.folder, job.name, "failed", reason=f"{job.workspace}: {reason}")


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        msg = f"--out {out}: cannot write there ({exc.strerror or exc}); choose a folder you can write to"
        raise InputError(msg) from exc
