"""What the routes share: the current state of the request's service, parameters, tier checks."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, get_args, get_origin

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from ..problems import Problem

if TYPE_CHECKING:
    from ..service import Service
    from ..state import State

__all__ = [
    "CoordSys",
    "Coords",
    "OutCoordSys",
    "check_tiers",
    "query_parameters",
    "read_query",
    "service",
    "state",
]

Model = TypeVar("Model", bound=BaseModel)

Coords = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]
CoordSys = Annotated[
    Coords,
    Query(
        description="Coordinate system of the position given: wgs84 (GPS), cgcs2000, gcj02 (Amap, Tencent), bd09 (Baidu)."
    ),
]
OutCoordSys = Annotated[
    Coords | None,
    Query(description="Coordinate system of the answer's positions (default: the one given in coordsys)."),
]


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI query parameters of ``model``, one per field (for ``openapi_extra``).

    A hot route reads its query string through :func:`read_query` instead of FastAPI's
    per-parameter machinery (which costs more than the answer on ``/v1/nearest``); the model is
    the one declaration of both the documentation and the validation.
    """
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        out.append(param)
    return out


def read_query(request: Request, model: type[Model]) -> Model:
    """The request's query string validated by ``model`` (a list field takes every repeated
    value, the others the last); invalid values are a 422 naming each, like FastAPI's own."""
    params = request.query_params
    data: dict[str, Any] = {}
    for name, many in _fields(model):
        if many:
            values = params.getlist(name)
            if values:
                data[name] = values
        elif (value := params.get(name)) is not None:
            data[name] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


@cache
def _fields(model: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """Each field of ``model`` and whether it takes a list (``list[...]`` or ``list[...] | None``)."""
    out = []
    for name, field in model.model_fields.items():
        kinds = [field.annotation, *get_args(field.annotation)]
        out.append((name, any(get_origin(k) is list for k in kinds)))
    return tuple(out)


def service(request: Request) -> Service:
    """The service the request is answered by."""
    return request.app.state.service


def state(request: Request) -> State:
    """The current state of the request's service (503 while loading)."""
    return request.app.state.service.state()


def check_tiers(state: State, tiers: list[str] | None, name: str = "tier") -> list[str] | None:
    """``tiers`` if every one is a tier of the preset, else a 422 naming the known ones."""
    if not tiers:
        return None
    wanted = [t.strip() for value in tiers for t in value.split(",") if t.strip()]
    known = state.index.tiers
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise Problem(
            422,
            f"unknown tier(s): {', '.join(unknown)}",
            kind="invalid-parameters",
            errors=[
                {
                    "name": name,
                    "in": "query",
                    "message": f"'{t}' is not a tier; tiers are: {', '.join(known)}",
                }
                for t in unknown
            ],
        )
    return list(dict.fromkeys(wanted)) or None
