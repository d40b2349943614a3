"""The ASGI guard in front of every route: tokens, Host names, security headers.

Every request but a webhook (GitHub signs those; ``hooks.verify``) must carry the token when
there is one; on a loopback bind without a token it must be addressed to a loopback name.
Every answer carries a Content-Security-Policy that allows only this server's own script,
so even markup that slipped through escaping could not run.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shiftctl.admin.serve import access

SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
     b"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class Guard:
    def __init__(self, app: ASGIApp, *, token: str | None, open_paths: tuple[str, ...]) -> None:
        self.app = app
        self.token = token
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        refusal = None if scope["path"] in self.open_paths else self.refusal(scope)
        await (refusal or self.app)(scope, receive, send_with_headers)

    def refusal(self, scope: Scope) -> ASGIApp | None:
        """What to answer instead of the page, or None to serve it."""
        headers = Headers(scope=scope)
        if self.token is None:
            if access.host_is_loopback(headers.get("host")):
                return None
            return PlainTextResponse("This dashboard answers only to localhost and 127.0.0.1 "
                                     "(the Host header named another host).", 421)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if access.token_matches(query.get("token"), self.token):  # a link with it, once
            rest = urlencode({k: v for k, v in query.items() if k != "token"})
            response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), 303)
            response.set_cookie(access.COOKIE, self.token, httponly=True, samesite="strict")
            return response
        if (access.token_matches(access.bearer(headers.get("authorization")), self.token)
                or access.token_matches(cookie(headers.get("cookie"), access.COOKIE),
                                        self.token)):
            return None
        return PlainTextResponse("A token is required: open this page once as ?token=TOKEN, "
                                 "or send Authorization: Bearer TOKEN.", 401,
                                 headers={"WWW-Authenticate": 'Bearer realm="shiftctl"'})


def cookie(header: str | None, name: str) -> str | None:
    for part in (header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
