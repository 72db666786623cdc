"""The HTTP service on the demo county, one worker, loopback only: latency, throughput, CPU, batch, update.

    .venv/bin/python benchmarks/api_bench.py [--seconds 6]

Generates the demo county into benchmarks/_work/api (once), starts ``servicegrid serve`` on
127.0.0.1 and a free port (and never sends anything anywhere else), and measures, each bounded
in requests and seconds:

- start-up: from launching the process to /readyz answering 200 (network from the cache);
- unloaded latency of /v1/nearest: one connection, one request at a time (wrk, or httpx);
- latency at a paced 200 requests/s (a bounded httpx loop);
- throughput saturated with 16 connections (wrk -c16), and the server's CPU time per request of
  /v1/nearest against /healthz in the same run (from /proc/<pid>/stat);
- a 1,000-point batch end to end, and a facility update with its coverage diff;
- in process: the lookup itself (snap + array lookup), and the same nearest answered by a naive
  per-request networkx search (Dijkstra from the snapped node until a facility is settled).

Prints the machine's load average before and after, and a Markdown table of the figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "api"
KEY = "benchmark-key-0001"
HOST = "127.0.0.1"  # loopback only


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _demo() -> tuple[Path, Path]:
    from servicegrid.demo import write_demo_county

    ws, net = WORK / "demo-county.gpkg", WORK / "demo-county-walk.osm"
    if not ws.exists():
        write_demo_county(WORK)
    return ws, net


def _points(ws: Path, n: int, seed: int = 0) -> np.ndarray:
    """Query points: around the demo's compounds and settlements, 0–150 m off (WGS-84)."""
    import geopandas as gpd

    frames = [gpd.read_file(ws, layer=name) for name in ("compounds", "settlements")]
    pts = np.concatenate([f.geometry.representative_point().get_coordinates().to_numpy() for f in frames])
    rng = np.random.default_rng(seed)
    pick = pts[rng.integers(0, len(pts), n)]
    return pick + rng.normal(0, 0.0008, pick.shape)


