"""The worker protocol as a published contract: JSON Schemas (2020-12) for ``spec.json``,
``result.json``, the status block and the plan answer (docs/design.md §5, docs/protocol.md).

The schemas ship as package data (``shiftctl/worker/schemas``). ``jsonschema`` is imported
only when something is validated, so an idle admin cycle (which reads no result) never loads
it.
"""
from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

SCHEMAS: tuple[str, ...] = ("spec", "result", "status-block", "plan")
MAX_REPORTED = 5  # errors named in one message


class ProtocolError(ValueError):
    """A document that does not follow its schema; the message names where and why."""


@cache
def schema(name: str) -> dict[str, Any]:
    """The schema ``name`` (one of ``SCHEMAS``), parsed."""
    if name not in SCHEMAS:
        raise KeyError(f"no schema {name!r}: the schemas are {', '.join(SCHEMAS)}")
    text = resources.files("shiftctl.worker").joinpath(f"schemas/{name}.schema.json").read_text(
        encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    registry: Registry = Registry().with_resources(
        (schema(n)["$id"], Resource.from_contents(schema(n))) for n in SCHEMAS)
    return Draft202012Validator(schema(name), registry=registry)


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def errors(name: str, data: Any) -> list[str]:
    """Every way ``data`` breaks schema ``name``, each as ``where: why``; empty when valid."""
    found = sorted(_validator(name).iter_errors(data), key=lambda e: list(e.absolute_path))
    return [f"{_where(e.absolute_path)}: {e.message[:300]}" for e in found]


def check(name: str, data: Any) -> None:
    """Raise ``ProtocolError`` naming the first few violations of schema ``name``."""
    found = errors(name, data)
    if found:
        more = f" (and {len(found) - MAX_REPORTED} more)" if len(found) > MAX_REPORTED else ""
        raise ProtocolError(f"does not follow the {name} schema: "
                            + "; ".join(found[:MAX_REPORTED]) + more)
