"""A threaded HTTP server on 127.0.0.1 whose every request goes to one function (the fakes of
GitHub and of the model APIs share it)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def start(handle: Callable[[BaseHTTPRequestHandler], None], *,
          keep_alive: bool = False) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def _any(self) -> None:
            handle(self)
        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _any

        def log_message(self, *args: Any) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def stop(httpd: ThreadingHTTPServer | None) -> None:
    if httpd is not None:
        httpd.shutdown()
        httpd.server_close()
