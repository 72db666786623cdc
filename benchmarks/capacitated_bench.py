"""Capacitated covering on the siting benchmark's instances: how far HiGHS gets in a time limit.

Capacities make the covering models much harder (a site that reaches more may serve less, so
the reductions and heuristics of the uncapacitated models do not apply, and the model has a
variable per demand-site pair). This measures, on the uniform 2,000 × 500 instances of
``siting_bench.py`` with every site's capacity set to half the weight it reaches, the status,
objective, proven bound, gap and share of the coverable weight served that ``set_cover`` and
``max_cover`` (p = 20) reach for three service radii (pairs within reach grow with the radius).
Where capacities cannot serve every point, set cover answers with the cheapest plan serving
the most. No other tool offers these models to
compare against. Standard output is a Markdown table with the load average before and after. Run

    .venv/bin/python benchmarks/capacitated_bench.py [--time-limit 60] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import siting_bench
from _common import LoadAverage, command_line, machine_line, progress, table

from servicegrid.siting import max_cover, set_cover


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    load = LoadAverage()
    rows = []
    for radius in (600.0, 1000.0, 1750.0):
        siting_bench.RADIUS = radius
        inst = siting_bench.instance(args.seed)
        capacity = np.round(0.5 * (inst.weight @ inst.cover))
        coverable = inst.weight[np.asarray(inst.cover.sum(axis=1)).ravel() > 0].sum()
        runs = {
            "set cover (fewest sites)": lambda inst=inst, capacity=capacity: set_cover(
                inst.cover, np.ones(500), weight=inst.weight, capacity=capacity, time_limit=args.time_limit
            ),
            "max cover p=20": lambda inst=inst, capacity=capacity: max_cover(
                inst.cover, inst.weight, p=20, capacity=capacity, time_limit=args.time_limit
            ),
        }
        for name, run in runs.items():
            t0 = time.perf_counter()
            result = run()
            seconds = time.perf_counter() - t0
            rows.append(
                [
                    f"{radius:,.0f} m",
                    f"{inst.cover.nnz:,}",
                    name,
                    result.status,
                    f"{result.objective:,.0f}",
                    f"{result.bound:,.1f}",
                    f"{result.gap:.2%}",
                    f"{result.covered_weight / coverable:.1%}",
                    f"{seconds:.1f}",
                ]
            )
            progress(" | ".join(rows[-1]))
    load.stop()
    print("## capacitated_bench\n")
    print(
        f"{command_line()} (time limit {args.time_limit:g} s, seed {args.seed}): 2,000 × 500 uniform "
        f"instance, every site's capacity half the weight it reaches. {machine_line('highspy')}.\n"
    )
    print(load.line() + "\n")
    header = ["radius", "pairs", "model", "status", "objective", "bound", "gap", "weight served", "seconds"]
    print(table(header, rows))


if __name__ == "__main__":
    main()
