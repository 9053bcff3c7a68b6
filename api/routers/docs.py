"""Interactive API documentation that works offline: /docs (Swagger UI) and /redoc (ReDoc).

FastAPI's own pages load their scripts from a CDN, so a machine without internet shows a blank page.
Here the same pages load Swagger UI and ReDoc from the `fastapi-offline` package's static files,
served under /docs/assets; no font, script or style comes from another host.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
TITLE = "AWS workload placement advisor"
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
# What the documentation pages need, open without an API key like the pages themselves.
OPEN_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", *(f"{ASSETS_PATH}/{f}" for f in ASSET_FILES)})

# Belt and braces: the browser may load nothing from another host, even what a bundle asks for itself
# (ReDoc's sidebar links its logo from its CDN; it is hidden and never fetched).
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; font-src 'self' data:")
HIDE_CDN_IMAGES = "<style>img[src^='http']{display:none}</style>"

router = APIRouter(include_in_schema=False)


def _local_only(page: HTMLResponse) -> HTMLResponse:
    body = bytes(page.body).decode().replace("</head>", f"{HIDE_CDN_IMAGES}</head>", 1)
    return HTMLResponse(body, headers={"Content-Security-Policy": CSP})


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return _local_only(get_swagger_ui_html(openapi_url="/openapi.json", title=f"{TITLE}: API",
                               swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                               swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
                               swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
                               oauth2_redirect_url="/docs/oauth2-redirect"))


@router.get("/docs/oauth2-redirect")
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return _local_only(get_redoc_html(openapi_url="/openapi.json", title=f"{TITLE}: API reference",
                          redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
                          redoc_favicon_url=f"{ASSETS_PATH}/favicon.png", with_google_fonts=False))


def install(app: FastAPI) -> None:
    """The documentation routes and their assets (call with docs_url=None, redoc_url=None on the app)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    app.include_router(router)
