"""What both simulators share: binding 127.0.0.1, the READY line, quiet logs and a clean exit on signals."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import sys
from collections.abc import Generator
from typing import Any

import uvicorn
from starlette.responses import Response

HOST = "127.0.0.1"


class _Server(uvicorn.Server):
    """uvicorn.Server that announces readiness and exits 0 on SIGTERM/SIGINT.

    uvicorn re-raises a captured signal after a graceful shutdown (so the process would die of SIGTERM);
    the process contract wants exit code 0, so signals only ask the server to stop here.
    """

    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self._url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(f"READY {self._url}", flush=True)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _exit_quietly(signum: int, frame: object) -> None:
    sys.exit(0)


def serve(app: Any, port: int) -> None:
    """Bind first (so --port 0 resolves to a known port), then hand the socket to uvicorn."""
    # A signal that lands before uvicorn has installed its handlers still ends the process with code 0.
    signal.signal(signal.SIGTERM, _exit_quietly)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    url = f"http://{HOST}:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        date_header=False,  # the app dates its answers (_common.add_date): a district system by its own clock
        timeout_graceful_shutdown=3,
        backlog=1024,
    )
    try:
        _Server(config, url).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


def json_response(payload: Any, status_code: int = 200) -> Response:
    """JSON without FastAPI's encoder pass: pages of nested dicts are large, and bytes must be reproducible."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode(), status_code=status_code, media_type="application/json")
