"""The HTTP service other systems call: the nearest service center on foot, batches, lookups,
collections of facilities and townships, and live updates of facilities.

:func:`create_app` builds the FastAPI app of a workspace (for embedding in another ASGI server or
a test client); ``servicegrid serve WS`` runs it on uvicorn. The parts: :mod:`.settings`
(pydantic-settings), :mod:`.service` (loading, the version stamp and lock shared by workers),
:mod:`.state` (one consistent state per version), :mod:`.index` (the per-tier nearest arrays,
snapping, bounded searches and routes), :mod:`.areas` (which unit a point is in), :mod:`.units`
(per-unit coverage and its diff), :mod:`.facilities` (the facility table with audit results),
:mod:`.updates` (applying a facility change), :mod:`.answers` (nearest answers and reasons),
:mod:`.points` (positions and coordinate systems), :mod:`.problems` (RFC 9457 errors),
:mod:`.serialization` (orjson, GeoJSON, CSV), :mod:`.schemas` (OpenAPI shapes) and
:mod:`.routes`. It reads the workspace only through :mod:`servicegrid.pipeline`.

Examples
--------
>>> from servicegrid.api import create_app                         # doctest: +SKIP
>>> app = create_app("county.gpkg", network="county.osm.pbf")       # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app"]

if TYPE_CHECKING:
    from .app import create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    msg = f"module 'servicegrid.api' has no attribute '{name}'"
    raise AttributeError(msg)
