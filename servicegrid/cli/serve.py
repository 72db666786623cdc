"""The ``serve`` command: the HTTP service of a workspace on uvicorn (see :mod:`servicegrid.api`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ._app import app, err_console

__all__ = ["serve"]


@app.command()
def serve(
    workspace: Annotated[Path, typer.Argument(help="Workspace GeoPackage.")],
    network: Annotated[
        Path | None,
        typer.Option(
            help="Walking network: OpenStreetMap or GraphML file (default: the workspace's roads layer)."
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes; updates are serialized by a lock and seen by all.")
    ] = 1,
    settings: Annotated[
        Path | None,
        typer.Option(
            "--settings", help="TOML settings file (api_keys, cors_origins, rate_limit_per_minute …)."
        ),
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="Preset name or YAML file (default: the workspace's).")
    ] = None,
) -> None:
    """Serve the nearest service center, lookups, collections and live updates over HTTP (FastAPI).

    OpenAPI at /openapi.json, docs at /docs (offline), readiness at /readyz. Settings come from
    SERVICEGRID_* environment variables and the --settings file; see the README.
    """
    import uvicorn

    from ..api.settings import SETTINGS_FILE_VARIABLE, load_settings

    if not workspace.is_file():
        from ..errors import InputError

        msg = "workspace not found; create one with 'servicegrid import' or 'servicegrid demo'"
        raise InputError(msg, source=workspace)
    load_settings(settings, workspace=workspace, network=network, preset=preset)  # refuse bad settings now
    os.environ["SERVICEGRID_WORKSPACE"] = str(workspace.resolve())
    if network is not None:
        os.environ["SERVICEGRID_NETWORK"] = str(network.resolve())
    if preset is not None:
        os.environ["SERVICEGRID_PRESET"] = preset
    if settings is not None:
        os.environ[SETTINGS_FILE_VARIABLE] = str(settings.resolve())
    err_console.print(
        f"serving {workspace} on http://{host}:{port} (docs: /docs, ready: /readyz)", highlight=False
    )
    uvicorn.run(
        "servicegrid.api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
    )
