"""Growth with the size of the county: every stage on the demo county at 1×, 4×, 16× and 64×.

Run: .venv/bin/python benchmarks/scale_bench.py [--sizes 1,4,16,64] [--budget 600] [--seed 0]

For each size N, a fresh child process generates the demo county N times the demo's size
(``servicegrid demo --scale N``: one county, one connected walking network) and runs the stages
through the pipeline functions the command line uses, timing each:

- validate: ``open_workspace`` (read, conform, fill parent ids, validate);
- audit: ``audit_workspace``;
- network: ``load_network`` from the county's OSM file (built, not read from the cache);
- coverage: ``measure_coverage`` (every walk-based tier), then ``write_coverage`` (GeoPackage
  and gaps CSV);
- plan: ``plan_sites`` for compound stations with the default model.

Each stage's peak memory is the child's peak resident set size during that stage (``VmHWM``,
reset before the stage through ``/proc/self/clear_refs``; Linux), so it counts everything the
process holds, numpy, GEOS and libosmium included. Sizes run smallest first; once the time
spent plus the next size's estimate (the last size's time grown linearly) passes ``--budget``
seconds, the larger sizes are skipped, and the table says so. A child that runs past the
budget is stopped.

The table gives, per size, the counts (compounds, OSM nodes), each stage's wall time and peak
RSS, and the growth exponent of each stage's time against the number of OSM nodes between
consecutive sizes, log(t2/t1) / log(n2/n1): 1 is linear, 2 quadratic. The machine's load
average is printed beside the figures: on a shared machine, times grow with it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
STAGES = ("validate", "audit", "network", "coverage", "coverage_write", "plan")


# --------------------------------------------------------------------------------------------
# The child: one size, every stage


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM); False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_mb() -> float:
    """This process's peak RSS since the last reset, in MB (ru_maxrss where /proc is absent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(scale: int, seed: int, work: Path) -> dict:
    """Generate the county at ``scale`` into ``work`` and time every stage; returns the figures."""
    import warnings

    from servicegrid.demo import write_demo_county
    from servicegrid.pipeline import (
        audit_workspace,
        load_network,
        measure_coverage,
        open_workspace,
        plan_sites,
        write_coverage,
    )

    warnings.simplefilter("ignore")  # the figures, not the audit's remarks on the register
    figures: dict = {"scale": scale, "stages": {}, "load_before": os.getloadavg()}
    resettable = _reset_peak()
    figures["per_stage_peak"] = resettable

    def timed(name: str, call: Callable[[], T]) -> T:
        _reset_peak()
        start = time.perf_counter()
        out = call()
        figures["stages"][name] = {"s": time.perf_counter() - start, "peak_mb": _peak_mb()}
        return out

    files = timed("generate", lambda: write_demo_county(work, seed=seed, scale=scale))
    figures["osm_nodes"] = files.network_nodes
    project = timed("validate", lambda: open_workspace(files.workspace))
    figures["compounds"] = len(project.workspace.layer("compounds"))
    figures["settlements"] = len(project.workspace.layer("settlements"))
    figures["errors"] = int(project.errors)
    timed("audit", lambda: audit_workspace(project))
    network = timed("network", lambda: load_network(project, files.network))
    figures["graph_nodes"] = network.n_nodes
    coverage = timed("coverage", lambda: measure_coverage(project, network=network))
    figures["coverage_rows"] = len(coverage.units)
    timed("coverage_write", lambda: write_coverage(coverage, work / "coverage.gpkg", preset=project.preset))
    plan = timed("plan", lambda: plan_sites(project, tier="compound_station", network=network))
    figures["plan_sites"] = len(plan.proposed_sites)
    figures["plan_status"] = str(plan.siting.status)
    figures["load_after"] = os.getloadavg()
    return figures


# --------------------------------------------------------------------------------------------
# The parent: sizes in fresh processes, the table


