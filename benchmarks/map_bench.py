"""The demo county's map: servicegrid against geopandas.explore() on the same layers, in one run.

Builds the demo county (and its audit, coverage and plan) in a scratch folder, then writes

- servicegrid's county map (``servicegrid.maps``), and
- an ``explore()`` map of the same layers (townships, villages, grids, micro-grids, compounds,
  settlements, service areas, uncovered areas, facilities, proposed sites, walking paths), each
  layer a GeoDataFrame.explore(m=...) call with its tooltip columns,

and reports for each: HTML size, gzip size, vertices, external requests and the first render
(median of 3 fresh pages in headless Debian chromium; time from navigation to two animation
frames after the load event; for explore(), whose page loads Leaflet and more from CDNs, those
requests are counted and answered locally, Leaflet from xstatic-leaflet). Also the time to build servicegrid's map from computed results.

    .venv/bin/python benchmarks/map_bench.py
"""

from __future__ import annotations

import gzip
import os
import statistics
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def _explore_map(data, path: Path) -> int:
    import folium
    import shapely

    m = folium.Map(tiles=None, prefer_canvas=True)
    layers = [
        ("townships", ["name"]),
        ("villages", ["name"]),
        ("grids", ["name", "households"]),
        ("microgrids", ["id", "households"]),
        ("compounds", ["name", "households"]),
        ("settlements", ["name", "households"]),
        ("service_areas", ["facility_name", "radius_m"]),
        ("uncovered", ["tier", "area_m2"]),
        ("facilities", ["name", "tier_label", "grade_label", "missing_items_label"]),
        ("proposed", ["name", "build_order", "cost", "households_new"]),
        ("paths", []),
    ]
    vertices = 0
    for name, columns in layers:
        frame = data.frame(name)
        if not len(frame):
            continue
        keep = [c for c in columns if c in frame.columns]
        frame = frame[[*keep, "geometry"]]
        vertices += int(shapely.get_num_coordinates(frame.geometry.to_numpy()).sum())
        frame.explore(m=m, name=name, tooltip=keep or False, show=name not in ("grids", "microgrids"))
    folium.LayerControl().add_to(m)
    m.save(str(path))
    return vertices


def _blocker(blocked: list[str]):
    """Count every request to another host; answer Leaflet's from the xstatic files (so the
    explore() map can draw at all offline) and every other one with an empty body."""
    from servicegrid.maps.assets import leaflet_files

    def route(r):
        url = r.request.url
        if url.startswith(("file:", "data:")):
            r.continue_()
            return
        blocked.append(url)
        name = url.rsplit("/", 1)[-1]
        if name in ("leaflet.js", "leaflet.css"):
            r.fulfill(path=str(leaflet_files() / name))
        else:
            r.fulfill(status=200, body="", content_type="text/plain")

    return route


def _render(browser, path: Path, runs: int = 3) -> tuple[float, int]:
    times, external = [], 0
    for _ in range(runs):
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        blocked: list[str] = []
        page.route("**/*", _blocker(blocked))
        page.goto(path.as_uri(), wait_until="load", timeout=180_000)
        times.append(
            page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"
            )
        )
        external = len(blocked)
        page.close()
    return statistics.median(times), external


def main() -> None:
    from playwright.sync_api import sync_playwright

    from servicegrid.maps import map_data, render_map
    from servicegrid.pipeline import run_demo

    work = Path(tempfile.mkdtemp(prefix="map-bench-"))
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    run = run_demo(work / "demo")
    start = time.perf_counter()
    data = map_data(run.project, audit=run.audit, coverage=run.coverage, plan=run.plan)
    rendered = render_map(data)
    html = rendered.map.get_root().render()
    build_s = time.perf_counter() - start
    ours = work / "county.html"
    ours.write_text(html, encoding="utf-8")
    theirs = work / "explore.html"
    start = time.perf_counter()
    explore_vertices = _explore_map(data, theirs)
    explore_s = time.perf_counter() - start

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        ours_ms, ours_ext = _render(browser, ours)
        theirs_ms, theirs_ext = _render(browser, theirs)
        browser.close()

    def sizes(path: Path) -> tuple[float, float]:
        raw = path.read_bytes()
        return len(raw) / 1e6, len(gzip.compress(raw, 6)) / 1e6

    (o_mb, o_gz), (t_mb, t_gz) = sizes(ours), sizes(theirs)
    print(f"{'':24}{'servicegrid':>14}{'explore()':>14}")
    print(f"{'HTML size':24}{o_mb:>12.2f}MB{t_mb:>12.2f}MB   ({1 - o_mb / t_mb:.0%} smaller)")
    print(f"{'gzip size':24}{o_gz:>12.2f}MB{t_gz:>12.2f}MB")
    print(f"{'vertices':24}{rendered.vertices:>14,}{explore_vertices:>14,}")
    print(f"{'external requests':24}{ours_ext:>14}{theirs_ext:>14}")
    print(f"{'first render (median 3)':24}{ours_ms:>12.0f}ms{theirs_ms:>12.0f}ms")
    print(f"{'map build':24}{build_s:>13.2f}s{explore_s:>13.2f}s")
    print(f"layers: {len(rendered.layers)}; features: {sum(layer.features for layer in rendered.layers):,}")
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
