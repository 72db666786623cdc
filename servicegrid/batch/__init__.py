"""Many counties at once: each county's workspace run through every stage as an independent task
on Dask, and a province summary workbook.

- :func:`run_batch` — what ``servicegrid batch`` runs: a folder of results per county and
  ``summary.xlsx`` (:mod:`.run`, which also owns :func:`connect`: a local cluster or an
  existing scheduler);
- :func:`run_county` — the task of one county, through the pipeline and the maps, returning a
  small :class:`CountySummary` (:mod:`.county`, also :func:`county_jobs` and
  :func:`find_network`: which walking network a county is measured on);
- :func:`write_summary` — the province workbook (:mod:`.summary`).

Batch is a consumer of :mod:`servicegrid.pipeline` and :mod:`servicegrid.maps`, like the command
line, the maps and the HTTP service. Dask is imported only when a batch runs.
"""

from __future__ import annotations

from .county import CountyJob, CountySummary, county_jobs, find_network, run_county
from .run import BatchResult, connect, run_batch
from .summary import write_summary

__all__ = [
    "BatchResult",
    "CountyJob",
    "CountySummary",
    "connect",
    "county_jobs",
    "find_network",
    "run_batch",
    "run_county",
    "write_summary",
]
