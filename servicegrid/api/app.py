"""The FastAPI application: :func:`create_app` for embedding, :func:`app_from_environment` for workers.

The app serves the routes of :mod:`.routes`, errors as problem documents from one handler
(:mod:`.problems`), OpenAPI at ``/openapi.json`` and its docs at ``/docs`` (Swagger UI) and
``/redoc`` from files shipped in the ``fastapi-offline`` package, so they work without internet.
CORS answers only the origins of the allow-list in the settings; an optional per-key rate limit
answers 429 with ``Retry-After``; JSON access logs are off unless asked for. Maps written beside
the workspace (``<workspace folder>/maps/*.html``) are served under ``/maps/``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import ServiceGridError
from . import problems
from .routes import batch, collections, lookup, nearest, status, updates
from .schemas import MODELS
from .service import Service
from .settings import ApiSettings, load_settings

__all__ = ["app_from_environment", "create_app"]

access_logger = logging.getLogger("servicegrid.api.access")

_DESCRIPTION = """\
Which party-mass service center (党群服务中心/站) is nearest to a point, and how far on foot, for
grid-management platforms, mini-programs and hotlines. Positions are **longitude first** (`lon`,
`lat`, or `location=lng,lat` as Amap writes it; Baidu and Tencent APIs write lat,lng first) in
`coordsys` = `wgs84` (GPS), `cgcs2000`, `gcj02` (Amap, Tencent) or `bd09` (Baidu); answers are in
the same system unless `out_coordsys` names another. Errors are RFC 9457 problem documents.
"""


def create_app(
    workspace: str | Path | None = None,
    *,
    network: str | Path | None = None,
    preset: str | None = None,
    settings: ApiSettings | None = None,
    preload: bool = True,
    **overrides: Any,
) -> FastAPI:
    """The HTTP service of ``workspace``.

    Parameters
    ----------
    workspace, network, preset
        The workspace GeoPackage, its walking network file (default: the roads layer) and the
        standards preset (default: the workspace's); they override ``settings``.
    settings
        The service's settings (default: :func:`~.settings.load_settings`, from the environment
        and ``SERVICEGRID_SETTINGS_FILE``); ``overrides`` replace single settings.
    preload
        Load the workspace before returning (the app answers at once). Otherwise it is loaded in
        the background when the server starts, ``/readyz`` answering 503 until then.

    Raises
    ------
    ServiceGridError
        With ``preload``: the workspace cannot be opened, has errors, or has no network.
    """
    given = {"workspace": workspace, "network": network, "preset": preset, **overrides}
    if settings is None:
        settings = load_settings(**given)
    else:
        settings = settings.model_copy(update={k: v for k, v in given.items() if v is not None})
    service = Service(settings)
    if preload:
        service.load(warm=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not preload:
            threading.Thread(
                target=_load_quietly, args=(service,), name="servicegrid-load", daemon=True
            ).start()
        yield

    app = FastAPIOffline(
        title="servicegrid",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        static_url="/static-docs",
    )
    app.state.service = service
    for exc in (
        problems.Problem,
        RequestValidationError,
        StarletteHTTPException,
        ServiceGridError,
        Exception,
    ):
        app.add_exception_handler(exc, problems.handle)
    for module in (nearest, batch, lookup, collections, updates, status):
        app.include_router(module.router)
    maps = settings.workspace.resolve().parent / "maps" if settings.workspace else None
    if maps is not None and maps.is_dir():
        app.mount("/maps", StaticFiles(directory=maps), name="maps")
    if settings.rate_limit_per_minute:
        app.add_middleware(RateLimit, per_minute=settings.rate_limit_per_minute)
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["X-API-Key", "Content-Type"],
        )
    if settings.access_log:
        app.add_middleware(AccessLog)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """The app of the settings in the environment, loaded in the background (for uvicorn workers)."""
    return create_app(preload=False)


def _load_quietly(service: Service) -> None:
    try:
        service.load()
    except Exception:  # reported by /readyz and the log
        logging.getLogger(__name__).exception("the workspace could not be loaded")


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in MODELS:
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(found.pop("$defs", {}))
        components[model.__name__] = found
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema


class RateLimit:
    """At most ``per_minute`` requests a minute per API key (else per client address) on /v1."""

    def __init__(self, app: ASGIApp, *, per_minute: int) -> None:
        self.app = app
        self.per_minute = per_minute
        self.windows: dict[str, tuple[int, int]] = {}
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        who = headers.get(b"x-api-key", b"").decode("latin-1") or (scope.get("client") or ("?",))[0]
        now = time.time()
        window = int(now // 60)
        with self.lock:
            start, count = self.windows.get(who, (window, 0))
            count = count + 1 if start == window else 1
            self.windows[who] = (window, count)
            if len(self.windows) > 10_000:
                self.windows = {k: v for k, v in self.windows.items() if v[0] == window}
        if count > self.per_minute:
            retry = str(max(1, int(60 - now % 60)))
            problem = problems.Problem(
                429,
                f"more than {self.per_minute} requests this minute; try again in {retry} s",
                kind="rate-limited",
                headers={"Retry-After": retry},
            )
            response = problems.problem_response(problem, instance=scope["path"])
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class AccessLog:
    """One JSON line per request (method, path, status, milliseconds) on ``servicegrid.api.access``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await self.app(scope, receive, sending)
        access_logger.info(
            json.dumps(
                {
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "status": status[0],
                    "ms": round((time.perf_counter() - t0) * 1000, 3),
                }
            )
        )
