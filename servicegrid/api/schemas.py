"""The shapes of the answers, for OpenAPI: pydantic models that document, never built per request.

Routes answer with plain dicts serialized by orjson (:mod:`.serialization`); these models only
give ``/openapi.json`` the schema of each answer and request body, which the fuzzing tests check
every answer against. :func:`responses` declares an operation's answers by status and media
type, errors included (``application/problem+json``, :mod:`.problems`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .problems import PROBLEM_MEDIA_TYPE
from .serialization import CSV_MEDIA_TYPE, GEOJSON_MEDIA_TYPE

__all__ = ["responses"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ProblemDoc(_Open):
    """An RFC 9457 problem."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
    hint: str | None = None


class Geometry(_Open):
    type: str
    coordinates: list[Any]


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=3)


class Explain(_Open):
    snapped_to: list[float] | None
    snap_m: float | None
    network_m: float | None
    straight_m: float | None
    detour: float | None
    radius_m: float | None
    reason: str


class NearestProperties(_Open):
    id: str | None = None
    name: str | None = None
    tier: str | None = None
    for_tier: str
    rank: int
    walk_m: float | None
    walk_min: float | None
    straight_m: float | None
    radius_m: float | None
    within_radius: bool | None
    explain: Explain
    route: Geometry | None = None


class NearestFeature(BaseModel):
    type: Literal["Feature"]
    id: str | None
    geometry: Geometry
    properties: NearestProperties


class TierStatus(BaseModel):
    tier: str
    status: Literal["ok", "no_facility", "unreachable", "beyond_max"]
    found: int
    reason: str | None


class Snap(BaseModel):
    snapped_to: list[float] | None
    snap_m: float | None
    on_network: bool


class NearestCollection(BaseModel):
    """The nearest facilities of one point."""

    type: Literal["FeatureCollection"]
    features: list[NearestFeature]
    query: dict[str, Any]
    status: Literal[
        "ok", "outside_area", "off_network", "no_facility", "unreachable", "beyond_max", "no_tier"
    ]
    reason: str | None
    snap: Snap | None
    tiers: list[TierStatus]
    numberReturned: int


class BatchNearest(_Open):
    tier: str
    facility_id: str | None
    walk_m: float | None


class BatchProperties(_Open):
    id: str | None
    row: int
    status: Literal["ok", "error", "outside_area", "off_network"]
    error: str | None = None
    nearest: list[BatchNearest]


class BatchFeature(BaseModel):
    type: Literal["Feature"]
    id: str | None
    geometry: Geometry | None
    properties: BatchProperties


class BatchCollection(BaseModel):
    """One feature per input row, in input order."""

    type: Literal["FeatureCollection"]
    features: list[BatchFeature]
    numberReturned: int
    errors: int
    query: dict[str, Any]


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class Feature(BaseModel):
    type: Literal["Feature"]
    id: str | int | None = None
    geometry: Geometry | None
    properties: dict[str, Any]
    links: list[Link] | None = None


class Collection(BaseModel):
    """An OGC API – Features page."""

    type: Literal["FeatureCollection"]
    features: list[Feature]
    numberMatched: int
    numberReturned: int
    links: list[Link]
    timeStamp: str | None = None


class LookupAnswer(_Open):
    """Where a point is and how each tier covers it."""

    query: dict[str, Any]
    inside: bool
    township: dict[str, Any] | None
    village: dict[str, Any] | None
    grid: dict[str, Any] | None
    compound: dict[str, Any] | None
    settlement: dict[str, Any] | None
    coverage: list[dict[str, Any]]


class SummaryAnswer(_Open):
    method: str
    township: str | None
    rows: list[dict[str, Any]]


class UpdateAnswer(_Open):
    """What an update changed."""

    version: int
    seconds: float
    facility: Feature
    tiers_recomputed: list[str]
    tiers: list[dict[str, Any]]
    units: list[dict[str, Any]]


class StatusAnswer(_Open):
    workspace: str
    name: str
    data_date: str | None
    network: dict[str, Any]
    preset: dict[str, Any]
    counts: dict[str, int]
    servicegrid: str
    version: int
    last_update: str | None
    read_only: bool
    maps: list[Link]


class Health(_Open):
    status: str


class FacilityBody(BaseModel):
    """A new or changed facility: a GeoJSON Feature (geometry optional when changing one)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Feature"] = "Feature"
    id: str | None = Field(None, max_length=200, description="The facility id (or give it in properties.id).")
    geometry: PointGeometry | None = None
    properties: dict[str, str | float | int | bool | list[str] | None] = Field(default_factory=dict)


def _content(media: str, model: type[BaseModel] | None) -> dict[str, Any]:
    schema = {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}} if model else {"schema": {}}
    return {media: schema}


_ERRORS = {
    400: "The request cannot be read",
    401: "No API key",
    403: "Wrong API key, or a read-only service",
    404: "No such resource",
    406: "No answer in the media type asked for",
    409: "The facility exists already",
    413: "Too many rows in one batch",
    415: "A body of a media type the operation does not take",
    422: "Invalid parameters (each one in `errors`), e.g. a swapped longitude and latitude",
    429: "Over the rate limit (see Retry-After)",
    500: "The workspace could not be written",
    503: "Still loading, or busy (see Retry-After)",
}

#: Models referenced by :func:`responses`, added to the OpenAPI components.
MODELS: tuple[type[BaseModel], ...] = (
    ProblemDoc,
    NearestCollection,
    BatchCollection,
    Collection,
    Feature,
    LookupAnswer,
    SummaryAnswer,
    UpdateAnswer,
    StatusAnswer,
    Health,
)


def responses(
    ok: type[BaseModel] | None,
    *,
    media: str = "application/json",
    status: int = 200,
    errors: tuple[int, ...] = (422,),
    also: dict[str, type[BaseModel] | None] | None = None,
) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: its answer and its errors as problem documents."""
    content = _content(media, ok)
    for extra_media, model in (also or {}).items():
        content.update(_content(extra_media, model))
    out: dict[int | str, dict[str, Any]] = {status: {"description": "The answer", "content": content}}
    for code in sorted({*errors, 400, 429, 503}):
        out[code] = {
            "description": _ERRORS.get(code, "Error"),
            "content": _content(PROBLEM_MEDIA_TYPE, ProblemDoc),
        }
    return out


GEOJSON = GEOJSON_MEDIA_TYPE
CSV = CSV_MEDIA_TYPE
