"""Benchmark: the siting models against spopt (PuLP with CBC and with HiGHS) on the same instances, same run.

Instance (issue 5): 2,000 demand points and 500 candidate sites uniform over 10 km × 10 km,
integer weights 1–12, service radius 1,750 m (5 sites then cover about half the weight; the run
prints the share). For each seed it times, from plain arrays (the coverage or distance matrix
each tool takes is computed outside the timing for both):

- max-cover p=5, proven optimal: ``max_cover`` against spopt ``MCLP``;
- set cover (fewest sites covering every coverable point): ``set_cover`` against spopt ``LSCP``
  (on the coverable points: LSCP has no notion of uncoverable demand);
- p-median p=5 on the first 500 × 100 and 1,000 × 200: ``p_median`` against spopt ``PMedian``;
- servicegrid's heuristic first answer for max-cover p = 5, 10, 20 against the proven optimum:
  the time from the call until its plan exists (input checks, reductions and the heuristic; the
  ``reduce`` and ``heuristic`` phases of ``SitingResult.timings``), and the whole
  ``max_cover(method="heuristic")`` call, which adds an LP bound; the median of ``--repeat``
  runs per seed;
- servicegrid's assembly of the unreduced 2,000 × 500 max-cover model for HiGHS (its own figure:
  it is array assembly and is not compared with spopt's build, which creates PuLP objects).

spopt is timed apart for its model build (``from_cost_matrix``, PuLP objects) and its solve
(``model.solve(solver, results=False)``: PuLP hands the model to the solver and reads the answer
back), and the solver's own time inside the solve is reported too (CBC's "Total time
(Wallclock seconds)" from its log; the wall time of ``Highs.run()``). spopt solves each model
once with CBC (``pulp.PULP_CBC_CMD``, 1 thread, PuLP's default) and once with HiGHS through
highspy (``pulp.HiGHS``; ``pulp.HiGHS_CMD`` needs a ``highs`` binary, which is not installed),
both with the relative gap servicegrid uses (1e-6) and a time limit of ``--spopt-limit`` s. A
solver that stops at the limit is reported as "no solution in the limit" or "not proven in the
limit", never as a ratio. Ratios are per seed (a peer's time over servicegrid's on the same seed,
both proven optimal), summarised by their median and range.

    .venv/bin/python benchmarks/siting_bench.py [--seeds 5] [--spopt-limit 300] [--solvers cbc,highs]
        [--pm1000-spopt-seeds 5] [--no-spopt] [--only max-cover,heuristic,set-cover,p-median]
        [--repeat 5] [--extra-seeds 5:40]

Standard output is Markdown (tables and a load-average line) to paste into benchmarks/README.md;
progress goes to standard error. Wall-clock seconds on a shared machine vary with the load of its
neighbours: compare the load average printed with the figures.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from _common import (
    LoadAverage,
    command_line,
    machine_line,
    median,
    milliseconds,
    plural,
    progress,
    quiet_stdout,
    ratio_cell,
    seconds,
    spread,
    table,
    timed,
)
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from servicegrid.siting import max_cover, p_median, set_cover

RADIUS = 1750.0
SIDE = 10_000.0
REL_GAP = 1e-6  # servicegrid's default relative gap, given to CBC and HiGHS too
SECTIONS = ("max-cover", "heuristic", "set-cover", "p-median")
SOLVERS = ("cbc", "highs")
SOLVER_LABEL = {"cbc": "spopt + CBC (1 thread)", "highs": "spopt + HiGHS (highspy, default threads)"}
PROBLEMS = {
    "mc5": "max-cover p=5",
    "sc": "set cover",
    "pm500": "p-median 500 × 100, p=5",
    "pm1000": "p-median 1,000 × 200, p=5",
}

OPTIMAL, LIMIT_PLAN, NO_SOLUTION = "optimal", "not proven in the limit", "no solution in the limit"


@dataclass(frozen=True)
class Instance:
    """One seeded instance: coordinates, weights and the sparse coverage matrix."""

    demand: np.ndarray
    sites: np.ndarray
    weight: np.ndarray
    cover: sparse.csr_array


def instance(seed: int, n_demand: int = 2000, n_sites: int = 500) -> Instance:
    """Uniform points over the square, weights 1–12, coverage within ``RADIUS``."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, SIDE, (n_demand, 2))
    sites = rng.uniform(0, SIDE, (n_sites, 2))
    weight = rng.integers(1, 13, n_demand).astype(float)
    pairs = cKDTree(demand).sparse_distance_matrix(cKDTree(sites), RADIUS, output_type="coo_matrix")
    cover = sparse.csr_array((np.ones(pairs.nnz), (pairs.row, pairs.col)), shape=(n_demand, n_sites))
    return Instance(demand, sites, weight, cover)


