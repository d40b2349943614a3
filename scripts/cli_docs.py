"""Regenerate docs/cli.md from ``--help`` (a test checks it is current)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from shiftctl.admin.cli.main import cli

BEGIN = "<!-- cli-reference:begin -->"
END = "<!-- cli-reference:end -->"


def reference() -> str:
    parts = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        ctx = click.Context(cmd, info_name=" ".join(path))
        parts.append(f"#### `{' '.join(path)}`\n\n```\n{cmd.get_help(ctx).strip()}\n```\n")
        if isinstance(cmd, click.Group):
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], path + [name])

    walk(cli, ["shiftctl"])
    return "\n".join(parts)


def render(page: str) -> str:
    head, _, rest = page.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{reference()}{END}{tail}"


if __name__ == "__main__":
    path = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
    new = render(path.read_text())
    if "--check" in sys.argv:
        sys.exit(0 if new == path.read_text() else 1)
    path.write_text(new)
