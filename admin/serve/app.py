"""The Starlette app of ``shiftctl serve``: pages, live updates, ``/metrics``, webhooks.

Routes are the methods of ``Dashboard``; ``create_app`` wires them up behind the ``Guard``.
Pages are rendered on the server (``pages``); a page's ``live`` block is fetched again
whenever the watcher (``live``) sees a change.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.responses import StreamingResponse as Stream
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from shiftctl.admin import inbox
from shiftctl.admin.config import Config
from shiftctl.admin.paths import Paths
from shiftctl.admin.serve import hooks, live, metrics, pages, views
from shiftctl.admin.serve.guard import Guard
from shiftctl.admin.tracker.github import bot_key
from shiftctl.system.fs import wake

RECORD_WINDOW_S = 2.0
EVENT_STREAM = "text/event-stream"


class Dashboard:
    """What the routes share: the config, the templates, the watcher, webhook bookkeeping."""

    def __init__(self, config: Config, webhook_secret: str | None, poll: float) -> None:
        self.config = config
        self.paths = Paths(config.root)
        self.webhook_secret = webhook_secret
        self.env = pages.environment()
        self.watcher = live.Watcher(live.Probe(self.paths), poll)
        self.webhooks: Counter[str] = Counter()
        self.seen = hooks.SeenDeliveries()
        self.throttle = hooks.Throttle(RECORD_WINDOW_S)
        self.registry = metrics.registry(self.config, self.webhooks)
        self.bot: str | None = config.tracker.github.bot

    def page(self, request: Request, name: str, status: int = 200, **data: Any) -> Response:
        context = {"config": self.config, "path": request.url.path, "now": time.time(), **data}
        fragment = bool(request.headers.get("x-shiftctl-fragment"))
        return HTMLResponse(pages.render(self.env, name, context, fragment=fragment), status)

    # -- pages -----------------------------------------------------------------------------
    def overview(self, request: Request) -> Response:
        return self.page(request, "overview.html", s=views.overview(self.config))

    def issue(self, request: Request) -> Response:
        number = int(request.path_params["number"])
        found = views.issue_page(self.config, number)
        if found is None:
            return self.page(request, "missing.html", 404, what=f"issue #{number}")
        return self.page(request, "issue.html", **found)

    def run(self, request: Request) -> Response:
        found = views.run_page(self.config, request.path_params["run_id"])
        if found is None:
            return self.page(request, "missing.html", 404,
                             what=f"run {request.path_params['run_id']}")
        return self.page(request, "run.html", **found)

    def events(self, request: Request) -> Response:
        q = request.query_params
        found = views.event_page(self.config, issue=_int(q.get("issue")), task=q.get("task"),
                                 kind=q.get("kind"), before=_int(q.get("before")),
                                 limit=_int(q.get("limit")) or 200)
        return self.page(request, "events.html", **found)

    def memory(self, request: Request) -> Response:
        return self.page(request, "memory.html", **views.memory_page(self.config))

    def status(self, request: Request) -> Response:
        return JSONResponse(views.overview(self.config))

    def metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    # -- live --------------------------------------------------------------------------------
    async def changes(self, request: Request) -> Response:
        return Stream(live.change_stream(self.watcher), media_type=EVENT_STREAM)

    def run_log(self, request: Request) -> Response:
        """Follow a run's agent log from ``offset`` until its worker wrote its result."""
        found = views.run_page(self.config, request.path_params["run_id"])
        if found is None:
            return PlainTextResponse("no such run", 404)
        run_dir = self.paths.run_dir(found["run"]["id"])  # the id the store knows, not the URL's
        return Stream(live.log_stream(run_dir / "agent.log",
                                      _int(request.query_params.get("offset")) or 0,
                                      lambda: not (run_dir / "result.json").exists()),
                      media_type=EVENT_STREAM)

    # -- webhooks ----------------------------------------------------------------------------
    async def github(self, request: Request) -> Response:
        """Authentic, new and about this repository: wake the loop (its sync reads GitHub)."""
        body = await _body(request, hooks.MAX_BODY)
        if body is None:
            return self.refuse(request, 413, f"body larger than {hooks.MAX_BODY} bytes")
        verdict = hooks.verify(body, request.headers.get(hooks.SIGNATURE_HEADER),
                               self.webhook_secret)
        if not verdict.ok:
            return self.refuse(request, 401, verdict.why)
        event = request.headers.get("x-github-event") or ""
        delivery = request.headers.get("x-github-delivery") or ""
        if not event or not delivery:
            return self.refuse(request, 400, "no X-GitHub-Event or X-GitHub-Delivery header")
        if not self.seen.first_time(delivery):
            return self.refuse(request, 409, "a delivery already received (replayed)")
        try:
            payload = json.loads(body)
        except ValueError:
            return self.refuse(request, 400, "a signed body that is not JSON")
        if not self.paths.runtime.is_dir():
            self.webhooks["unready"] += 1
            return JSONResponse({"error": f"no {self.paths.runtime}: run a cycle first"}, 503)
        about = hooks.summary(event, payload)
        repo = self.config.tracker.github.repo if self.config.tracker.kind == "github" else None
        woke, why = hooks.should_wake(event, about, repo, self.bot_login())
        inbox.record(self.paths, "webhook.received", delivery=hooks.shown(delivery), woke=woke,
                     why=why, **about)
        if woke:
            wake(self.paths.wake, "webhook")
        self.webhooks["woke" if woke else "ignored"] += 1
        return JSONResponse({"woke": woke, "why": why}, 200 if woke else 202)

    def refuse(self, request: Request, status: int, why: str) -> Response:
        """Refused, counted, and recorded (at most once per reason per window)."""
        self.webhooks["refused"] += 1
        found = self.throttle.note(why, time.time(),
                                   remote=request.client.host if request.client else None,
                                   delivery=hooks.shown(request.headers.get("x-github-delivery")),
                                   event=hooks.shown(request.headers.get("x-github-event")))
        if found is not None:
            inbox.record(self.paths, "webhook.rejected", **found)
        return JSONResponse({"error": why}, status)

    def flush_refusals(self, *, everything: bool = False) -> None:
        found = self.throttle.drain() if everything else self.throttle.due(time.time())
        for record in found:
            inbox.record(self.paths, "webhook.rejected", **record)

    def bot_login(self) -> str | None:
        """Who shiftctl is on GitHub (its own changes are not news): configured, or what the
        cycle cached when it asked GitHub."""
        if self.bot is None:
            with views.reading(self.paths) as store:
                if store is not None:
                    self.bot = store.get(bot_key(self.config.tracker.github.api_url))
        return self.bot

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(self.watcher.run()),
                 asyncio.create_task(_every(RECORD_WINDOW_S, self.flush_refusals))]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            self.flush_refusals(everything=True)


async def _body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than ``limit`` (read no further)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


async def _every(seconds: float, fn: Callable[[], None]) -> None:
    while True:
        await asyncio.sleep(seconds)
        fn()


def create_app(config: Config, *, token: str | None = None,
               webhook_secret: str | None = None, poll: float = live.POLL_S) -> Starlette:
    d = Dashboard(config, webhook_secret, poll)
    routes = [
        Route("/", d.overview), Route("/issues/{number:int}", d.issue),
        Route("/runs/{run_id:str}", d.run), Route("/runs/{run_id:str}/log", d.run_log),
        Route("/events", d.events), Route("/memory", d.memory),
        Route("/api/status", d.status), Route("/metrics", d.metrics),
        Route("/live", d.changes), Route(hooks.PATH, d.github, methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("shiftctl.admin.serve", "static")])),
    ]
    app = Starlette(routes=routes, lifespan=d.lifespan)
    app.add_middleware(Guard, token=token, open_paths=(hooks.PATH,))
    app.state.dashboard = d
    return app