# --------------------------------------------------------------------------------------------
# One run of each tool


@dataclass
class Run:
    """One solve of one problem on one seed by one tool."""

    status: str  # OPTIMAL, LIMIT_PLAN or NO_SOLUTION
    objective: float
    total: float  # end to end, seconds
    build: float = float("nan")  # spopt: from_cost_matrix
    solve: float = float("nan")  # spopt: model.solve
    solver: float = float("nan")  # spopt: the solver's own time inside the solve
    phases: dict[str, float] = field(default_factory=dict)  # servicegrid: SitingResult.timings


def ours(fn, *args, **kwargs) -> Run:
    result, secs = timed(fn, *args, **kwargs)
    status = OPTIMAL if result.status == "optimal" else f"{result.status} (gap {result.gap:.2%})"
    return Run(status, float(result.objective), secs, phases=dict(result.timings))


def _cbc(limit: float, log: Path):
    import pulp

    return pulp.PULP_CBC_CMD(msg=False, timeLimit=limit, gapRel=REL_GAP, logPath=str(log))


def _highs(limit: float):
    import pulp

    class TimedHiGHS(pulp.HiGHS):
        """``pulp.HiGHS`` that keeps the wall time of ``Highs.run()``."""

        run_seconds = float("nan")

        def callSolver(self, lp) -> None:
            start = time.perf_counter()
            super().callSolver(lp)
            self.run_seconds = time.perf_counter() - start

    return TimedHiGHS(msg=False, timeLimit=limit, gapRel=REL_GAP)


_CBC_TIME = re.compile(r"Total time \(CPU seconds\):\s*[\d.]+\s*\(Wallclock seconds\):\s*([\d.]+)")


def spopt_solve(model, build: float, solver: str, limit: float) -> Run:
    """Solve a built spopt model with ``solver``; the status as the solver reports it."""
    import pulp

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "cbc.log"
        chosen = _cbc(limit, log) if solver == "cbc" else _highs(limit)
        start = time.perf_counter()
        failed = False
        try:
            with quiet_stdout():  # HiGHS prints its banner even with msg=False
                model.solve(chosen, results=False)
        except RuntimeError:  # spopt raises this when the solver returns no plan
            failed = True
        solve = time.perf_counter() - start
        if solver == "cbc":
            found = _CBC_TIME.search(log.read_text()) if log.is_file() else None
            own = float(found.group(1)) if found else float("nan")
        else:
            own = chosen.run_seconds
    problem = model.problem
    if solver == "highs" and not failed:
        import highspy

        # PuLP reports a HiGHS run stopped by the time limit as "Optimal": ask HiGHS itself.
        proven = problem.solverModel.getModelStatus() == highspy.HighsModelStatus.kOptimal
    else:
        proven = not failed and problem.sol_status == pulp.LpSolutionOptimal
    if failed:
        status, objective = NO_SOLUTION, float("nan")
    else:
        status = OPTIMAL if proven else LIMIT_PLAN
        objective = float(pulp.value(problem.objective))
    return Run(status, objective, build + solve, build=build, solve=solve, solver=own)


