"""Our own pages and files: `static/` (part of the installed package, written by
us, no CDN and no build step) under /static/, and its index page at /."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

#: The folder of the installed package holding the pages, styles and scripts.
STATIC = Path(__file__).resolve().parent / "static"


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC, name="static", append_version=False)


async def index(_request: web.Request) -> web.FileResponse:
    """What a person who opens PUBLIC_URL in a browser sees."""
    return web.FileResponse(STATIC / "index.html")
