"""Errors as RFC 9457 problem details (``application/problem+json``), from one exception handler.

Every error the service answers has ``type`` (a URN naming the kind of problem), ``title``,
``status`` and ``detail``; a 422 also has ``errors``, one entry per offending parameter or field
(``{"name": ..., "in": "query", "message": ...}``), and may have a ``hint``. Route code raises
:class:`Problem`; :func:`handle` turns it, FastAPI's validation errors, Starlette's HTTP errors,
:class:`~servicegrid.errors.ServiceGridError` (a 422 with its message) and anything unexpected
(a 500 that names no internals) into the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import ServiceGridError

__all__ = ["PROBLEM_MEDIA_TYPE", "Problem", "handle", "problem_response"]

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "API key required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Not ready",
}


class Problem(Exception):
    """An error answer: HTTP ``status``, a ``kind`` (the last part of its type URN) and a detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _slug(_TITLES.get(status, "error"))
        self.title = title or _TITLES.get(status, "Error")
        self.errors = errors
        self.hint = hint
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The problem document."""
        out: dict[str, Any] = {
            "type": f"urn:servicegrid:problem:{self.kind}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            out["instance"] = instance
        if self.errors is not None:
            out["errors"] = self.errors
        if self.hint:
            out["hint"] = self.hint
        out.update(self.extra)
        return out


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")


def problem_response(problem: Problem, *, instance: str | None = None) -> Response:
    """The response of ``problem``: its status, ``application/problem+json``, its headers."""
    return Response(
        orjson.dumps(problem.body(instance), option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        where = loc[0] if loc else "request"
        name = ".".join(loc[1:]) if len(loc) > 1 else where
        out.append({"name": name, "in": where, "message": str(error.get("msg", "invalid value"))})
    return out


async def handle(request: Request, exc: Exception) -> Response:
    """The one exception handler: every error becomes a problem document."""
    instance = request.url.path
    if isinstance(exc, Problem):
        return problem_response(exc, instance=instance)
    if isinstance(exc, RequestValidationError):
        errors = _validation_errors(exc)
        names = ", ".join(dict.fromkeys(e["name"] for e in errors))
        problem = Problem(422, f"invalid value(s) for: {names}", kind="invalid-parameters", errors=errors)
        return problem_response(problem, instance=instance)
    if isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(status, "error")
        if status == 404 and detail == "Not Found":
            detail = f"no resource at {instance}; see /docs for what the service answers"
        return problem_response(Problem(status, detail, headers=dict(exc.headers or {})), instance=instance)
    if isinstance(exc, ServiceGridError):
        return problem_response(Problem(422, str(exc), kind="invalid-input"), instance=instance)
    logger.exception("unexpected error answering %s %s", request.method, instance)
    problem = Problem(
        500, "the service failed to answer this request; the error is in its log", kind="internal"
    )
    return problem_response(problem, instance=instance)
