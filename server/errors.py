"""One error shape for every route and socket: `{"error": {"code": ..., "message": ...}}`.

A client (or a person reading a log) gets a stable machine code and a sentence naming the
problem; never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from server.service_db import ServiceDatabaseError

log = logging.getLogger("proctor.service")


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The error shape, as a model for the OpenAPI schema of every route."""

    error: ErrorDetail


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def _validation_message(error: RequestValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        problems.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
    return "; ".join(problems)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error_body(error.code, error.message), status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body("invalid_request", _validation_message(error)), status_code=422
        )

    @app.exception_handler(ServiceDatabaseError)
    async def database_down(request: Request, error: ServiceDatabaseError) -> JSONResponse:
        # Keys and policies cannot be read (PostgreSQL unreachable, say): a client should
        # retry later, and nothing of the driver's error is shown to it.
        log.error("service database: %s", error)
        return JSONResponse(
            error_body("service_unavailable", "the service database is unavailable; retry later"),
            status_code=503,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(
            error.status_code, "http_error"
        )
        return JSONResponse(
            error_body(code, str(error.detail)),
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )
