"""Pure ASGI middleware (no per-request task or copy of the body):

- `RequestContext` (outermost): request id (X-Request-ID, the client's when sane), one JSON access-log line
  and Prometheus observations per request, and the last-resort 500 for an unexpected exception;
- `ApiKeyAuth`: X-API-Key compared in constant time, before any body is read (/healthz, /metrics and
  the documentation stay open);
- `BodyLimit`: 413 from Content-Length before reading anything, and while streaming when there is none.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import access_log, request_id_from, request_id_var
from api.metrics import Metrics

log = logging.getLogger("api")

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


async def send_error(send: Send, status: int, code: str, message: str, headers: Iterable[tuple[str, str]] = ()) -> None:
    """An ErrorBody answer sent straight from middleware (same shape as api.errors.error_json)."""
    body = json.dumps({"status": status, "code": code, "message": message, "errors": [],
                       "request_id": request_id_var.get()}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RouteLabels:
    """The route template of a path (bounded label cardinality: never the raw path), from the app's own list."""

    def __init__(self, templates: Callable[[], Iterable[str]]) -> None:
        self._templates = templates
        self._compiled: list[tuple[re.Pattern[str], str]] | None = None

    def __call__(self, path: str) -> str:
        if self._compiled is None:
            self._compiled = [(compile_path(t)[0], t) for t in self._templates()]
        for regex, template in self._compiled:
            if regex.match(path):
                return template
        return "(unmatched)"


class RequestContext:
    def __init__(self, app: ASGIApp, metrics: Metrics, templates: Callable[[], Iterable[str]]) -> None:
        self.app = app
        self.metrics = metrics
        self.route_label = RouteLabels(templates)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        rid = request_id_from(_header(scope, b"x-request-id"))
        token = request_id_var.set(rid)
        status = 500
        response_started = False
        body_bytes = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started, body_bytes
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            elif message["type"] == "http.response.body":
                body_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unexpected error while answering %s %s", scope.get("method"), scope.get("path"))
            if response_started:
                raise
            status = 500
            await send_error(send_with_id, 500, "internal_error",
                             f"an unexpected error occurred; quote request id {rid} when reporting it")
        finally:
            elapsed = time.perf_counter() - started_at
            method = scope.get("method", "")
            method = method if method in KNOWN_METHODS else "OTHER"
            route = self.route_label(scope.get("path", ""))
            self.metrics.observe(method, route, status, elapsed)
            client = scope.get("client")
            access_log.info("request", extra={"fields": {
                "request_id": rid, "method": method, "path": scope.get("path", "")[:200], "route": route,
                "status": status, "duration_ms": round(elapsed * 1000, 2), "bytes_out": body_bytes,
                "client": client[0] if client else None}})
            request_id_var.reset(token)


class ApiKeyAuth:
    def __init__(self, app: ASGIApp, api_key: str, open_paths: frozenset[str]) -> None:
        self.app = app
        self.key = api_key.encode("utf-8")
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") not in self.open_paths:
            given = _header(scope, b"x-api-key")
            if given is None or not secrets.compare_digest(given, self.key):
                what = "missing" if given is None else "wrong"
                await send_error(send, 401, "unauthorized", f"{what} API key: send the header X-API-Key",
                                 headers=[("WWW-Authenticate", 'ApiKey header="X-API-Key"')])
                return
        await self.app(scope, receive, send)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit:,} bytes "
                              "(ADVISOR_MAX_BODY_BYTES); split the input")


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit() or len(declared) > 18:
                await send_error(send, 400, "bad_request", "the Content-Length header is not a whole number")
                return
            if int(declared) > self.max_bytes:
                await send_error(send, 413, "body_too_large", str(BodyTooLarge(self.max_bytes).detail))
                return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            if response_started:
                raise
            await send_error(send, 413, "body_too_large", str(exc.detail))
