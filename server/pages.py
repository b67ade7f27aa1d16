"""The web pages `proctor serve` serves: static files that talk to the same API as every
other client (no server-side session, no build step). Each page asks for the caller's API
key and keeps it in the browser tab's session storage only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {
    "/": "learner.html",
    "/officer": "officer.html",
    "/auditor": "auditor.html",
    "/analytics": "analytics.html",
}

router = APIRouter(include_in_schema=False)


def _page(file: str) -> Callable[[], FileResponse]:
    def page() -> FileResponse:
        return FileResponse(STATIC / file, media_type="text/html")

    return page


for _path, _file in PAGES.items():
    router.add_api_route(_path, _page(_file), methods=["GET"], name=_file.removesuffix(".html"))


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)
