"""``shiftctl serve``: check the bind, bind it, say where, serve until stopped."""
from __future__ import annotations

import os
import socket
from collections.abc import Callable

from shiftctl.admin.config import Config
from shiftctl.admin.serve import access


class ServeError(Exception):
    """The server must not (or cannot) start; the message says why and what to do."""


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                         "(another server there? try --port)") from exc


def serve(config: Config, *, host: str | None = None, port: int | None = None,
          echo: Callable[[str], None] = print) -> None:
    """Serve the dashboard, /metrics and /hooks/github until SIGINT or SIGTERM."""
    import uvicorn

    from shiftctl.admin.serve.app import create_app

    host = host or config.serve.host
    port = config.serve.port if port is None else port
    token = os.environ.get(config.serve.token_env) or None
    problem = access.bind_error(host, token, config.serve.token_env)
    if problem:
        raise ServeError(problem)
    secret = os.environ.get(config.serve.webhook_secret_env) or None
    app = create_app(config, token=token, webhook_secret=secret)
    sock = bind(host, port)
    where = sock.getsockname()
    shown = f"[{where[0]}]" if sock.family == socket.AF_INET6 else where[0]
    echo(f"shiftctl serve: http://{shown}:{where[1]}/ (read-only dashboard; /metrics; "
         f"{'token required' if token else 'loopback only, no token'})")
    name = config.serve.webhook_secret_env
    echo("GitHub webhooks at /hooks/github: " + (
        f"on (signed with the secret in {name})" if secret else
        f"off (set {name} to the webhook's secret)"))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                           lifespan="on", timeout_graceful_shutdown=2))
    server.run(sockets=[sock])
