"""Benchmark: audit 10,000 facilities against cn-default (issue 3 target: about a second).

Builds a seeded synthetic register (random tiers given as ids or Chinese names, item lists mixing
ids and labels, window/zone/room lists, one yes/no column, areas, schedules, staff), then times
``audit_facilities`` (which parses the records too) over several repeats and reports the best and
median wall-clock and CPU times as a Markdown table, with the load average before and after. No
other tool is compared.

    .venv/bin/python benchmarks/audit_bench.py [--n 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from _common import LoadAverage, command_line, machine_line, seconds, table

from servicegrid.standards.audit import audit_facilities
from servicegrid.standards.loader import load_preset
from servicegrid.standards.records import StandardsWarning


def synthetic_register(n: int, seed: int = 3) -> gpd.GeoDataFrame:
    """``n`` facilities with realistic variety (seeded)."""
    rng = np.random.default_rng(seed)
    preset = load_preset("cn-default")
    tiers = list(preset.tiers)
    tier_names = [[t, preset.tiers[t].zh, *preset.tiers[t].aliases[:2]] for t in tiers]
    tier_pick = rng.choice(len(tiers), size=n, p=[0.002, 0.01, 0.05, 0.3, 0.4, 0.2, 0.038])
    tier_text = [tier_names[t][k] for t, k in zip(tier_pick, rng.integers(0, 3, n), strict=True)]

    def lists(ids: list[str], labels: list[str], p: float) -> list[str]:
        have = rng.random((n, len(ids))) < p
        use_label = rng.random((n, len(ids))) < 0.5
        names = np.where(use_label, np.array(labels, dtype=object), np.array(ids, dtype=object))
        return ["、".join(names[i][have[i]]) for i in range(n)]

    items = list(preset.items)
    frame = pd.DataFrame(
        {
            "id": [f"F{i}" for i in range(n)],
            "name": [f"阵地{i}" for i in range(n)],
            "tier": tier_text,
            "items": lists(items, [preset.items[k].zh for k in items], 0.85),
            "windows": lists(list(preset.windows), [w.zh for w in preset.windows.values()], 0.8),
            "zones": lists(list(preset.zones), [z.zh for z in preset.zones.values()], 0.8),
            "rooms": lists(list(preset.rooms), [r.zh for r in preset.rooms.values()], 0.8),
            "有党旗(国旗)": rng.choice(["是", "否", ""], size=n),
            "floor_area_m2": np.round(rng.gamma(2.0, 200.0, n)),
            "hall_area_m2": np.round(rng.gamma(2.0, 30.0, n)),
            "opening_hours": rng.choice(
                [
                    "Mo-Fr 08:30-12:00,14:30-18:00",
                    "Mo-Fr 08:30-12:00,14:30-18:00; Sa 09:00-12:00",
                    "周一至周五 9:00-20:00",
                    "Mo-Su 09:00-21:00",
                    "",
                ],
                size=n,
            ),
            "weekend_duty": rng.choice(["是", "否"], size=n),
            "evening_sessions_per_week": rng.integers(0, 3, n),
            "staff": rng.integers(0, 4, n),
        }
    )
    lon = 110 + rng.random(n) * 0.5
    lat = 35 + rng.random(n) * 0.5
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=4326)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    load = LoadAverage()
    register = synthetic_register(args.n)
    preset = load_preset("cn-default")
    times, cpu = [], []
    result = None
    for _ in range(args.repeat):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StandardsWarning)
            start, start_cpu = time.perf_counter(), time.process_time()
            result = audit_facilities(register, preset)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    load.stop()
    assert result is not None
    grades = result["grade"].value_counts().to_dict()
    print("## audit_bench\n")
    print(
        f"{command_line()}: `audit_facilities` (parse + grade + reasons) "
        f"against cn-default. {machine_line('pandas', 'geopandas')}.\n"
    )
    print(load.line() + "\n")
    print(
        table(
            ["", "best", f"median of {args.repeat}"],
            [
                [
                    f"`audit_facilities`, {args.n:,} facilities, wall",
                    seconds(min(times)),
                    seconds(statistics.median(times)),
                ],
                [
                    "the same, CPU (wall minus waiting on a busy machine)",
                    seconds(min(cpu)),
                    seconds(statistics.median(cpu)),
                ],
            ],
        )
    )
    print(f"\nGrades: {', '.join(f'{k} {v:,}' for k, v in grades.items())}.")


if __name__ == "__main__":
    main()
