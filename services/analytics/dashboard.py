"""The ops dashboard: one page and its static files, served without a token (the page asks
for one and sends it with each data request)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
router = APIRouter(tags=["dashboard"])


@router.get("/ops", include_in_schema=False)
async def ops_page() -> FileResponse:
    return FileResponse(STATIC / "ops.html", headers={"Cache-Control": "no-store"})


@router.get("/ops/", include_in_schema=False)
async def ops_page_slash() -> RedirectResponse:
    return RedirectResponse("/ops", status_code=308)


def mount_static(app: FastAPI) -> None:
    app.mount("/ops/static", StaticFiles(directory=STATIC), name="ops-static")