def _wrk(url_file: Path, base: str, connections: int, seconds: float) -> dict[str, float]:
    lua = url_file.with_suffix(".lua")
    lua.write_text(
        "paths = {}\nfor line in io.lines('" + str(url_file) + "') do paths[#paths + 1] = line end\n"
        "i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "1" if connections == 1 else "2",
            "-c",
            str(connections),
            "-d",
            f"{seconds:g}s",
            "--latency",
            "-s",
            str(lua),
            base,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    figures: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split()
        if line.strip().startswith(("50%", "99%")):
            figures[parts[0]] = _ms(parts[1])
        if line.startswith("Requests/sec:"):
            figures["rps"] = float(parts[1])
        if "requests in" in line:
            figures["requests"] = float(parts[0])
    return figures


def _ms(text: str) -> float:
    for unit, scale in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float(text)


def _paced(client, paths: list[str], rate: float, seconds: float) -> list[float]:
    """Latencies (ms) of requests sent at ``rate`` per second for ``seconds`` (bounded)."""
    times, start = [], time.perf_counter()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        t0 = time.perf_counter()
        r = client.get(paths[i % len(paths)])
        times.append((time.perf_counter() - t0) * 1e3)
        assert r.status_code == 200
    return times


def _naive_networkx(ws: Path, net_path: Path, points: np.ndarray) -> tuple[float, float, float]:
    """Per query µs of the service's in-process lookup and of a naive networkx search; agreement."""
    import networkx as nx

    from servicegrid.api import create_app

    app = create_app(ws, network=net_path)
    state = app.state.service.state()
    index, net = state.index, state.network
    xy = state.converter.to_metric(points[:, 0], points[:, 1], "wgs84")
    tier = "compound_station"
    t0 = time.perf_counter()
    for p in xy:
        index.nearest(tier, index.snap(p[None, :]))
    ours = (time.perf_counter() - t0) / len(xy) * 1e6
    graph = nx.Graph()
    graph.add_weighted_edges_from(
        zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_length.tolist(), strict=True)
    )
    ti = index.tiers[tier]
    fac_nodes = {}
    fs = index.facility_snap
    for f in ti.members.tolist():
        fac_nodes.setdefault(int(fs.node_u[f]), []).append((f, float(fs.to_u[f] + fs.offset[f])))
        fac_nodes.setdefault(int(fs.node_v[f]), []).append((f, float(fs.to_v[f] + fs.offset[f])))
    agree = 0
    t0 = time.perf_counter()
    for p in xy:
        node = int(net.kdtree.query(p)[1])
        best, best_d = -1, np.inf
        for target, d in nx.single_source_dijkstra_path_length(graph, node, weight="weight").items():
            if d > best_d:
                break
            for f, extra in fac_nodes.get(target, ()):
                if d + extra < best_d:
                    best, best_d = f, d + extra
        agree += int(best == int(index.nearest(tier, index.snap(p[None, :])).facility[0]))
    naive = (time.perf_counter() - t0) / len(xy) * 1e6
    return ours, naive, agree / len(xy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="Length of each wrk run (bounded).")
    args = parser.parse_args()
    print(f"load average before the run: {os.getloadavg()}")
    ws, net = _demo()
    run_dir = Path(tempfile.mkdtemp(prefix="serve.", dir=WORK))
    shutil.copyfile(ws, run_dir / ws.name)
    if (WORK / ".servicegrid-cache").exists():
        shutil.copytree(WORK / ".servicegrid-cache", run_dir / ".servicegrid-cache", dirs_exist_ok=True)
    served = run_dir / ws.name
    points = _points(ws, 500)
    paths = [f"/v1/nearest?lon={lon:.7f}&lat={lat:.7f}" for lon, lat in points]
    urls = run_dir / "nearest.txt"
    urls.write_text("\n".join(paths) + "\n")
    health = run_dir / "healthz.txt"
    health.write_text("/healthz\n")

    import httpx

    figures: dict[str, str] = {}
    for attempt in ("first start (builds the network cache)", "start-up (network cached)"):
        port = _free_port()
        env = {**os.environ, "SERVICEGRID_API_KEYS": KEY}
        exe = Path(sys.executable).with_name("servicegrid")
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [str(exe), "serve", str(served), "--network", str(net), "--host", HOST, "--port", str(port)],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://{HOST}:{port}"
        while time.perf_counter() - t0 < 180:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        figures[attempt] = f"{time.perf_counter() - t0:.2f} s"
        if attempt.startswith("first"):
            proc.terminate()
            proc.wait(timeout=30)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            while (
                client.get("/v1/lookup", params={"lon": points[0][0], "lat": points[0][1]}).status_code != 200
            ):
                time.sleep(0.1)  # the per-unit coverage is warm
            ok = sum(client.get(p).json()["status"] == "ok" for p in paths[:100])
            figures["query points answered ok"] = f"{ok} of 100"
            one = _wrk(urls, base, 1, args.seconds)
            figures["unloaded /v1/nearest p50 / p99 (1 connection)"] = (
                f"{one['50%']:.2f} / {one['99%']:.2f} ms ({one['rps']:.0f} req/s)"
            )
            paced = _paced(client, paths, 200, args.seconds)
            figures["at 200 req/s: p50 / p99"] = (
                f"{np.percentile(paced, 50):.2f} / {np.percentile(paced, 99):.2f} ms"
            )
            cpu0 = _cpu_seconds(proc.pid)
            hz = _wrk(health, base, 16, args.seconds)
            cpu1 = _cpu_seconds(proc.pid)
            near = _wrk(urls, base, 16, args.seconds)
            cpu2 = _cpu_seconds(proc.pid)
            per_health = (cpu1 - cpu0) / hz["requests"] * 1e3
            per_near = (cpu2 - cpu1) / near["requests"] * 1e3
            figures["saturated /v1/nearest, 16 connections"] = (
                f"{near['rps']:.0f} req/s (p50 {near['50%']:.1f} ms, p99 {near['99%']:.1f} ms)"
            )
            figures["saturated /healthz, 16 connections"] = f"{hz['rps']:.0f} req/s"
            figures["server CPU per request: nearest / healthz"] = (
                f"{per_near:.3f} / {per_health:.3f} ms = {per_near / per_health:.2f}×"
            )
            batch = {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": str(i),
                        "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
                    }
                    for i, (x, y) in enumerate(_points(ws, 1000, seed=1))
                ],
            }
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                r = client.post("/v1/nearest:batch", json=batch)
                times.append(time.perf_counter() - t0)
                assert r.status_code == 200
            best = min(times)
            figures["1,000-point batch end to end (best / median of 5)"] = (
                f"{best * 1e3:.0f} / {statistics.median(times) * 1e3:.0f} ms = {1000 / best:,.0f} points/s, "
                f"{1000 / best / near['rps']:.1f}× the single requests"
            )
            fac = client.get("/v1/facilities", params={"tier": "compound_station", "limit": 5}).json()[
                "features"
            ]
            times, diffs = [], []
            for i, feature in enumerate(fac):
                lon, lat = feature["geometry"]["coordinates"]
                body = {"geometry": {"type": "Point", "coordinates": [lon + 0.0015 * (-1) ** i, lat + 0.001]}}
                t0 = time.perf_counter()
                r = client.put(f"/v1/facilities/{feature['id']}", json=body, headers={"X-API-Key": KEY})
                times.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.text
                diffs.append(len(r.json()["units"]))
            figures["facility update with its diff (best / median of 5)"] = (
                f"{min(times) * 1e3:.0f} / {statistics.median(times) * 1e3:.0f} ms ({sum(diffs)} units changed in all)"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ours, naive, agree = _naive_networkx(served, net, points[:200])
    figures["in process: snap + lookup per query"] = f"{ours:.0f} µs"
    figures["in process: naive networkx per query"] = (
        f"{naive:,.0f} µs = {naive / ours:.0f}× the index ({agree:.0%} same facility)"
    )
    shutil.rmtree(run_dir, ignore_errors=True)
    print(f"load average after the run: {os.getloadavg()}")
    print("\n| measure | figure |\n|---|---|")
    for name, value in figures.items():
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
