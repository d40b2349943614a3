"""The names of the sandboxes and of the agent kinds: what ``shiftctl.yaml`` may say, and what
the worker acts on. Constants only, so that reading a config loads neither the sandbox nor the
worker's spec (an idle cycle reads the config and nothing more of them, docs/design.md §14)."""
from __future__ import annotations

SANDBOX_KINDS: tuple[str, ...] = ("auto", "bwrap", "none")
AGENT_KINDS: tuple[str, ...] = ("shell", "command", "claude", "codex", "aider", "gemini",
                                "opencode")