def spopt_runs(make_model, solvers: tuple[str, ...], limit: float) -> dict[str, Run]:
    """Build the spopt model once (timed) and solve it with each solver."""
    model, build = timed(make_model)
    return {solver: spopt_solve(model, build, solver, limit) for solver in solvers}


def spopt_mclp(inst: Instance, p: int, solvers: tuple[str, ...], limit: float) -> dict[str, Run]:
    from spopt.locate import MCLP

    d = cdist(inst.demand, inst.sites)
    return spopt_runs(
        lambda: MCLP.from_cost_matrix(d, inst.weight, service_radius=RADIUS, p_facilities=p), solvers, limit
    )


def spopt_lscp(inst: Instance, solvers: tuple[str, ...], limit: float) -> dict[str, Run]:
    from spopt.locate import LSCP

    keep = np.asarray(inst.cover.sum(axis=1)).ravel() > 0
    d = cdist(inst.demand[keep], inst.sites)
    return spopt_runs(lambda: LSCP.from_cost_matrix(d, service_radius=RADIUS), solvers, limit)


def spopt_pmedian(
    inst: Instance, n: int, m: int, p: int, solvers: tuple[str, ...], limit: float
) -> dict[str, Run]:
    from spopt.locate import PMedian

    d = cdist(inst.demand[:n], inst.sites[:m])
    return spopt_runs(lambda: PMedian.from_cost_matrix(d, inst.weight[:n], p_facilities=p), solvers, limit)


def full_model_build(inst: Instance, p: int = 5, repeat: int = 5) -> float:
    """Median seconds to assemble the unreduced max-cover model (2,000 × 500) for HiGHS.

    The solve path builds a smaller model after its reductions; this times the sparse assembly
    on the whole matrix (servicegrid's own figure, not compared with spopt's PuLP objects).
    """
    from servicegrid.siting.covering import cover_model

    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        a = sparse.csc_array(inst.cover)
        m = a.shape[1]
        cover_model(a, np.zeros(m), z_cost=-inst.weight, extra_rows=[(np.ones(m), -np.inf, float(p))])
        runs.append(time.perf_counter() - t0)
    return median(runs)


@dataclass(frozen=True)
class FirstAnswer:
    first: float  # median seconds from the call to the heuristic's plan (reduce + heuristic)
    heuristic: float  # median seconds of the heuristic phase alone
    call: float  # median seconds of the whole max_cover(method="heuristic") call
    shortfall: float  # the plan's shortfall from the optimum, share


def heuristic_first_answer(inst: Instance, p: int, optimum: float, repeat: int = 1) -> FirstAnswer:
    """The heuristic's first answer as a caller pays it, median over ``repeat`` calls."""
    results, calls = [], []
    for _ in range(repeat):
        result, secs = timed(max_cover, inst.cover, inst.weight, p=p, method="heuristic")
        results.append(result)
        calls.append(secs)
    assert len({r.objective for r in results}) == 1  # the heuristic does not depend on timing
    return FirstAnswer(
        first=median(r.timings["reduce"] + r.timings["heuristic"] for r in results),
        heuristic=median(r.timings["heuristic"] for r in results),
        call=median(calls),
        shortfall=(optimum - results[0].objective) / optimum,
    )


# --------------------------------------------------------------------------------------------
# Output


def same_objective(a: float, b: float) -> bool:
    return abs(a - b) <= 2 * REL_GAP * max(1.0, abs(b))


def count_status(runs: dict[int, Run], limit: float | None = None) -> str:
    """``optimal on 3 of 5 seeds; no solution in the 300 s limit on seeds 1, 4 (solve stopped after
    310–420 s)``."""
    seeds = sorted(runs)
    opt = [s for s in seeds if runs[s].status == OPTIMAL]
    text = f"optimal on {len(opt)} of {len(seeds)} seeds" if len(opt) < len(seeds) else "optimal"
    others: dict[str, list[int]] = {}
    for s in seeds:
        if runs[s].status != OPTIMAL:
            others.setdefault(runs[s].status, []).append(s)
    for status, which in others.items():
        said = status if limit is None else status.replace("the limit", f"the {limit:g} s limit")
        text += f"; {said} on seed{'s' if len(which) > 1 else ''} {', '.join(map(str, which))}"
        stops = [runs[s].solve for s in which if not np.isnan(runs[s].solve)]
        if stops:
            low, high = seconds(min(stops)), seconds(max(stops))
            text += f" (solve stopped after {low}{'' if low == high else '–' + high})"
    return text


