"""`advisor serve`: uvicorn over the app factory, JSON logs, one Prometheus view over all workers."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import socket
import tempfile

import uvicorn
from pydantic import ValidationError
from uvicorn.protocols.http.h11_impl import H11Protocol

try:  # the faster parser when installed (uvicorn[standard])
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol
except ImportError:  # pragma: no cover - depends on the environment
    _BaseProtocol = H11Protocol  # type: ignore[assignment,misc]

from advisor.errors import InputError
from advisor.workload_io import field_errors
from api.logs import log_config
from api.metrics import multiprocess_dir
from api.settings import Settings


class NoDelayProtocol(_BaseProtocol):  # type: ignore[valid-type,misc]
    """uvicorn's HTTP protocol with TCP_NODELAY on every connection.

    With --workers > 1, uvicorn shares a listening socket created without an explicit protocol number, so
    asyncio does not set TCP_NODELAY on accepted connections; an answer written as headers then body then
    waits for the client's delayed ACK: +40 ms on every keep-alive request. Setting it here fixes that.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # not a TCP socket after all
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def run(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API until interrupted. Settings come from ADVISOR_* variables (checked here, before start)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        bad = "; ".join(f"ADVISOR_{e['field'].upper()}: {e['message']}" for e in field_errors(exc))
        raise InputError(f"bad server setting: {bad}") from None
    if workers > 1 and "ADVISOR_SOLVER_WORKERS" not in os.environ:
        # one solver process per core in all, not per core per worker
        os.environ["ADVISOR_SOLVER_WORKERS"] = str(max(1, (os.cpu_count() or 1) // workers))
    if workers > 1 and not multiprocess_dir():
        folder = tempfile.mkdtemp(prefix="advisor-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        atexit.register(shutil.rmtree, folder, True)
    uvicorn.run(
        "api.app:create_app", factory=True, host=host, port=port, workers=workers, http=NoDelayProtocol,
        log_config=log_config(settings.log_level), access_log=False, server_header=False,
        limit_concurrency=settings.max_connections, timeout_keep_alive=5, timeout_graceful_shutdown=10,
    )
