"""The web pages `proctor serve` serves: static files that talk to the same API as every
other client (no server-side session, no build step). Each page asks for the caller's API
key and keeps it in the browser tab's session storage only."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/")
def learner_page() -> FileResponse:
    return FileResponse(STATIC / "learner.html", media_type="text/html")


@router.get("/officer")
def officer_page() -> FileResponse:
    return FileResponse(STATIC / "officer.html", media_type="text/html")


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)
