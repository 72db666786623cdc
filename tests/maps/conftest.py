"""The demo county run once per session with its maps, the data the maps draw, and the browser.

The browser is Debian's chromium driven by Playwright (never ``playwright install``). Locally a
test that needs it is skipped with the reason when /usr/bin/chromium is absent; in CI (``CI``
set) a missing browser is a failure: ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "maps"


@dataclass(frozen=True)
class DemoMaps:
    """The demo county written by ``servicegrid demo`` (maps included) and its results."""

    out: Path
    output: str
    project: object
    audit: object
    coverage: object
    plan: object

    @property
    def county(self) -> Path:
        return self.out / "maps" / "county.html"


@pytest.fixture(scope="session")
def demo_maps(tmp_path_factory) -> DemoMaps:
    import pyogrio

    from servicegrid.cli import app
    from servicegrid.pipeline import open_workspace

    out = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # the results the maps were drawn from, read back the way `servicegrid map` reads them
    project = open_workspace(out / "demo-county.gpkg")

    def layers(path):
        return {name: pyogrio.read_dataframe(path, layer=name) for name, _ in pyogrio.list_layers(path)}

    coverage, plan = layers(out / "coverage.gpkg"), layers(out / "plan.gpkg")
    audit = pyogrio.read_dataframe(out / "audit" / "results.gpkg", layer="audit_facilities")
    return DemoMaps(out, result.output, project, audit, coverage, plan)


@pytest.fixture(scope="session")
def demo_data(demo_maps):
    """What the maps of the demo county show, gathered from its written results."""
    from servicegrid.maps import map_data

    out = demo_maps.out
    return map_data(
        demo_maps.project, audit=out / "audit", coverage=out / "coverage.gpkg", plan=out / "plan.gpkg"
    )


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium through Playwright."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs it with apt-get (chromium)")
        pytest.skip(f"real-browser test: {CHROMIUM} is absent (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield launched
        launched.close()


@dataclass
class OpenedPage:
    """A map opened from file:// with every other request blocked and counted."""

    page: object
    external: list[str]
    errors: list[str]
    first_render_ms: float


def open_map(browser, path: Path, *, width: int = 1600, height: int = 1000) -> OpenedPage:
    """Open ``path`` in a new page; wait for the first frame and for every layer to be built."""
    page = browser.new_page(viewport={"width": width, "height": height})
    external: list[str] = []
    errors: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file:", "data:")):
            request_route.continue_()
        else:
            external.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None,
    )
    page.goto(path.as_uri())
    page.wait_for_function("window.servicegrid && window.servicegrid.complete", timeout=30_000)
    rendered = float(page.evaluate("window.servicegrid.rendered"))
    return OpenedPage(page, external, errors, rendered)


_SOURCE = re.compile(r'^\s*SG\.source\(("[^"]*"), ("[^"]*"), (.*), (\d)\);\s*$', re.MULTILINE)
_LAYER = re.compile(r"^\s*SG\.layer\((\w+), (\{.*\})\);\s*$", re.MULTILINE)


def page_data(html: str) -> tuple[dict[str, tuple[str, object]], dict[str, dict]]:
    """The geometry sources (key -> (kind, data, decimals)) and layer specs (key -> spec) written
    in a map."""
    import json

    sources = {
        json.loads(k): (json.loads(kind), json.loads(data), int(decimals))
        for k, kind, data, decimals in _SOURCE.findall(html)
    }
    layers = {}
    for _, spec in _LAYER.findall(html):
        value = json.loads(spec)
        layers[value["key"]] = value
    return sources, layers
