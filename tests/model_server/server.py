"""A scripted model server on 127.0.0.1 that the real agent CLIs talk to.

``/v1/messages`` (and ``/v1/messages/count_tokens``) speak the Anthropic Messages API that
Claude Code uses; ``/v1/responses`` speaks the OpenAI Responses API that Codex uses. What
the "model" answers comes from a ``Script``; every request is recorded in ``served``.
"""
from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from model_server import anthropic
from model_server.script import Fault, Script, Served, Turn
from support import loopback

HANG_LIMIT_S = 900.0


class ModelServer:
    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.served: list[Served] = []
        self.bodies: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: Any = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> ModelServer:
        self._httpd = loopback.start(self._handle, keep_alive=True)
        return self

    def stop(self) -> None:
        self._stopping.set()
        loopback.stop(self._httpd)
        self._httpd = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- what was asked --------------------------------------------------------------------
    def agent_requests(self, conversation: str | None = None) -> list[Served]:
        return [s for s in self.served if s.api in ("anthropic", "openai")
                and s.conversation is not None
                and (conversation is None or s.conversation == conversation)]

    def totals(self) -> tuple[int, int, int]:
        """(model requests, input tokens, output tokens) over everything served."""
        model = [s for s in self.served if s.api in ("anthropic", "openai")]
        return (len(model), sum(s.input_tokens for s in model),
                sum(s.output_tokens for s in model))

    def _record(self, served: Served, body: dict[str, Any] | None) -> None:
        with self._lock:
            self.served.append(served)
            if body is not None:
                self.bodies.append(body)

    # -- HTTP ------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        length = int(h.headers.get("content-length") or 0)
        raw = h.rfile.read(length) if length else b""
        if h.command != "POST":
            self._record(Served("other", path, None, None, 404, False), None)
            return _json(h, 404, {"type": "error", "error": {"type": "not_found_error",
                                                             "message": f"no {path}"}})
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return _json(h, 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                             "message": "body is not JSON"}})
        if path.endswith("/messages/count_tokens"):
            out = anthropic.count_tokens(body)
            self._record(Served("count_tokens", path, None, None, 200, False,
                                out["input_tokens"], 0, len(raw)), body)
            return _json(h, 200, out)
        if path.endswith("/messages"):
            return self._anthropic(h, path, body, len(raw))
        if path.endswith("/responses"):
            return self._openai(h, path, body, len(raw))
        self._record(Served("other", path, None, None, 404, False), body)
        return _json(h, 404, {"error": {"message": f"no {path}"}})

    def _anthropic(self, h: BaseHTTPRequestHandler, path: str, body: dict[str, Any],
                   size: int) -> None:
        conv, idx, turn, fault = self.script.pick(anthropic.first_user_text(body),
                                                  anthropic.assistant_turns(body))
        model = str(body.get("model") or "claude-test")
        msg_id = f"msg_{next(self._ids):06d}"
        if fault is not None and fault.hang_after is None:
            self._record(Served("anthropic", path, conv, idx, fault.status, True, 0, 0, size),
                         body)
            return _json(h, fault.status, fault.body or {}, fault.headers)
        self._record(Served("anthropic", path, conv, idx, 200, fault is not None,
                            turn.input_tokens, turn.output_tokens, size), body)
        if not body.get("stream"):
            return _json(h, 200, anthropic.message(turn, model, msg_id))
        frames = (anthropic.sse(name, data)
                  for name, data in anthropic.events(turn, model, msg_id))
        self._stream(h, frames, fault)

    def _openai(self, h: BaseHTTPRequestHandler, path: str, body: dict[str, Any],
                size: int) -> None:
        from model_server import openai
        conv, idx, turn, fault = self.script.pick(openai.first_user_text(body),
                                                  openai.assistant_turns(body))
        if fault is not None and fault.hang_after is None:
            self._record(Served("openai", path, conv, idx, fault.status, True, 0, 0, size), body)
            return _json(h, fault.status, openai.error_body(fault), fault.headers)
        self._record(Served("openai", path, conv, idx, 200, fault is not None,
                            turn.input_tokens, turn.output_tokens, size), body)
        frames = openai.stream(turn, str(body.get("model") or "gpt-test"),
                               f"resp_{next(self._ids):06d}")
        self._stream(h, frames, fault)

    def _stream(self, h: BaseHTTPRequestHandler, frames: Iterator[bytes],
                fault: Fault | None) -> None:
        h.send_response(200)
        h.send_header("content-type", "text/event-stream")
        h.send_header("cache-control", "no-cache")
        h.send_header("connection", "close")
        h.end_headers()
        h.close_connection = True
        try:
            for n, frame in enumerate(frames):
                if fault is not None and fault.hang_after is not None and n >= fault.hang_after:
                    self._stopping.wait(HANG_LIMIT_S)  # silent, connection held open
                    return
                h.wfile.write(frame)
                h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return


def _json(h: BaseHTTPRequestHandler, status: int, data: dict[str, Any],
          headers: dict[str, str] | None = None) -> None:
    out = json.dumps(data).encode()
    h.send_response(status)
    h.send_header("content-type", "application/json")
    h.send_header("content-length", str(len(out)))
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(out)


__all__ = ["ModelServer", "Script", "Turn"]
