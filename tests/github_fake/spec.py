"""GitHub's official OpenAPI description: loaded once per process, checking the fake's traffic.

The description comes from the pinned npm package ``@octokit/openapi`` that
``scripts/test.sh`` installs. Validating the description itself (openapi-spec-validator)
takes ~20 s; it is done once per file content and remembered in ``.cache/openapi/``, so
every later process (each pytest-xdist worker, each session) only parses the JSON (~0.6 s)
and builds validators lazily.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from openapi_core.configurations import Config
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / ".cache/node/github/node_modules/@octokit/openapi/generated/api.github.com.json"
CHECKED = ROOT / ".cache" / "openapi"
SPEC_HOST = "https://api.github.com"


class SpecMissing(RuntimeError):
    pass


@functools.lru_cache(maxsize=1)
def spec_dict() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        raise SpecMissing(f"{SPEC_PATH} is missing: run ./scripts/test.sh once (it installs "
                          "@octokit/openapi into .cache/node/github)")
    raw = SPEC_PATH.read_bytes()
    _validate_once(raw)
    return _null_in_nullable_enums(json.loads(raw))


def _null_in_nullable_enums(node: Any) -> Any:
    """``nullable: true`` with an ``enum`` allows null (OAS 3.0.3 clarification); GitHub's
    description leaves null out of such enums (e.g. an open issue's ``state_reason``, which
    GitHub returns as null), and jsonschema would reject it. Add it, nothing else."""
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("enum"), list) and \
                None not in node["enum"]:
            node["enum"].append(None)
        for value in node.values():
            _null_in_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _null_in_nullable_enums(value)
    return node


def _validate_once(raw: bytes) -> None:
    """Validate the description itself, once per content, whatever number of processes ask."""
    digest = hashlib.sha256(raw).hexdigest()[:16]
    CHECKED.mkdir(parents=True, exist_ok=True)
    marker = CHECKED / f"api.github.com-{digest}.valid"
    if marker.exists():
        return
    with open(CHECKED / "validate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other xdist worker waits for this one
        if marker.exists():
            return
        from openapi_spec_validator import validate
        validate(json.loads(raw))
        marker.write_text("validated with openapi-spec-validator\n")


@functools.lru_cache(maxsize=1)
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(spec_dict(), config=Config(spec_validator_cls=None))


def example(name: str) -> Any:
    """A response example from the description (``components/examples``)."""
    return spec_dict()["components"]["examples"][name]["value"]


class _Request:
    def __init__(self, method: str, path: str, query: list[tuple[str, str]],
                 headers: dict[str, str], body: bytes, content_type: str) -> None:
        self.host_url = SPEC_HOST
        self.method = method.lower()
        self.path = path
        self.body = body or None
        self.content_type = content_type
        self.parameters = RequestParameters(query=ImmutableMultiDict(query),
                                            header=Headers(headers),
                                            cookie=ImmutableMultiDict(), path={})


class _Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status
        self.headers = Headers(headers)
        self.data = body
        self.content_type = headers.get("Content-Type", "application/json")


def _explain(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    for err in getattr(exc, "schema_errors", None) or []:
        parts.append(f"  {'/'.join(str(p) for p in err.absolute_path)}: {err.message[:300]}")
    cause = exc.__cause__ or exc.__context__
    depth = 0
    while cause is not None and depth < 3:
        parts.append(f"  caused by {type(cause).__name__}: {str(cause)[:500]}")
        for err in getattr(cause, "schema_errors", None) or []:
            parts.append(f"    {'/'.join(str(p) for p in err.absolute_path)}: {err.message[:300]}")
        cause = cause.__cause__ or cause.__context__
        depth += 1
    return "\n".join(parts)


def check(method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str],
          body: bytes, status: int | None = None, response_headers: dict[str, str] | None = None,
          response_body: bytes = b"") -> list[str]:
    """Problems with one exchange (request, and the response when ``status`` is given)."""
    api = openapi()
    req = _Request(method, path, query, headers, body,
                   headers.get("Content-Type", "application/json").split(";")[0])
    problems = []
    try:
        api.validate_request(req)
    except Exception as exc:
        problems.append(f"request {method} {path}: {_explain(exc)}")
    if status is not None:
        try:
            api.validate_response(req, _Response(status, response_headers or {}, response_body))
        except Exception as exc:
            problems.append(f"response {status} to {method} {path}: {_explain(exc)}")
    return problems