def _child(scale: int, seed: int, work: Path, timeout: float) -> dict:
    """Run one size in a fresh process (honest peak memory); its figures, or why there are none."""
    cmd = [sys.executable, __file__, "--child", str(scale), "--seed", str(seed), "--work", str(work)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"scale": scale, "failed": f"stopped after {timeout:.0f} s: the budget ran out"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        return {"scale": scale, "failed": f"exit status {done.returncode}: {tail[0]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _exponent(t1: float, t2: float, n1: float, n2: float) -> str:
    if min(t1, t2, n1, n2) <= 0 or n1 == n2:
        return "–"
    return f"{math.log(t2 / t1) / math.log(n2 / n1):.2f}"


def _table(results: list[dict]) -> str:
    """The markdown table: counts, each stage's time and peak RSS, and the growth exponents."""
    done = [r for r in results if "stages" in r]
    lines = [
        "| size | compounds | OSM nodes | "
        + " | ".join(f"{s} s (peak MB)" for s in ("generate", *STAGES))
        + " | load average (before → after) |",
        "|---" * (4 + len(STAGES)) + "|---|",
    ]
    for r in done:
        cells = [
            f"{r['stages'][s]['s']:.2f} ({r['stages'][s]['peak_mb']:,.0f})" for s in ("generate", *STAGES)
        ]
        load = f"{r['load_before'][0]:.2f} → {r['load_after'][0]:.2f}"
        lines.append(
            f"| {r['scale']}× | {r['compounds']:,} | {r['osm_nodes']:,} | "
            + " | ".join(cells)
            + f" | {load} |"
        )
    if len(done) > 1:
        lines += ["", "Growth exponent of time against OSM nodes, log(t2/t1) / log(n2/n1) (1 = linear):", ""]
        lines.append("| sizes | " + " | ".join(STAGES) + " |")
        lines.append("|---" * (1 + len(STAGES)) + "|")
        for a, b in itertools.pairwise(done):
            cells = [
                _exponent(a["stages"][s]["s"], b["stages"][s]["s"], a["osm_nodes"], b["osm_nodes"])
                for s in STAGES
            ]
            lines.append(f"| {a['scale']}× → {b['scale']}× | " + " | ".join(cells) + " |")
    missing = [r for r in results if "stages" not in r]
    if missing:
        lines.append("")
        lines += [f"- {r['scale']}×: {r.get('failed') or r.get('skipped')}" for r in missing]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,16,64", help="Sizes to run, smallest first.")
    parser.add_argument("--budget", type=float, default=600.0, help="Seconds for every size together.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--work", type=Path, default=None, help="Folder for the counties (default: temporary)."
    )
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_child(args.child, args.seed, args.work)))
        return

    sizes = sorted({int(s) for s in args.sizes.split(",")})
    print(f"servicegrid scale benchmark: sizes {sizes}, budget {args.budget:.0f} s, seed {args.seed}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()} at the start", flush=True)
    start = time.perf_counter()
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="sg-scale-") as tmp:
        root = args.work or Path(tmp)
        last: dict | None = None
        for scale in sizes:
            spent = time.perf_counter() - start
            left = args.budget - spent
            if last is not None and "stages" in last:
                estimate = sum(v["s"] for v in last["stages"].values()) * scale / last["scale"]
                if estimate > left:
                    results.append(
                        {
                            "scale": scale,
                            "skipped": f"skipped: {spent:.0f} s of the {args.budget:.0f} s budget spent, and "
                            f"this size would take about {estimate:.0f} s (the last size's time, grown linearly)",
                        }
                    )
                    continue
            if left <= 0:
                results.append({"scale": scale, "skipped": "skipped: the budget is spent"})
                continue
            last = _child(scale, args.seed, root / f"scale-{scale}", timeout=left)
            results.append(last)
            if "stages" in last:
                times = ", ".join(f"{k} {v['s']:.1f} s" for k, v in last["stages"].items())
                print(f"{scale}×: {times}; load average {os.getloadavg()}", flush=True)
            else:
                print(f"{scale}×: {last['failed']}", flush=True)
    print()
    print(_table(results))
    print()
    print(f"total {time.perf_counter() - start:.0f} s; load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
