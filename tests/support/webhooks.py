"""Real GitHub webhook payloads (the npm package ``@octokit/webhooks-examples``, which
``scripts/test.sh`` installs), made about the test's repository and signed here, the way
GitHub signs them, independently of shiftctl's own code."""
from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import json
import uuid
from typing import Any

from support.assets import require_file
from support.repos import ROOT
from support.serve import Reply, Served

EXAMPLES = (ROOT / ".cache/node/github/node_modules/@octokit/webhooks-examples"
            "/api.github.com/index.json")
SECRET = "It's a Secret to Everybody"  # GitHub's own documentation example
SECRET_ENV = "SHIFTCTL_WEBHOOK_SECRET"


@functools.cache
def _examples() -> dict[str, list[dict[str, Any]]]:
    data = json.loads(require_file("github", EXAMPLES).read_text())
    return {entry["name"]: entry["examples"] for entry in data}


def example(event: str, action: str | None = None) -> dict[str, Any]:
    """A copy of a payload GitHub really sent for ``event`` (and ``action``)."""
    for payload in _examples()[event]:
        if action is None or payload.get("action") == action:
            return copy.deepcopy(payload)
    raise LookupError(f"no recorded {event}.{action} payload")


def about(payload: dict[str, Any], repo: str, *, number: int | None = None,
          sender: str = "alice") -> dict[str, Any]:
    """The payload, as if it came from ``repo`` (and issue ``number``) by ``sender``."""
    payload["repository"]["full_name"] = repo
    payload["repository"]["name"] = repo.split("/")[1]
    payload["sender"]["login"] = sender
    for key in ("issue", "pull_request"):
        if number is not None and isinstance(payload.get(key), dict):
            payload[key]["number"] = number
    return payload


def signature(body: bytes, secret: str = SECRET, algorithm: str = "sha256") -> str:
    return f"{algorithm}=" + hmac.new(secret.encode(), body, getattr(hashlib, algorithm)
                                      ).hexdigest()


def deliver(served: Served, event: str, body: bytes | dict[str, Any], *,
            sign: str | None = SECRET, header: str | None = None,
            delivery: str | None = None) -> Reply:
    """POST a delivery as GitHub does: ``header`` replaces the signature it would send."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
               "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
               "User-Agent": "GitHub-Hookshot/test"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    elif sign is not None:
        headers["X-Hub-Signature-256"] = signature(raw, sign)
    return served.request("/hooks/github", method="POST", body=raw, headers=headers)
