"""Around the answers: status, health, readiness, offline docs, CORS, rate limit, settings, a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from servicegrid.api import create_app
from servicegrid.api.settings import load_settings
from servicegrid.errors import InputError
from tests.api.conftest import P, lonlat

LON, LAT = lonlat(*P)


def test_status_says_what_is_served(client):
    body = client.get("/v1/status").json()
    assert body["workspace"] == "county.gpkg"
    assert body["name"] == "测试县"
    assert body["network"]["source"] == "roads layer"
    assert len(body["network"]["hash"]) == 16
    assert body["preset"]["id"] == "cn-default"
    assert body["counts"]["facilities"] == 5
    assert body["counts"]["facilities_planned"] == 1
    assert body["version"] == 0
    assert body["read_only"] is True
    assert body["last_update"] is None
    assert body["data_date"]
    assert body["servicegrid"]


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_not_ready_while_loading(county_file):
    app = create_app(county_file, preload=False)
    c = TestClient(app)  # no lifespan: nothing loads
    r = c.get("/readyz")
    assert r.status_code == 503
    assert r.headers["retry-after"]
    assert r.headers["content-type"] == "application/problem+json"
    assert c.get("/v1/nearest", params={"lon": LON, "lat": LAT}).status_code == 503
    assert c.get("/healthz").status_code == 200


def test_unknown_paths_are_problems(client):
    r = client.get("/v2/nothing")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 404


def test_docs_work_offline(client):
    page = client.get("/docs").text
    assert "/static-docs/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert "https://" not in page
    assert "http://" not in page
    js = client.get("/static-docs/swagger-ui-bundle.js")
    assert js.status_code == 200
    assert len(js.content) > 100_000
    assert client.get("/static-docs/swagger-ui.css").status_code == 200
    redoc = client.get("/redoc").text
    assert "/static-docs/redoc.standalone.js" in redoc
    assert "fonts.googleapis" not in redoc
    spec = client.get("/openapi.json").json()
    nearest = spec["paths"]["/v1/nearest"]["get"]["responses"]
    assert "application/geo+json" in nearest["200"]["content"]
    assert "application/problem+json" in nearest["422"]["content"]


def test_cors_answers_only_the_allow_list(county_file):
    with TestClient(create_app(county_file, cors_origins=["https://grid.example.cn"])) as c:
        ok = c.get("/healthz", headers={"Origin": "https://grid.example.cn"})
        assert ok.headers["access-control-allow-origin"] == "https://grid.example.cn"
        other = c.get("/healthz", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers
    with pytest.raises(InputError, match="'\\*'"):
        load_settings(cors_origins=["*"])


def test_the_rate_limit_answers_429_with_retry_after(county_file):
    with TestClient(create_app(county_file, rate_limit_per_minute=3)) as c:
        codes = [
            c.get(
                "/v1/nearest", params={"lon": LON, "lat": LAT}, headers={"X-API-Key": "caller-one"}
            ).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        last = c.get("/v1/nearest", params={"lon": LON, "lat": LAT}, headers={"X-API-Key": "caller-one"})
        assert 1 <= int(last.headers["retry-after"]) <= 60
        assert last.headers["content-type"] == "application/problem+json"
        assert (
            c.get(
                "/v1/nearest", params={"lon": LON, "lat": LAT}, headers={"X-API-Key": "caller-two"}
            ).status_code
            == 200
        )
        assert c.get("/healthz").status_code == 200  # not limited


def test_settings_from_code_environment_and_file(tmp_path, monkeypatch):
    file = tmp_path / "serve.toml"
    file.write_text(
        'api_keys = ["from-the-file-key"]\nbatch_max_rows = 50\nrate_limit_per_minute = 600\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SERVICEGRID_BATCH_MAX_ROWS", "70")
    monkeypatch.setenv("SERVICEGRID_CORS_ORIGINS", "https://a.example.cn, https://b.example.cn/")
    s = load_settings(file, rate_limit_per_minute=5)
    assert s.api_keys == ["from-the-file-key"]  # the file
    assert s.batch_max_rows == 70  # the environment beats the file
    assert s.rate_limit_per_minute == 5  # what is given beats both
    assert s.cors_origins == ["https://a.example.cn", "https://b.example.cn"]
    monkeypatch.setenv("SERVICEGRID_SETTINGS_FILE", str(file))
    assert load_settings().api_keys == ["from-the-file-key"]
    with pytest.raises(InputError, match="batch_max_rows"):
        load_settings(batch_max_rows=0)
    with pytest.raises(InputError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_a_workspace_without_a_network_is_refused(tmp_path):
    from servicegrid.geo.workspace import write_layers
    from tests.api.conftest import county_layers

    layers = county_layers()
    del layers["roads"]
    write_layers(tmp_path / "bare.gpkg", layers)
    with pytest.raises(InputError, match="no roads layer and no walking network"):
        create_app(tmp_path / "bare.gpkg")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_real_server_answers_and_stops(county_copy: Path):
    port = _free_port()
    exe = Path(sys.executable).with_name("servicegrid")
    env = {**os.environ, "SERVICEGRID_API_KEYS": "real-server-key-1"}
    proc = subprocess.Popen(
        [str(exe), "serve", str(county_copy), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()
            time.sleep(0.3)
        assert ready is not None
        assert ready.status_code == 200
        body = httpx.get(f"{base}/v1/nearest", params={"location": f"{LON},{LAT}"}, timeout=10).json()
        assert body["features"][0]["properties"]["id"] == "F2"
        put = httpx.put(
            f"{base}/v1/facilities/F1",
            json={"properties": {"name": "新名"}},
            headers={"X-API-Key": "real-server-key-1"},
            timeout=60,
        )
        assert put.status_code == 200
        assert put.json()["version"] == 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode is not None