def summary_rows(
    name: str, ours_runs: dict[int, Run], peers: dict[str, dict[int, Run]], limit: float
) -> list[list[str]]:
    done = {s: r.total for s, r in ours_runs.items() if r.status == OPTIMAL}
    rows = [
        [
            PROBLEMS[name],
            "servicegrid",
            count_status(ours_runs),
            "–",
            "–",
            spread([r.total for r in ours_runs.values()]),
            "–",
            "–",
        ]
    ]
    for solver, runs in peers.items():
        proven = {s: r for s, r in runs.items() if r.status == OPTIMAL}
        if not proven:
            solve = total = ratio = solver_ratio = "–"
        else:
            solve = spread([r.solve for r in proven.values()])
            solve += f"; solver {spread([r.solver for r in proven.values()])}"
            total = spread([r.total for r in proven.values()])
            ratio = ratio_cell({s: r.total for s, r in proven.items()}, done)
            solver_ratio = ratio_cell({s: r.solver for s, r in proven.items()}, done)
        rows.append(
            [
                "",
                SOLVER_LABEL[solver],
                count_status(runs, limit),
                spread([r.build for r in runs.values()]),
                solve,
                total,
                ratio,
                solver_ratio,
            ]
        )
    return rows


def seed_cell(run: Run | None, ours_run: Run | None, limit: float) -> str:
    if run is None:
        return "–"
    if run.status == NO_SOLUTION:
        return (
            f"no solution in the {limit:g} s limit: build {seconds(run.build)} + solve stopped after "
            f"{seconds(run.solve)} (solver {seconds(run.solver)})"
        )
    if np.isnan(run.build):  # servicegrid
        return f"{run.status} {run.objective:,.1f} in {seconds(run.total)}"
    text = (
        f"{run.status} {run.objective:,.1f}: build {seconds(run.build)} + solve {seconds(run.solve)} "
        f"(solver {seconds(run.solver)})"
    )
    if run.status == OPTIMAL and ours_run is not None and ours_run.status == OPTIMAL:
        text += f"; {run.total / ours_run.total:,.1f}× servicegrid"
        if not same_objective(run.objective, ours_run.objective):
            text += f" — OBJECTIVES DIFFER ({ours_run.objective:,.3f})"
    elif ours_run is not None and run.status == LIMIT_PLAN:
        text = text.replace("the limit", f"the {limit:g} s limit")
        if ours_run.status == OPTIMAL:
            off = run.objective / ours_run.objective - 1
            text += f"; {abs(off):.1%} {'above' if off > 0 else 'below'} servicegrid's optimum"
    return text


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--no-spopt", action="store_true", help="time servicegrid's models only")
    parser.add_argument("--spopt-limit", type=float, default=300.0, help="time limit per spopt solve (s)")
    parser.add_argument(
        "--solvers",
        type=lambda s: tuple(s.split(",")),
        default=SOLVERS,
        help="solvers spopt uses, of cbc,highs (default both)",
    )
    parser.add_argument(
        "--pm1000-spopt-seeds",
        type=int,
        default=None,
        help="run spopt's p-median 1,000 × 200 on the first N seeds only (default all; each solve "
        "can take the whole --spopt-limit)",
    )
    parser.add_argument(
        "--only",
        type=lambda s: set(s.split(",")),
        default=set(SECTIONS),
        help=f"comma-separated sections to run, of {','.join(SECTIONS)} (default all)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="heuristic calls per seed and p (median)")
    parser.add_argument(
        "--extra-seeds",
        type=lambda s: range(*(int(x) for x in s.split(":"))),
        default=range(0),
        help="START:STOP, more seeds on which to check the heuristic's gap (each p=10 optimum "
        "can take half a minute to prove)",
    )
    args = parser.parse_args()
    unknown = args.only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; use some of {','.join(SECTIONS)}")
    if set(args.solvers) - set(SOLVERS):
        parser.error(f"unknown solvers {args.solvers}; use some of {','.join(SOLVERS)}")
    solvers = () if args.no_spopt else tuple(args.solvers)
    pm1000_seeds = args.seeds if args.pm1000_spopt_seeds is None else args.pm1000_spopt_seeds
    if "highs" in solvers:
        import pulp

        available = pulp.listSolvers(onlyAvailable=True)
        if "HiGHS" not in available:
            parser.error(f"pulp.HiGHS is not available (PuLP finds {available}); pass --solvers cbc")
    load = LoadAverage()

    mine: dict[str, dict[int, Run]] = {key: {} for key in PROBLEMS}
    theirs: dict[str, dict[str, dict[int, Run]]] = {key: {s: {} for s in solvers} for key in PROBLEMS}
    model_build: list[float] = []
    share: list[float] = []
    first: dict[int, list[FirstAnswer]] = {5: [], 10: [], 20: []}
    extra: dict[int, list[FirstAnswer]] = {5: [], 10: [], 20: []}
    optimum_notes: list[str] = []

    for seed in range(args.seeds):
        inst = instance(seed)
        mc5 = None
        if "max-cover" in args.only or "heuristic" in args.only:
            mc5 = ours(max_cover, inst.cover, inst.weight, p=5)
            mine["mc5"][seed] = mc5
            share.append(mc5.objective / inst.weight.sum())
        if "max-cover" in args.only:
            model_build.append(full_model_build(inst))
            for solver, run in (spopt_mclp(inst, 5, solvers, args.spopt_limit) if solvers else {}).items():
                theirs["mc5"][solver][seed] = run
            progress(f"seed {seed}: max-cover p=5 done")
        if "heuristic" in args.only:
            assert mc5 is not None
            for p in (5, 10, 20):
                exact = mc5 if p == 5 else ours(max_cover, inst.cover, inst.weight, p=p, time_limit=600)
                if exact.status != OPTIMAL:
                    optimum_notes.append(f"seed {seed}, p={p}: the reference is {exact.status}")
                first[p].append(heuristic_first_answer(inst, p, exact.objective, args.repeat))
            progress(f"seed {seed}: heuristic done")
        if "set-cover" in args.only:
            mine["sc"][seed] = ours(set_cover, inst.cover, np.ones(inst.sites.shape[0]))
            for solver, run in (spopt_lscp(inst, solvers, args.spopt_limit) if solvers else {}).items():
                theirs["sc"][solver][seed] = run
            progress(f"seed {seed}: set cover done")
        if "p-median" in args.only:
            for n, m, key in ((500, 100, "pm500"), (1000, 200, "pm1000")):
                d = cdist(inst.demand[:n], inst.sites[:m])
                mine[key][seed] = ours(p_median, d, inst.weight[:n], 5, time_limit=600)
                if solvers and (key == "pm500" or seed < pm1000_seeds):
                    for solver, run in spopt_pmedian(inst, n, m, 5, solvers, args.spopt_limit).items():
                        theirs[key][solver][seed] = run
                progress(f"seed {seed}: {PROBLEMS[key]} done")

    for seed in args.extra_seeds if "heuristic" in args.only else ():
        inst = instance(seed)
        for p in (5, 10, 20):
            exact = ours(max_cover, inst.cover, inst.weight, p=p, time_limit=600)
            extra[p].append(heuristic_first_answer(inst, p, exact.objective, 1))
        progress(f"extra seed {seed} done")
    load.stop()

    # ---- Markdown
    print("## siting_bench\n")
    print(
        f"{command_line()} (spopt solvers: {', '.join(solvers) or 'none'}). "
        f"{machine_line('highspy', 'pulp', 'spopt')}. "
        "2,000 demand points × 500 candidates uniform over 10 km × 10 km, weights 1–12, radius "
        f"{RADIUS:,.0f} m"
        + (f" (5 sites cover {statistics.mean(share):.1%} of the weight)" if share else "")
        + ". Times are median (max) over the seeds; ratios are the median of the per-seed ratios "
        "(range, seeds) on the seeds where both tools proved optimality. servicegrid's time is its "
        "whole call; spopt's end to end is its model build plus its solve.\n"
    )
    print(load.line() + "\n")
    header = [
        "problem",
        "tool",
        "status",
        "model build",
        "solve; of which the solver itself",
        "end to end",
        "end to end ÷ servicegrid",
        "solver alone ÷ servicegrid end to end",
    ]
    shown = [key for key in PROBLEMS if mine[key] and (key != "mc5" or "max-cover" in args.only)]
    rows: list[list[str]] = []
    for key in shown:
        if mine[key]:
            rows += summary_rows(key, mine[key], theirs[key], args.spopt_limit)
    if rows:
        print(table(header, rows))
        print()
    if model_build:
        print(
            f"servicegrid's assembly of the unreduced 2,000 × 500 max-cover model for HiGHS: "
            f"{spread(model_build, milliseconds)} (median of 5 per seed; sparse arrays, not compared with "
            "spopt's build, which creates PuLP objects)."
        )
    for key in shown:
        if mine[key]:
            names = sorted({k for r in mine[key].values() for k in r.phases})
            parts = [
                f"{k} {milliseconds(median(r.phases.get(k, 0.0) for r in mine[key].values()))}" for k in names
            ]
            print(f"servicegrid's phases, {PROBLEMS[key]} (median): {', '.join(parts)}.")
    if any(first.values()):
        print("\n### Heuristic first answer, max-cover\n")
        print(
            table(
                [
                    "p",
                    "first answer: call to plan (checks, reductions, heuristic)",
                    "of which the heuristic",
                    'whole `max_cover(method="heuristic")` call (adds an LP bound)',
                    "below the proven optimum",
                ],
                [
                    [
                        str(p),
                        spread([f.first for f in got], milliseconds),
                        spread([f.heuristic for f in got], milliseconds),
                        spread([f.call for f in got], milliseconds),
                        f"worst {max(f.shortfall for f in got):.2%} ({plural(len(got), 'seed')})",
                    ]
                    for p, got in first.items()
                    if got
                ],
            )
        )
        print(f"\nEach figure is the median of {args.repeat} calls per seed; median (max) over the seeds.")
        for note in optimum_notes:
            print(f"Note: {note}.")
        for p, got in extra.items():
            if got:
                gaps = np.array([f.shortfall for f in got])
                print(
                    f"Extra seeds, p={p}: first answer {spread([f.first for f in got], milliseconds)} (single "
                    f"calls), {int((gaps <= 0.01).sum())} of {gaps.size} within 1 %, worst {gaps.max():.2%}, "
                    f"mean {gaps.mean():.2%}."
                )
    if solvers:
        print("\n### Per seed\n")
        seed_rows = []
        for key in shown:
            for seed, run in sorted(mine[key].items()):
                seed_rows.append(
                    [
                        PROBLEMS[key],
                        str(seed),
                        seed_cell(run, None, args.spopt_limit),
                        *[seed_cell(theirs[key][s].get(seed), run, args.spopt_limit) for s in solvers],
                    ]
                )
        print(table(["problem", "seed", "servicegrid", *[SOLVER_LABEL[s] for s in solvers]], seed_rows))
        differ = [
            (key, s, seed)
            for key in PROBLEMS
            for s in solvers
            for seed, run in theirs[key][s].items()
            if run.status == OPTIMAL
            and mine[key].get(seed) is not None
            and mine[key][seed].status == OPTIMAL
            and not same_objective(run.objective, mine[key][seed].objective)
        ]
        if differ:
            print(f"\n**Objectives differ although both sides report optimal:** {differ}")


if __name__ == "__main__":
    main()
