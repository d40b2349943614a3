"""Regenerate the default column of docs/configuration.md from the code (``--check``: exit 1
when it is stale or a key is undocumented; a test runs that).

The defaults come from what an empty ``shiftctl.yaml`` parses to, so the page says what a user
gets. Rows for per-profile keys (``agents.profiles.NAME...``) describe inheritance in words and
are left as written.
"""
from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Any

from shiftctl.admin.config import Config, parse

PAGE = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
ROW = re.compile(r"^\| (?P<keys>`[^|]+`) \| (?P<default>[^|]*) \| (?P<meaning>.*) \|$")
# dataclass fields that are not keys of the file
NOT_KEYS = {"root", "source", "agents.profiles"}


def defaults() -> Config:
    return parse({}, Path("/repository"))


def keys_of(cell: str) -> list[str]:
    """```a`, `b``` or ```a.x`, `.y``` (``.y`` continues the key before it)."""
    out: list[str] = []
    for raw in re.findall(r"`([^`]+)`", cell):
        if raw.startswith(".") and out:
            raw = out[-1].rsplit(".", 1)[0] + raw
        out.append(raw)
    return out


def value_at(config: Config, key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def show(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (tuple, list)):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    if isinstance(value, dict):
        return "`{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}`"
    return f"`{value}`"


def leaf_keys(value: Any, prefix: str = "") -> list[str]:
    """Every key an empty file has a default for."""
    out = []
    for f in dataclasses.fields(value):
        key = f"{prefix}{f.name}"
        if key in NOT_KEYS:
            continue
        inner = getattr(value, f.name)
        if dataclasses.is_dataclass(inner) and not isinstance(inner, type):
            out += leaf_keys(inner, f"{key}.")
        else:
            out.append(key)
    return out


def render(page: str, config: Config) -> tuple[str, list[str]]:
    """The page with its default column regenerated, and the keys it does not document."""
    documented: set[str] = set()
    lines = []
    for line in page.splitlines():
        m = ROW.match(line)
        keys = keys_of(m["keys"]) if m else []
        if m and keys and not any("NAME" in k for k in keys):
            documented.update(keys)
            shown = ", ".join(show(value_at(config, k)) for k in keys)
            line = f"| {m['keys']} | {shown} | {m['meaning']} |"
        lines.append(line)
    missing = [k for k in leaf_keys(config) if k not in documented]
    return "\n".join(lines) + "\n", missing


def main() -> int:
    old = PAGE.read_text()
    new, missing = render(old, defaults())
    for key in missing:
        print(f"docs/configuration.md does not document {key}", file=sys.stderr)
    if "--check" in sys.argv:
        return 0 if new == old and not missing else 1
    PAGE.write_text(new)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
